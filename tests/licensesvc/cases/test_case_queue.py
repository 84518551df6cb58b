"""The queue's rules: owners, internal notes that never reach the customer, severity changes
that recount an escalated case's deadlines from the support plan, and the queue's order."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from licensesvc import accounts
from licensesvc.accounts import customers
from licensesvc.cases import case_updates
from licensesvc.domain.errors import Forbidden, InvalidState, ValidationFailed
from licensesvc.issuance import key_requests
from licensesvc.issuance.key_requests import KeyRequestInput, escalate_case, request_key
from licensesvc.models import CaseNote


def escalated(contexts, world, severity=3):
    out = request_key(
        contexts.customer(world.base_customer),
        KeyRequestInput(world.base_license, "temporary", reason="usage_spike"),
    )
    return escalate_case(
        contexts.customer(world.base_customer), out.case.case_number, severity=severity
    ).case_number


def test_only_analysts_assign_note_or_change_severity(world, contexts):
    case = escalated(contexts, world)
    cust = contexts.customer(world.base_customer)
    with pytest.raises(Forbidden):
        case_updates.assign_case(cust, case, "me")
    with pytest.raises(Forbidden):
        case_updates.add_case_note(cust, case, "hello")
    with pytest.raises(Forbidden):
        case_updates.change_severity(cust, case, 1, "urgent")
    with pytest.raises(Forbidden):
        case_updates.case_notes(cust, key_requests.get_case(cust, case))


def test_a_note_never_reaches_the_customers_view_of_the_case(world, contexts):
    case = escalated(contexts, world)
    analyst = contexts.analyst()
    case_updates.add_case_note(analyst, case, "internal: their admin is on leave")
    cust = contexts.customer(world.base_customer)
    view = key_requests.case_view(cust, key_requests.get_case(cust, case))
    assert "their admin is on leave" not in repr(view.as_dict())
    notes = case_updates.case_notes(analyst, key_requests.get_case(analyst, case))
    assert [(n.author, n.text) for n in notes] == [
        ("analyst:alice", "internal: their admin is on leave")
    ]


def test_raising_severity_recounts_respond_by_from_now(world, contexts, clock):
    case = escalated(contexts, world, severity=4)
    clock.set(datetime(2026, 3, 2, 16, 0, tzinfo=UTC))  # 11:00 in New York
    changed = case_updates.change_severity(contexts.analyst(), case, 2, "scheduler down")
    # Base Sev 2: 4 business hours; updates every 2 business days
    assert changed.severity == 2
    assert changed.respond_by == datetime(2026, 3, 2, 20, 0, tzinfo=UTC)
    assert changed.next_update_due == datetime(2026, 3, 4, 16, 0, tzinfo=UTC)


def test_after_the_first_response_a_severity_change_moves_only_the_next_update(
    world, contexts, clock
):
    case = escalated(contexts, world, severity=3)
    analyst = contexts.analyst()
    case_updates.post_case_update(analyst, case, "looking into it")
    respond_by = key_requests.get_case(analyst, case).respond_by
    changed = case_updates.change_severity(analyst, case, 1, "production down")
    assert changed.respond_by == respond_by
    assert changed.next_update_due is not None


@pytest.mark.parametrize(
    ("severity", "reason", "error"),
    [(0, "x", ValidationFailed), (5, "x", ValidationFailed), (2, " ", ValidationFailed)],
)
def test_a_severity_change_needs_1_to_4_and_a_reason(world, contexts, severity, reason, error):
    case = escalated(contexts, world)
    with pytest.raises(error):
        case_updates.change_severity(contexts.analyst(), case, severity, reason)
    assert key_requests.get_case(contexts.analyst(), case).severity == 3


def test_the_queue_is_ordered_by_respond_by(world, contexts):
    sev4 = escalated(contexts, world, severity=4)
    sev2 = escalated(contexts, world, severity=2)
    queue = case_updates.list_escalated(contexts.analyst())
    assert [r.case.case_number for r in queue] == [sev2, sev4]
    lines = case_updates.queue_lines(contexts.analyst(), queue)
    name = accounts.get_customer(contexts.analyst(), world.base_customer).name
    assert [(line.customer_name, line.severity) for line in lines] == [(name, 2), (name, 4)]


def test_a_blank_note_or_owner_changes_nothing(world, contexts):
    case = escalated(contexts, world)
    analyst = contexts.analyst()
    with pytest.raises(ValidationFailed):
        case_updates.add_case_note(analyst, case, "   ")
    with pytest.raises(ValidationFailed):
        case_updates.assign_case(analyst, case, "")
    assert contexts.session.query(CaseNote).count() == 0
    assert key_requests.get_case(analyst, case).owner is None
    with pytest.raises(InvalidState):
        case_updates.change_severity(analyst, case, 3, "same")


def test_search_escapes_wildcards_and_finds_by_contract(world, contexts):
    analyst = contexts.analyst()
    found = customers.search_customers(analyst, str(world.base_contract))
    assert found[0].customer.id == world.base_customer
    assert found[0].matched.startswith(f"contract {world.base_contract}")
    assert customers.search_customers(analyst, "%%") == []


def _support_mails_and_escalation_hooks(contexts, case_number):
    from sqlalchemy import select

    from licensesvc.models.outbox import OutboxMessage
    from licensesvc.models.webhooks import WebhookDelivery

    session = contexts.analyst().session
    mails = session.scalars(
        select(OutboxMessage).where(
            OutboxMessage.event == "support_escalation",
            OutboxMessage.subject_ref == f"case:{case_number}",
        )
    ).all()
    hooks = session.scalars(
        select(WebhookDelivery)
        .where(WebhookDelivery.event == "case.escalated")
        .order_by(WebhookDelivery.id)
    ).all()
    return [m.context["severity"] for m in mails], [h.payload["data"] for h in hooks]


def test_raising_an_escalated_cases_severity_tells_support_and_the_webhooks(world, contexts, clock):
    from licensesvc import outreach

    outreach.add_endpoint(
        contexts.analyst(),
        "https://hooks.example/licensesvc",
        ["case.escalated"],
        resolve=lambda host, port: ["93.184.216.34"],
    )
    case = escalated(contexts, world, severity=3)
    clock.set(datetime(2026, 3, 2, 16, 0, tzinfo=UTC))
    case_updates.change_severity(contexts.analyst(), case, 1, "production down")
    mails, hooks = _support_mails_and_escalation_hooks(contexts, case)
    assert sorted(mails) == [1, 3]
    assert [h["severity"] for h in hooks] == [3, 1]
    raised = key_requests.get_case(contexts.analyst(), case)
    assert hooks[1]["respond_by"] == raised.respond_by.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert hooks[1]["case_number"] == case


def test_lowering_a_severity_tells_nobody(world, contexts, clock):
    from licensesvc import outreach

    outreach.add_endpoint(
        contexts.analyst(),
        "https://hooks.example/licensesvc",
        ["case.escalated"],
        resolve=lambda host, port: ["93.184.216.34"],
    )
    case = escalated(contexts, world, severity=2)
    case_updates.change_severity(contexts.analyst(), case, 4, "a workaround holds")
    mails, hooks = _support_mails_and_escalation_hooks(contexts, case)
    assert mails == [2]
    assert [h["severity"] for h in hooks] == [2]
