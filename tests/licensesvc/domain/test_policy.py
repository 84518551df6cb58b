"""domain/policy.py: each kind's rules (plan, reason, window, precedence) as a request meets
them, and the table itself."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

import keys
from licensesvc.config import Policy
from licensesvc.domain import KeyKind, Plan, TemporaryReason, policy
from licensesvc.domain.standing import Standing
from licensesvc.issuance import signing
from licensesvc.issuance.key_requests import (
    KeyRequestInput,
    explain_request,
)
from licensesvc.models import (
    AuditRecord,
    Contract,
    ContractPayment,
    Customer,
    IssuedKey,
    KeyRequest,
    License,
)
from tests.licensesvc.service_helpers import (
    ask,
    correct_paid_through,
    count,
    first_key,
    refusal,
)


def test_base_plan_cannot_get_temporary_key(world, contexts):
    out = ask(
        contexts.customer(world.base_customer),
        world.base_license,
        "temporary",
        reason="usage_spike",
    )
    assert refusal(out) == "plan_not_eligible"
    assert out.case.case_number.startswith("CS-")
    assert "Premium" in out.case.refusal_message
    assert count(contexts.session, IssuedKey) == 0


@pytest.mark.parametrize("reason", [None, "because"])
def test_temporary_key_needs_one_of_the_four_reasons(world, contexts, reason):
    out = ask(
        contexts.customer(world.premium_customer),
        world.premium_license,
        "temporary",
        reason=reason,
    )
    assert refusal(out) == "validation_error"
    assert "infrastructure_change" in out.case.refusal_message


def test_temporary_key_may_not_outlive_the_contract_by_default(world, contexts, analyst):
    contract = contexts.session.get(Contract, world.premium_contract)
    contract.end_date = contexts.clock.today + timedelta(days=60)
    out = ask(
        contexts.customer(world.premium_customer),
        world.premium_license,
        "temporary",
        reason="seasonal_testing",
    )
    assert refusal(out) == "invalid_window"
    assert "past the contract end" in out.case.refusal_message
    allowing = contexts.with_policy(temporary_may_outlive_contract=True)
    out = ask(
        allowing.customer(world.premium_customer),
        world.premium_license,
        "temporary",
        reason="seasonal_testing",
    )
    assert out.case.status == "granted"


def test_dr_test_key_is_valid_only_around_the_test_date(world, contexts):
    test_day = contexts.clock.today + timedelta(days=10)
    out = ask(
        contexts.customer(world.base_customer),
        world.base_license,
        "dr_test",
        dr_test_date=test_day,
        host="dr-site.acme.example",
    )
    key = out.key
    new_york = ZoneInfo("America/New_York")  # Acme's region: the window is in its days
    assert key.not_before == datetime.combine(
        test_day - timedelta(days=2), datetime.min.time(), new_york
    )
    assert key.expires_at == datetime.combine(
        test_day + timedelta(days=5), datetime.max.time().replace(microsecond=0), new_york
    )
    claims = keys.decode_unverified(key.key_text)
    assert claims.host == "dr-site.acme.example" and claims.failover_host is None
    trusted = signing.trusted_public_keys(contexts.analyst())
    with pytest.raises(keys.NotYetValid):
        keys.verify(key.key_text, trusted, at=contexts.clock())
    keys.verify(key.key_text, trusted, at=datetime.combine(test_day, datetime.min.time(), UTC))


@pytest.mark.parametrize("days_ahead", [0, -3, 181])
def test_dr_test_key_must_be_requested_in_advance_and_not_too_far(world, contexts, days_ahead):
    out = ask(
        contexts.customer(world.base_customer),
        world.base_license,
        "dr_test",
        dr_test_date=contexts.clock.today + timedelta(days=days_ahead),
    )
    assert refusal(out) == "invalid_window"


def test_dr_test_key_needs_a_test_date(world, contexts):
    out = ask(contexts.customer(world.base_customer), world.base_license, "dr_test")
    assert refusal(out) == "validation_error"
    assert "test date" in out.case.refusal_message


def test_lapsed_maintenance_refuses_with_reason_and_grace_allows(world, analyst, contexts):
    first_key(analyst, world.base_license)
    contract = contexts.session.get(Contract, world.base_contract)
    correct_paid_through(contexts, contract.id, contexts.clock.today - timedelta(days=3))
    cust = contexts.customer(world.base_customer)
    out = ask(cust, world.base_license, "replacement")
    assert refusal(out) == "maintenance_lapsed"
    assert str(contract.paid_through) in out.case.refusal_message
    graced = contexts.with_policy(grace_days=5)
    assert ask(graced.customer(world.base_customer), world.base_license, "replacement").key
    contract.grace_days = 1  # a contract's own grace overrides the policy default
    assert refusal(ask(graced.customer(world.base_customer), world.base_license, "replacement"))


def test_expired_contract_wins_over_every_other_refusal(world, contexts):
    contract = contexts.session.get(Contract, world.base_contract)
    contract.end_date = contexts.clock.today - timedelta(days=1)
    correct_paid_through(contexts, contract.id, contexts.clock.today - timedelta(days=100))
    out = ask(contexts.customer(world.base_customer), world.base_license, "temporary")
    assert refusal(out) == "contract_expired"
    assert "ended on" in out.case.refusal_message


def test_precedence_plan_before_validation(world, contexts):
    # a temporary key on Base without a reason: plan_not_eligible comes before validation_error
    out = ask(contexts.customer(world.base_customer), world.base_license, "temporary")
    assert refusal(out) == "plan_not_eligible"


def test_dry_run_lists_every_check_and_writes_nothing(world, contexts):
    session = contexts.session
    before = (count(session, KeyRequest), count(session, AuditRecord))
    decision = explain_request(
        contexts.customer(world.base_customer),
        KeyRequestInput(world.base_license, "temporary", reason="usage_spike"),
    )
    assert [c.name for c in decision.checks] == [
        "contract_active",
        "maintenance_current",
        "plan_eligible",
        "request_valid",
        "replaces_a_key",
        "window_possible",
        "window_valid",
        "quota_available",
        "hosts_within_contract",
    ]
    assert decision.refusal.code == "plan_not_eligible"
    assert (count(session, KeyRequest), count(session, AuditRecord)) == before


# --- the table itself (pure: no database) ----------------------------------------------------


def test_each_plan_includes_the_kinds_the_overview_promises() -> None:
    assert policy.plan_key_kinds(Plan.BASE) == ["replacement", "dr_test"]
    assert policy.plan_key_kinds(Plan.PREMIUM) == ["replacement", "dr_test", "temporary"]
    assert policy.plan_key_kinds(None) == []
    assert policy.temporary_reasons(Plan.BASE) == []
    assert policy.temporary_reasons("premium") == list(TemporaryReason)


def test_every_kind_has_exactly_one_rule() -> None:
    assert list(policy.RULES) == list(KeyKind)
    assert all(rule.kind is kind for kind, rule in policy.RULES.items())


def test_only_analysts_may_request_standard_keys() -> None:
    assert policy.requester_problem("standard", is_analyst=False) == (
        "standard keys are issued by support analysts; request a replacement key"
    )
    assert policy.requester_problem("standard", is_analyst=True) is None
    assert policy.requester_problem("replacement", is_analyst=False) is None


def _license(host: str = "app01", failover: str | None = "app02") -> License:
    return License(id=7, customer_id=1, host=host, failover_host=failover, expires_on=None)


@pytest.mark.parametrize(
    ("kind", "requested", "expected"),
    [
        ("standard", None, ("app01", "app02", None)),
        ("standard", "App02", ("app02", "app01", None)),  # the failover pair swaps
        ("standard", "new01", ("new01", "app02", "new01")),  # the license follows its key
        ("replacement", "new01", ("new01", "app02", "new01")),  # "moved server"
        ("replacement", "app02", ("app02", "app01", None)),
        ("dr_test", "dr01", ("dr01", None, None)),  # the DR host only
        ("dr_test", None, ("app02", None, None)),  # default: the failover host (the DR server)
        ("temporary", None, ("app01", "app02", None)),
    ],
)
def test_each_kind_binds_its_hosts_by_its_rule(kind, requested, expected) -> None:
    hosts = policy.key_hosts(policy.rule_for(kind), _license(), requested)
    assert (hosts.host, hosts.failover_host, hosts.license_moves_to) == expected


def test_evaluate_reads_only_its_arguments() -> None:
    today = date(2026, 3, 2)
    contract = Contract(
        id=3,
        plan="base",
        start_date=date(2026, 1, 1),
        end_date=date(2026, 12, 31),
        payments=[ContractPayment(paid_through=date(2026, 12, 31))],
        grace_days=None,
    )
    st = Standing(Customer(id=1, name="Acme", region="na"), contract, today)
    now = datetime(2026, 3, 2, 9, tzinfo=UTC)
    req = KeyRequestInput(7, "dr_test")
    decision = policy.evaluate(Policy(), _license(), st, req, now=now, quota=None, quota_in_use=0)
    assert [c.name for c in decision.checks] == [
        "contract_active",
        "maintenance_current",
        "plan_eligible",
        "request_valid",
        "replaces_a_key",
        "window_possible",
        "window_valid",
        "quota_available",
        "hosts_within_contract",
    ]
    assert decision.refusal is not None
    assert decision.refusal.code == "validation_error"
    assert decision.refusal.detail == "a DR-test key needs the test date (dr_test_date)"
    again = policy.evaluate(Policy(), _license(), st, req, now=now, quota=None, quota_in_use=0)
    assert again == decision


def test_the_architecture_doc_shows_the_table_as_it_is() -> None:
    doc = (Path(__file__).resolve().parents[3] / "docs" / "architecture.md").read_text()
    assert policy.rules_markdown() in doc


def test_a_decision_yields_the_plan_issuance_signs() -> None:
    """issue_signed_key takes one frozen KeyPlan: what the decision says to sign, with the
    kind's reason only when the kind needs one and the license's hosts by the kind's rule."""
    lic = License(host="sched.acme.example", failover_host="dr.acme.example")
    decided = datetime(2026, 3, 2, 15, tzinfo=UTC)
    decision = policy.Decision(
        checks=(),
        not_before=decided,
        expires_at=decided + timedelta(days=120),
        decided_at=decided,
        ends_overlap_of=("SN-EARLIER",),
    )
    later = decided + timedelta(seconds=5)
    temporary = decision.key_plan(
        policy.rule_for("temporary"),
        lic,
        now=later,
        requested_host=None,
        reason="usage_spike",
        dr_test_date=None,
        case_number="CS-1",
    )
    assert temporary == policy.KeyPlan(
        kind=KeyKind.TEMPORARY,
        hosts=policy.KeyHosts("sched.acme.example", "dr.acme.example", None),
        issued_at=decided,
        not_before=decided,
        expires_at=decided + timedelta(days=120),
        supersedes_primary=False,
        ends_overlap_of=("SN-EARLIER",),
        reason="usage_spike",
        case_number="CS-1",
    )
    with pytest.raises(AttributeError):
        temporary.reason = "other"  # type: ignore[misc]
    # an analyst's grant of a refused case: no hosts or window decided, so the kind's host
    # rule and now; a replacement on a new host moves the license and supersedes its key
    replacement = policy.Decision(checks=()).key_plan(
        policy.rule_for("replacement"),
        lic,
        now=later,
        requested_host="New.Acme.example",
        reason="usage_spike",
        dr_test_date=None,
        case_number="CS-1",
    )
    assert replacement.hosts.license_moves_to == "new.acme.example"
    assert (replacement.issued_at, replacement.not_before) == (later, later)
    assert replacement.supersedes_primary and replacement.reason is None
