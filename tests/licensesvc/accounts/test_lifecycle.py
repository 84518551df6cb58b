"""Contracts and licenses over time, in the services: plan changes from a date (quota use
carries over), renewals (quotas restart), terminations, the payment ledger with corrections,
no overlapping contracts, license changes and retirement, customer calendars, and "today" in
the customer's time zone. Each change is audited with its reason; refusals change nothing."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from licensesvc import accounts
from licensesvc.accounts import contracts, customers, licenses, standing
from licensesvc.domain.errors import (
    Conflict,
    Forbidden,
    InvalidState,
    OverrideNotPossible,
    ValidationFailed,
)
from licensesvc.issuance.entitlements import entitlement_report
from licensesvc.issuance.key_requests import KeyRequestInput, request_key
from licensesvc.models import AuditRecord, Contract, ContractPayment, KeyRequest, LicenseChange
from tests.licensesvc.service_helpers import first_key


def ask(ctx, license_id, kind, **kw):
    return request_key(ctx, KeyRequestInput(license_id=license_id, kind=kind, **kw))


def actions(session, entity: str) -> list[tuple[str, str | None]]:
    kind, _, ident = entity.partition(":")
    rows = session.scalars(
        select(AuditRecord)
        .where(AuditRecord.entity_type == kind, AuditRecord.entity_id == ident)
        .order_by(AuditRecord.id)
    )
    return [(r.action, r.reason) for r in rows]


def rows(session, model) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


# --- plan changes ------------------------------------------------------------------------


def test_an_upgrade_takes_effect_from_its_date_and_dr_quota_use_carries_over(world, contexts):
    analyst = contexts.analyst()
    cust = contexts.customer(world.base_customer)
    for test_day in (10, 20):
        out = ask(
            cust,
            world.base_license,
            "dr_test",
            dr_test_date=contexts.clock.today + timedelta(days=test_day),
        )
        assert out.case.status == "granted"
    effective = contexts.clock.today + timedelta(days=7)
    contracts.change_plan(analyst, world.base_contract, "premium", effective, "upgrade signed")
    assert standing(analyst, world.base_customer).plan == "base"  # not yet
    assert ask(cust, world.base_license, "temporary", reason="usage_spike").case.refusal_code == (
        "plan_not_eligible"
    )
    contexts.clock.advance(days=7)
    st = standing(analyst, world.base_customer)
    assert st.plan == "premium" and st.contract.id == world.base_contract
    assert ask(cust, world.base_license, "temporary", reason="usage_spike").case.status == "granted"
    third = ask(
        cust, world.base_license, "dr_test", dr_test_date=contexts.clock.today + timedelta(days=30)
    )
    assert third.case.refusal_code == "quota_exceeded"  # the two DR keys of this year still count
    report = entitlement_report(analyst, world.base_customer)
    assert [p["plan"] for p in report.contract.plan_history] == ["base", "premium"]
    assert actions(contexts.session, f"contract:{world.base_contract}")[-1] == (
        "contract.plan_changed",
        "upgrade signed",
    )


@pytest.mark.parametrize(
    ("plan", "offset", "reason", "says"),
    [
        ("premium", 400, "x", "takes effect inside the term"),
        ("premium", -60, "x", "takes effect inside the term"),
        ("base", 5, "x", "is already base on"),
        ("gold", 5, "x", "unknown plan 'gold'"),
        ("premium", 5, "  ", "a plan change needs a written reason"),
    ],
)
def test_a_bad_plan_change_is_refused_and_changes_nothing(
    world, contexts, plan, offset, reason, says
):
    before = len(contexts.session.scalars(select(AuditRecord)).all())
    with pytest.raises(ValidationFailed, match=says):
        contracts.change_plan(
            contexts.analyst(),
            world.base_contract,
            plan,
            contexts.clock.today + timedelta(days=offset),
            reason,
        )
    assert contexts.session.get(Contract, world.base_contract).plan_changes == []
    assert len(contexts.session.scalars(select(AuditRecord)).all()) == before


def test_customers_cannot_change_contracts(world, contexts):
    cust = contexts.customer(world.base_customer)
    with pytest.raises(Forbidden):
        contracts.change_plan(cust, world.base_contract, "premium", contexts.clock.today, "please")
    with pytest.raises(Forbidden):
        contracts.record_payment(cust, world.base_contract, contexts.clock.today)


# --- renewals ------------------------------------------------------------------------------


def test_a_renewal_starts_the_day_after_and_restarts_the_quotas(world, contexts):
    analyst = contexts.analyst()
    old = contexts.session.get(Contract, world.base_contract)
    cust = contexts.customer(world.base_customer)
    for test_day in (10, 20):
        ask(
            cust,
            world.base_license,
            "dr_test",
            dr_test_date=contexts.clock.today + timedelta(days=test_day),
        )
    renewal = contracts.renew_contract(
        analyst,
        old.id,
        old.end_date + timedelta(days=365),
        paid_through=old.end_date + timedelta(days=365),
    )
    assert renewal.start_date == old.end_date + timedelta(days=1)
    assert renewal.renews_id == old.id and renewal.plan == "base"
    assert [p.paid_through for p in renewal.payments] == [old.end_date + timedelta(days=365)]
    # the day after the old end, the renewal is in force and its DR quota is fresh
    contexts.clock.set(
        datetime.combine(renewal.start_date, datetime.min.time(), UTC) + timedelta(hours=17)
    )
    st = standing(analyst, world.base_customer)
    assert st.contract.id == renewal.id and st.contract_active
    out = ask(cust, world.base_license, "dr_test", dr_test_date=st.today + timedelta(days=10))
    assert out.case.status == "granted"
    with pytest.raises(InvalidState, match=f"already renewed by contract {renewal.id}"):
        contracts.renew_contract(analyst, old.id, old.end_date + timedelta(days=30))
    assert actions(contexts.session, f"contract:{renewal.id}")[0][0] == "contract.renewed"


def test_a_renewal_on_another_plan_and_unpaid_by_default(world, contexts):
    old = contexts.session.get(Contract, world.base_contract)
    renewal = contracts.renew_contract(
        contexts.analyst(), old.id, old.end_date + timedelta(days=365), plan="premium"
    )
    assert renewal.plan == "premium" and renewal.payments == []
    assert renewal.paid_through == renewal.start_date - timedelta(days=1)


def test_a_renewal_ending_before_it_starts_is_refused(world, contexts):
    old = contexts.session.get(Contract, world.base_contract)
    with pytest.raises(ValidationFailed, match="the renewal starts on"):
        contracts.renew_contract(contexts.analyst(), old.id, old.end_date)
    assert rows(contexts.session, Contract) == 2


# --- terminations --------------------------------------------------------------------------


def test_a_terminated_contract_gives_no_keys_after_its_last_day(world, contexts):
    analyst = contexts.analyst()
    last = contexts.clock.today + timedelta(days=3)
    contracts.terminate_contract(analyst, world.base_contract, last, "customer went bankrupt")
    first_key(analyst, world.base_license)  # a replacement needs a key to replace
    cust = contexts.customer(world.base_customer)
    assert ask(cust, world.base_license, "replacement").case.status == "granted"
    contexts.clock.advance(days=4)
    out = ask(cust, world.base_license, "replacement")
    assert out.case.refusal_code == "contract_expired"
    assert out.case.refusal_message == (
        f"the support contract was terminated; its last covered day was {last}"
    )
    c = contexts.session.get(Contract, world.base_contract)
    assert c.paid_through == last  # paid-through never passes the (effective) end
    with pytest.raises(InvalidState, match="already terminated"):
        contracts.terminate_contract(analyst, world.base_contract, last, "again")
    with pytest.raises(InvalidState, match="was terminated"):
        contracts.renew_contract(analyst, world.base_contract, c.end_date + timedelta(days=30))
    assert actions(contexts.session, f"contract:{world.base_contract}")[-1] == (
        "contract.terminated",
        "customer went bankrupt",
    )


def test_a_termination_outside_the_term_is_refused(world, contexts):
    with pytest.raises(ValidationFailed, match="must lie inside the term"):
        contracts.terminate_contract(
            contexts.analyst(), world.base_contract, contexts.clock.today + timedelta(days=999), "x"
        )
    assert contexts.session.get(Contract, world.base_contract).terminated_on is None


# --- the payment ledger --------------------------------------------------------------------


def test_payments_are_a_ledger_and_corrections_are_new_entries(world, contexts):
    analyst = contexts.analyst()
    c = contexts.session.get(Contract, world.base_contract)
    first = c.paid_through
    contracts.record_payment(
        analyst, c.id, first - timedelta(days=100), correction=True, reason="INV-1 bounced"
    )
    contracts.record_payment(analyst, c.id, first, invoice="INV-2")
    ledger = contracts.page_payments(analyst, c.id).items  # newest first
    assert [(p.paid_through, p.invoice, p.correction, p.reason) for p in ledger] == [
        (first, "INV-2", False, None),
        (first - timedelta(days=100), None, True, "INV-1 bounced"),
        (first, None, False, None),
    ]
    assert [a for a, _ in actions(contexts.session, f"contract:{c.id}")][-2:] == [
        "contract.payment_corrected",
        "contract.payment_recorded",
    ]


@pytest.mark.parametrize(
    ("offset", "options", "error", "says"),
    [
        (
            1,
            {},
            ValidationFailed,
            "the contract ends on 2027-01-31; record the payment on its renewal",
        ),
        (-10, {}, ValidationFailed, "would move it back (a mistake is fixed with --correction"),
        (-10, {"correction": True}, ValidationFailed, "a correction of the payment ledger needs"),
        (0, {"reason": "why"}, ValidationFailed, "a reason is for corrections"),
    ],
    ids=["past-the-end", "backwards", "correction-without-reason", "reason-without-correction"],
)
def test_a_bad_payment_is_refused_and_the_ledger_is_unchanged(
    world, contexts, offset, options, error, says
):
    c = contexts.session.get(Contract, world.base_contract)
    with pytest.raises(error, match=says.replace("(", r"\(")):
        contracts.record_payment(
            contexts.analyst(), c.id, c.end_date + timedelta(days=offset), **options
        )
    assert rows(contexts.session, ContractPayment) == 2  # the world's two contracts' first entries


def test_maintenance_until_in_a_key_is_the_ledger_paid_through(world, contexts):
    analyst = contexts.analyst()
    c = contexts.session.get(Contract, world.base_contract)
    paid = contexts.clock.today + timedelta(days=40)
    contracts.record_payment(analyst, c.id, paid, correction=True, reason="half-year invoice")
    first_key(analyst, world.base_license)  # a replacement needs a key to replace
    out = ask(contexts.customer(world.base_customer), world.base_license, "replacement")
    assert out.key.claims["maintenance_until"] == paid.isoformat()


# --- no overlapping contracts ----------------------------------------------------------------


def test_a_second_contract_overlapping_the_first_is_refused(world, contexts):
    today = contexts.clock.today
    with pytest.raises(Conflict, match=f"contract {world.base_contract} .* already covers part of"):
        customers.create_contract(
            contexts.analyst(),
            world.base_customer,
            "premium",
            today,
            today + timedelta(days=365),
            today,
        )
    assert rows(contexts.session, Contract) == 2


def test_a_contract_after_a_termination_may_start_the_next_day(world, contexts):
    analyst = contexts.analyst()
    today = contexts.clock.today
    contracts.terminate_contract(analyst, world.base_contract, today, "moved to a new agreement")
    new = customers.create_contract(
        analyst,
        world.base_customer,
        "premium",
        today + timedelta(days=1),
        today + timedelta(days=366),
        today + timedelta(days=366),
    )
    contexts.clock.advance(days=1)
    assert standing(analyst, world.base_customer).contract.id == new.id


# --- "today" is the customer's ---------------------------------------------------------------


def test_today_is_the_date_in_the_customers_time_zone(world, contexts):
    analyst = contexts.analyst()
    # Acme (North America) paid through 2026-11-30; at 21:00 EST on the 30th it is already
    # 1 December in UTC, but still the 30th in New York
    contracts.record_payment(
        analyst, world.base_contract, date(2026, 11, 30), correction=True, reason="test"
    )
    first_key(analyst, world.base_license)  # a replacement needs a key to replace
    contexts.clock.set(datetime(2026, 12, 1, 2, 0, tzinfo=UTC))
    st = standing(analyst, world.base_customer)
    assert st.today == date(2026, 11, 30) and st.maintenance_current(0)
    assert (
        ask(contexts.customer(world.base_customer), world.base_license, "replacement").case.status
        == "granted"
    )
    contexts.clock.set(datetime(2026, 12, 1, 5, 0, tzinfo=UTC))  # midnight in New York
    assert not standing(analyst, world.base_customer).maintenance_current(0)


# --- licenses ------------------------------------------------------------------------------


def test_a_license_changes_with_a_reason_and_keeps_its_history(world, contexts):
    analyst = contexts.analyst()
    lic = licenses.update_license(
        analyst,
        world.base_license,
        licenses.LicenseUpdate(agents=25, host="NEW.acme.example"),
        "bought 15 agents",
    )
    assert (lic.agents, lic.host) == (25, "new.acme.example")
    [change] = licenses.page_license_changes(analyst, world.base_license).items
    assert change.reason == "bought 15 agents" and change.changes == {
        "agents": [10, 25],
        "host": ["sched.acme.example", "new.acme.example"],
    }
    assert actions(contexts.session, f"license:{world.base_license}")[-1] == (
        "license.updated",
        "bought 15 agents",
    )


@pytest.mark.parametrize(
    ("change", "reason", "says"),
    [
        ({}, "r", "nothing to change"),
        ({"agents": 10}, "r", "nothing to change"),
        ({"jobs": -1}, "r", "the jobs limit must not be negative"),
        ({"host": "bad host\n"}, "r", "is not a host name"),
        ({"failover_host": "sched.acme.example"}, "r", "the failover host must differ"),
        ({"agents": 20}, " ", "a license change needs a written reason"),
    ],
)
def test_a_bad_license_change_is_refused_and_changes_nothing(world, contexts, change, reason, says):
    with pytest.raises(ValidationFailed, match=says):
        licenses.update_license(
            contexts.analyst(), world.base_license, licenses.LicenseUpdate(**change), reason
        )
    assert rows(contexts.session, LicenseChange) == 0


def test_a_retired_license_gets_no_more_keys(world, contexts):
    analyst = contexts.analyst()
    licenses.retire_license(analyst, world.base_license, "server decommissioned")
    out = ask(contexts.customer(world.base_customer), world.base_license, "replacement")
    assert out.case.refusal_code == "validation_error"
    assert f"license {world.base_license} was retired on 2026-03-02" in out.case.refusal_message
    with pytest.raises(OverrideNotPossible, match="was retired"):  # an override cannot bypass it
        request_key(
            analyst, KeyRequestInput(world.base_license, "standard"), override_reason="please"
        )
    with pytest.raises(InvalidState, match="already retired"):
        licenses.retire_license(analyst, world.base_license, "again")
    with pytest.raises(InvalidState, match="is retired"):
        licenses.update_license(analyst, world.base_license, licenses.LicenseUpdate(agents=1), "r")


# --- customers -----------------------------------------------------------------------------


def test_customers_get_their_regions_holidays_and_can_change_them(world, contexts):
    analyst = contexts.analyst()
    assert accounts.get_customer(analyst, world.base_customer).holidays == "US"
    assert accounts.get_customer(analyst, world.premium_customer).holidays == "GB-ENG"
    c = licenses.update_customer(analyst, world.premium_customer, holidays="gb-sct")
    assert c.holidays == "GB-SCT"
    c = licenses.update_customer(analyst, world.base_customer, region="apac")
    assert (c.region, c.holidays) == ("apac", "AU-NSW")  # followed the region's default
    c = licenses.update_customer(analyst, world.premium_customer, region="na")
    assert (c.region, c.holidays) == ("na", "GB-SCT")  # its own calendar stays
    with pytest.raises(ValidationFailed, match="GB has no subdivision 'XYZ'"):
        licenses.update_customer(analyst, world.premium_customer, holidays="GB-XYZ")
    with pytest.raises(ValidationFailed, match="nothing to change"):
        licenses.update_customer(analyst, world.premium_customer, region="na")
    made = customers.create_customer(analyst, "Wayne", "apac", holidays="AU-VIC")
    assert made.holidays == "AU-VIC"


def test_no_case_is_recorded_by_lifecycle_changes(world, contexts):
    analyst = contexts.analyst()
    contracts.change_plan(analyst, world.base_contract, "premium", contexts.clock.today, "upgrade")
    licenses.update_license(analyst, world.base_license, licenses.LicenseUpdate(jobs=5), "r")
    assert rows(contexts.session, KeyRequest) == 0
