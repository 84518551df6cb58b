"""issuance/key_requests.py: requests become cases; escalations, grants and denials, told as
the customers and analysts who meet them."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

import keys
from licensesvc import accounts
from licensesvc.domain.errors import (
    Forbidden,
    InvalidState,
    NotFound,
    ValidationFailed,
)
from licensesvc.issuance.key_requests import (
    KeyRequestInput,
    deny_case,
    escalate_case,
    grant_case,
    request_key,
)
from licensesvc.models import AuditRecord, Contract, KeyRequest
from tests.licensesvc.service_helpers import ask, correct_paid_through, count, first_key


def test_base_customer_gets_a_replacement_that_supersedes_the_old_key(world, analyst, contexts):
    first = ask(analyst, world.base_license, "standard").key
    cust = contexts.customer(world.base_customer)
    out = ask(cust, world.base_license, "replacement")
    assert out.case.status == "granted"
    assert out.key.supersedes == first.serial
    assert first.status == "superseded"
    assert first.usable_until == contexts.clock() + timedelta(days=14)
    claims = keys.decode_unverified(out.key.key_text)
    assert claims.kind == "replacement" and claims.supersedes == first.serial
    assert claims.case_number == out.case.case_number


def test_premium_customer_gets_a_120_day_temporary_key(world, analyst, contexts):
    out = ask(
        contexts.customer(world.premium_customer),
        world.premium_license,
        "temporary",
        reason="infrastructure_change",
    )
    assert out.case.status == "granted"
    assert out.key.expires_at - out.key.issued_at == timedelta(days=120)
    assert keys.decode_unverified(out.key.key_text).reason == "infrastructure_change"


def test_customer_cannot_request_standard_key_or_touch_another_customers_license(world, contexts):
    cust = contexts.customer(world.base_customer)
    with pytest.raises(Forbidden):
        ask(cust, world.base_license, "standard")
    with pytest.raises(NotFound):
        ask(cust, world.premium_license, "replacement")


def test_unknown_kind_is_a_validation_error_without_a_case(world, contexts):
    with pytest.raises(ValidationFailed):
        ask(contexts.customer(world.base_customer), world.base_license, "golden")
    assert count(contexts.session, KeyRequest) == 0


def test_refused_case_escalates_with_respond_by_in_business_hours(world, contexts):
    # Monday 2 March 2026, 15:00 UTC = 10:00 in New York; Base, severity 3 => 1 business day
    cust = contexts.customer(world.base_customer)
    out = ask(cust, world.base_license, "temporary", reason="usage_spike")
    case = escalate_case(cust, out.case.case_number, note="we bought Premium last week")
    assert case.status == "escalated"
    assert case.respond_by == datetime(2026, 3, 3, 15, 0, tzinfo=UTC)
    with pytest.raises(InvalidState):
        escalate_case(cust, out.case.case_number)


def test_premium_severity_2_escalation_on_friday_evening_lands_monday(world, contexts):
    # Friday 6 March 2026 17:00 GMT (EMEA, 1 hour before close), Premium sev 2 => 2 business hours
    contexts.clock.set(datetime(2026, 3, 6, 17, 0, tzinfo=UTC))
    contract = contexts.session.get(Contract, world.premium_contract)
    correct_paid_through(contexts, contract.id, date(2026, 1, 1))
    cust = contexts.customer(world.premium_customer)
    out = ask(cust, world.premium_license, "replacement")
    case = escalate_case(cust, out.case.case_number, severity=2)
    assert case.respond_by == datetime(2026, 3, 9, 9, 0, tzinfo=UTC)


def test_analyst_grants_an_escalated_case_with_a_reason_in_the_audit_trail(world, contexts):
    cust = contexts.customer(world.base_customer)
    out = ask(cust, world.base_license, "temporary", reason="usage_spike")
    escalate_case(cust, out.case.case_number)
    analyst = contexts.analyst("bob")
    with pytest.raises(ValidationFailed):
        grant_case(analyst, out.case.case_number, "  ")
    granted = grant_case(analyst, out.case.case_number, "upgrade to Premium in progress")
    assert granted.case.status == "granted" and granted.key.kind == "temporary"
    assert granted.case.decided_by == "analyst:bob"
    rec = contexts.session.scalar(
        select(AuditRecord).where(AuditRecord.action == "case.overridden")
    )
    assert rec.reason == "upgrade to Premium in progress"
    assert rec.details["overrode"] == "plan_not_eligible"


def test_customer_cannot_grant_and_analyst_denies_with_reason(world, contexts):
    cust = contexts.customer(world.base_customer)
    out = ask(cust, world.base_license, "temporary", reason="usage_spike")
    escalate_case(cust, out.case.case_number)
    with pytest.raises(Forbidden):
        grant_case(cust, out.case.case_number, "please")
    case = deny_case(contexts.analyst(), out.case.case_number, "Base plan; offered an upgrade")
    assert case.status == "denied"
    with pytest.raises(InvalidState):
        grant_case(contexts.analyst(), out.case.case_number, "changed my mind")


def test_override_reason_grants_what_policy_refuses(world, analyst, contexts):
    first_key(analyst, world.base_license)
    contract = contexts.session.get(Contract, world.base_contract)
    correct_paid_through(contexts, contract.id, contexts.clock.today - timedelta(days=40))
    out = request_key(
        contexts.analyst(),
        KeyRequestInput(world.base_license, "replacement"),
        override_reason="payment received by wire, not yet booked",
    )
    assert out.case.status == "granted" and out.overridden
    with pytest.raises(Forbidden):
        request_key(
            contexts.customer(world.base_customer),
            KeyRequestInput(world.base_license, "replacement"),
            override_reason="trust me",
        )


def test_every_decision_writes_its_audit_record(world, analyst, contexts):
    first_key(analyst, world.base_license)
    cust = contexts.customer(world.base_customer)
    ask(cust, world.base_license, "temporary")
    ask(cust, world.base_license, "replacement")
    actions = list(contexts.session.scalars(select(AuditRecord.action).order_by(AuditRecord.id)))
    assert actions[-4:] == ["case.refused", "key.issued", "key.superseded", "case.granted"]


def test_license_host_moves_with_a_replacement_for_a_new_server(world, analyst, contexts):
    first_key(analyst, world.base_license)
    out = ask(
        contexts.customer(world.base_customer),
        world.base_license,
        "replacement",
        host="new-sched.acme.example",
    )
    lic = accounts.get_license(analyst, world.base_license)
    assert lic.host == "new-sched.acme.example"
    assert keys.decode_unverified(out.key.key_text).host == "new-sched.acme.example"
