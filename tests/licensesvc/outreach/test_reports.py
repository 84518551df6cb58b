"""The analysts' reports over the shop of most stories: Acme (Base, NA) and Globex (Premium,
EMEA), each with a contract from 30 days ago to 335 days ahead, paid to its end."""

from __future__ import annotations

from datetime import timedelta

import pytest

from licensesvc.accounts import customers
from licensesvc.domain.errors import Forbidden, ValidationFailed
from licensesvc.issuance import issued_keys
from licensesvc.issuance.key_requests import (
    KeyRequestInput,
    KeyRequestOutcome,
    escalate_case,
    request_key,
)
from licensesvc.outreach import reports
from tests.licensesvc.service_helpers import correct_paid_through


def ask(ctx, license_id, kind, **kw) -> KeyRequestOutcome:
    out = request_key(ctx, KeyRequestInput(license_id, kind, **kw))
    assert isinstance(out, KeyRequestOutcome)
    return out


def pay(analyst, contract_id, paid_through):
    correct_paid_through(analyst, contract_id, paid_through)


def test_maintenance_lapsing_lists_contracts_paid_through_a_day_ahead(world, analyst, clock):
    today = clock.today
    pay(analyst, world.base_contract, today + timedelta(days=10))
    [row] = reports.maintenance_lapsing(analyst, 30)
    assert row == reports.MaintenanceLapsingRow(
        customer_id=world.base_customer,
        customer="Acme",
        contract_id=world.base_contract,
        plan="base",
        paid_through=today + timedelta(days=10),
        days_left=10,
        contract_end=today + timedelta(days=335),
    )
    assert reports.maintenance_lapsing(analyst, 9) == ()
    # Globex is paid to its contract's end: it is ending, not lapsing
    assert all(r.customer != "Globex" for r in reports.maintenance_lapsing(analyst, 400))


def test_in_grace_lists_customers_past_paid_through_but_inside_grace(world, contexts, clock):
    ctx = contexts.with_policy(grace_days=15).analyst()
    pay(ctx, world.base_contract, clock.today - timedelta(days=3))
    [row] = reports.in_grace(ctx)
    assert (row.customer, row.grace_until, row.grace_days_left) == (
        "Acme",
        clock.today + timedelta(days=12),
        12,
    )
    pay(ctx, world.base_contract, clock.today - timedelta(days=16))  # grace over: lapsed
    assert reports.in_grace(ctx) == ()


def test_contracts_ending_says_whether_a_renewal_follows(world, analyst, clock):
    end = clock.today + timedelta(days=335)
    customers.create_contract(
        analyst, world.premium_customer, "premium", end + timedelta(1), end + timedelta(366), end
    )
    rows = reports.contracts_ending(analyst, 340)
    assert [(r.customer, r.days_left, r.renewed) for r in rows] == [
        ("Acme", 335, False),
        ("Globex", 335, True),
    ]
    assert reports.contracts_ending(analyst, 334) == ()


def test_quota_use_counts_dr_test_and_temporary_keys(world, analyst, contexts, clock):
    ask(analyst, world.premium_license, "standard")
    globex = contexts.customer(world.premium_customer)
    ask(globex, world.premium_license, "dr_test", dr_test_date=clock.today + timedelta(days=10))
    ask(globex, world.premium_license, "temporary", reason="usage_spike")
    rows = {r.customer: r for r in reports.quota_use(analyst)}
    assert (rows["Globex"].dr_test_used, rows["Globex"].dr_test_limit) == (1, 2)
    assert (rows["Globex"].temporary_active, rows["Globex"].temporary_limit) == (1, 1)
    assert (rows["Acme"].dr_test_used, rows["Acme"].temporary_limit) == (0, 0)
    assert rows["Acme"].year_start == clock.today - timedelta(days=30)


def test_keys_expiring_lists_active_keys_soonest_first(world, analyst, contexts, clock):
    ask(analyst, world.premium_license, "standard")  # perpetual: never listed
    globex = contexts.customer(world.premium_customer)
    dr = ask(globex, world.premium_license, "dr_test", dr_test_date=clock.today + timedelta(10))
    temp = ask(globex, world.premium_license, "temporary", reason="usage_spike")
    rows = reports.keys_expiring(analyst, 120)
    assert [(r.serial, r.kind, r.days_left) for r in rows] == [
        (dr.key.serial, "dr_test", 15),
        (temp.key.serial, "temporary", 120),
    ]
    # the DR-test key is bound to the license's failover host, and the customer is named
    assert rows[0].host == "dr.globex.example" and rows[0].product == "JAMS Scheduler"
    assert [r.customer for r in rows] == ["Globex", "Globex"]
    assert [r.serial for r in reports.keys_expiring(analyst, 119)] == [dr.key.serial]
    issued_keys.revoke_key(analyst, dr.key.serial, "test cancelled")
    assert [r.serial for r in reports.keys_expiring(analyst, 120)] == [temp.key.serial]


def test_overdue_cases_are_grouped_by_owner_most_overdue_first(world, analyst, contexts, clock):
    acme = contexts.customer(world.base_customer)
    first = ask(acme, world.base_license, "temporary", reason="usage_spike").case
    escalate_case(acme, first.case_number, "urgent", severity=2)
    clock.advance(hours=1)
    second = ask(acme, world.base_license, "temporary", reason="usage_spike").case
    escalate_case(acme, second.case_number, "also urgent", severity=2)
    assert reports.overdue_cases(analyst) == ()
    clock.advance(days=10)
    rows = reports.overdue_cases(analyst)
    assert [(r.owner, r.case_number) for r in rows] == [
        ("unassigned", first.case_number),
        ("unassigned", second.case_number),
    ]
    assert rows[0].hours_overdue > rows[1].hours_overdue > 0
    assert rows[0].customer == "Acme" and rows[0].severity == 2


@pytest.mark.parametrize("days", [-1, 3661])
def test_reports_refuse_days_out_of_range(analyst, days):
    with pytest.raises(ValidationFailed, match=f"days is 0 to 3660, not {days}"):
        reports.maintenance_lapsing(analyst, days)


def test_reports_are_for_analysts(world, contexts):
    with pytest.raises(Forbidden):
        reports.quota_use(contexts.customer(world.base_customer))
