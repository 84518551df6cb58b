"""The support plan on cases: escalation reasons and when a case may be escalated again, the
phone-call rule for Sev 1/2, next_update_due reset by analysts' updates, overdue cases first,
and the original refusal kept beside a grant or a denial."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from licensesvc.cases import case_updates
from licensesvc.domain import support_plan
from licensesvc.domain.errors import Forbidden, InvalidState, ValidationFailed
from licensesvc.issuance.key_requests import (
    KeyRequestInput,
    deny_case,
    escalate_case,
    grant_case,
    request_key,
)
from licensesvc.models import AuditRecord, CaseUpdate

PHONE = "1-800-261-5267"


def refused(contexts, world, severity=3):
    """A temporary key Acme's Base plan refuses (Monday 2 March 2026, 10:00 in New York)."""
    out = request_key(
        contexts.customer(world.base_customer),
        KeyRequestInput(world.base_license, "temporary", reason="usage_spike", severity=severity),
    )
    assert out.case.status == "refused"
    return out.case.case_number


def test_a_refused_case_escalates_for_review_with_both_deadlines(world, contexts):
    cust = contexts.customer(world.base_customer)
    case = escalate_case(cust, refused(contexts, world), note="peak season")
    assert case.escalation_reason == "review_refusal"
    # Base Sev 3: 1 business day; updates every 5 business days (NA, 10:00 EST), which ends
    # on Monday 9 March, 10:00 EDT (the clocks went forward on the Sunday)
    assert case.respond_by == datetime(2026, 3, 3, 15, 0, tzinfo=UTC)
    assert case.next_update_due == datetime(2026, 3, 9, 14, 0, tzinfo=UTC)
    support = support_plan.case_support(case, contexts.clock(), PHONE)
    assert support.overdue is False and support.phone_required is False and support.notice is None


@pytest.mark.parametrize("severity", [1, 2])
def test_sev_1_and_2_escalations_say_a_phone_call_is_required(world, contexts, severity):
    case = escalate_case(
        contexts.customer(world.base_customer), refused(contexts, world), severity=severity
    )
    support = support_plan.case_support(case, contexts.clock(), PHONE)
    assert support.phone_required and support.support_phone == PHONE
    assert support.notice == (
        f"Phone call is required to meet the service goal for Sev {severity}: call {PHONE}."
    )


@pytest.mark.parametrize("reason", [None, "response_time_not_met", "criticality_changed"])
def test_an_escalated_case_on_time_cannot_be_escalated_again_for_time_or_severity(
    world, contexts, reason
):
    cust = contexts.customer(world.base_customer)
    number = refused(contexts, world)
    escalate_case(cust, number)
    with pytest.raises(InvalidState) as raised:
        escalate_case(cust, number, reason=reason)
    assert raised.value.message == (
        f"case {number} is already escalated and on time; escalate it again when it is "
        "overdue, its severity changes, or you have a concern about how it is handled "
        "(handling_concern)"
    )


def test_a_handling_concern_escalates_an_escalated_case_that_is_on_time(world, contexts):
    cust = contexts.customer(world.base_customer)
    number = refused(contexts, world, severity=2)
    first = escalate_case(cust, number)
    assert support_plan.overdue_reason(first, contexts.clock()) is None
    contexts.clock.advance(minutes=30)
    case = escalate_case(cust, number, reason="handling_concern", note="no one called back")
    assert case.status == "escalated" and case.escalation_reason == "handling_concern"
    assert case.severity == 2 and case.escalated_at == contexts.clock()
    assert case.escalation_note == "no one called back"
    records = contexts.session.scalars(
        select(AuditRecord).where(
            AuditRecord.action == "case.escalated", AuditRecord.entity_id == number
        )
    ).all()
    assert [r.details["escalation_reason"] for r in records] == [
        "review_refusal",
        "handling_concern",
    ]


def test_a_handling_concern_escalates_an_overdue_case_too(world, contexts):
    cust = contexts.customer(world.base_customer)
    number = refused(contexts, world)
    escalate_case(cust, number)
    contexts.clock.advance(days=1, hours=1)
    case = escalate_case(cust, number, reason="handling_concern")
    assert case.escalation_reason == "handling_concern"


def test_a_handling_concern_never_reopens_a_decided_case(world, contexts):
    cust = contexts.customer(world.base_customer)
    number = refused(contexts, world)
    escalate_case(cust, number)
    deny_case(contexts.analyst(), number, "Base plan, no temporary keys")
    with pytest.raises(InvalidState, match="is denied"):
        escalate_case(cust, number, reason="handling_concern")


def test_an_overdue_case_may_be_escalated_again_for_response_time(world, contexts):
    cust = contexts.customer(world.base_customer)
    number = refused(contexts, world)
    escalate_case(cust, number)
    contexts.clock.advance(days=1, hours=1)  # respond-by (one business day) has passed
    case = escalate_case(cust, number)
    assert case.escalation_reason == "response_time_not_met"
    assert case.escalated_at == contexts.clock()
    with pytest.raises(InvalidState, match="already under review"):
        contexts.clock.advance(days=2)
        escalate_case(cust, number, reason="review_refusal")


def test_a_severity_change_re_escalates_with_new_deadlines(world, contexts):
    cust = contexts.customer(world.base_customer)
    number = refused(contexts, world)
    escalate_case(cust, number)
    with pytest.raises(ValidationFailed, match="criticality_changed needs the new severity"):
        contexts.clock.advance(days=2)  # overdue, but the reason needs a new severity
        escalate_case(cust, number, reason="criticality_changed")
    contexts.clock.set(datetime(2026, 3, 2, 16, 0, tzinfo=UTC))
    case = escalate_case(cust, number, severity=1)
    assert case.escalation_reason == "criticality_changed" and case.severity == 1
    assert case.respond_by == datetime(2026, 3, 2, 17, 0, tzinfo=UTC)  # 1 hour of 24x5 cover


def test_an_unknown_escalation_reason_is_refused(world, contexts):
    number = refused(contexts, world)
    with pytest.raises(ValidationFailed, match="unknown escalation reason 'bored'"):
        escalate_case(contexts.customer(world.base_customer), number, reason="bored")


def test_analyst_updates_answer_the_escalation_and_reset_next_update(world, contexts):
    cust = contexts.customer(world.base_customer)
    number = refused(contexts, world, severity=2)
    escalate_case(cust, number)
    analyst = contexts.analyst("bob")
    with pytest.raises(Forbidden):
        case_updates.post_case_update(cust, number, "hello?")
    with pytest.raises(ValidationFailed, match="needs text"):
        case_updates.post_case_update(analyst, number, "   ")
    with pytest.raises(ValidationFailed, match="control characters"):
        case_updates.post_case_update(analyst, number, "bell\x07")
    contexts.clock.advance(hours=2)  # Monday 12:00 EST
    update = case_updates.post_case_update(analyst, number, "Looking at it; key by 3pm")
    case = update.case
    assert case.responded_at == contexts.clock()
    # Sev 2: every 2 business days = 20 core hours from Monday 12:00 EST -> Wednesday 12:00
    assert case.next_update_due == datetime(2026, 3, 4, 17, 0, tzinfo=UTC)
    assert [u.text for u in case.updates] == ["Looking at it; key by 3pm"]
    rec = contexts.session.scalar(select(AuditRecord).where(AuditRecord.action == "case.updated"))
    assert rec.reason == "Looking at it; key by 3pm" and rec.actor == "analyst:bob"


def test_a_case_never_escalated_gets_no_status_updates(world, contexts):
    number = refused(contexts, world)
    with pytest.raises(InvalidState, match="was never escalated"):
        case_updates.post_case_update(contexts.analyst(), number, "hi")
    assert contexts.session.scalars(select(CaseUpdate)).all() == []


def test_overdue_cases_come_first_then_by_deadline(world, contexts):
    cust = contexts.customer(world.base_customer)
    late = refused(contexts, world, severity=3)
    escalate_case(cust, late)
    contexts.clock.advance(days=1, hours=1)  # `late` is past its respond-by
    soon = refused(contexts, world, severity=2)
    escalate_case(cust, soon)
    later = refused(contexts, world, severity=4)
    escalate_case(cust, later)
    listed = case_updates.list_escalated(contexts.analyst())
    assert [r.case.case_number for r in listed] == [late, soon, later]
    assert [r.support.overdue for r in listed] == [True, False, False]
    assert listed[0].support.overdue_reason.startswith("no response by 2026-03-03T15:00:00Z")
    overdue = case_updates.list_escalated(contexts.analyst(), overdue_only=True)
    assert [r.case.case_number for r in overdue] == [late]
    # an update answers it: no longer overdue until the next update is late
    case_updates.post_case_update(contexts.analyst(), late, "on it")
    assert case_updates.list_escalated(contexts.analyst(), overdue_only=True) == []


def test_a_granted_case_keeps_its_original_refusal(world, contexts):
    number = refused(contexts, world)
    escalate_case(contexts.customer(world.base_customer), number)
    case = grant_case(contexts.analyst(), number, "upgrade in progress").case
    assert case.status == "granted" and case.refusal_code is None
    assert case.original_refusal_code == "plan_not_eligible"
    assert case.original_refusal_message == (
        "temporary keys are a Premium plan service; this contract is base"
    )


def test_a_denied_case_keeps_its_original_refusal(world, contexts):
    number = refused(contexts, world)
    case = deny_case(contexts.analyst(), number, "Base plan")
    assert case.original_refusal_code == case.refusal_code == "plan_not_eligible"


def test_the_customers_holiday_calendar_sets_the_respond_by(world, contexts):
    from licensesvc.accounts import licenses

    # Acme moved to EMEA (so on the English calendar); Thursday 2 April 2026 17:30 BST, Base
    # Sev 2 = 4 business hours; Good Friday and Easter Monday are holidays in England
    analyst = contexts.analyst()
    licenses.update_customer(analyst, world.base_customer, region="emea")
    contexts.clock.set(datetime(2026, 4, 2, 16, 30, tzinfo=UTC))
    number = refused(contexts, world, severity=2)
    case = escalate_case(contexts.customer(world.base_customer), number)
    assert case.respond_by == datetime(2026, 4, 7, 10, 30, tzinfo=UTC)  # after Easter Monday
    licenses.update_customer(analyst, world.base_customer, holidays="GB-SCT")
    number = refused(contexts, world, severity=2)
    case = escalate_case(contexts.customer(world.base_customer), number)
    assert case.respond_by == datetime(2026, 4, 6, 10, 30, tzinfo=UTC)  # Scotland works Monday


def test_support_phone_is_configuration():
    from licensesvc.config import Settings

    s = Settings.from_env(
        {
            "LICENSESVC_SUPPORT_PHONE": "+44 20 7946 0000",
            "LICENSESVC_SECRET_KEY": "x",
            "LICENSESVC_SIGNING_KEY_PASSPHRASE": "y",
        }
    )
    assert s.support_phone == "+44 20 7946 0000"
    d = Settings.from_env({"LICENSESVC_SECRET_KEY": "x", "LICENSESVC_SIGNING_KEY_PASSPHRASE": "y"})
    assert d.support_phone == PHONE


def test_after_hours_cover_must_be_24x5_or_24x7():
    from licensesvc.config import ConfigurationError, Policy

    assert Policy.from_env({"LICENSESVC_POLICY_SEV1_COVER_BASE": "24x7"}).sev1_cover_base == "24x7"
    with pytest.raises(ConfigurationError, match="must be one of 24x5, 24x7"):
        Policy.from_env({"LICENSESVC_POLICY_SEV1_COVER_BASE": "9x5"})
