"""`licensesvc case`: key-request cases, escalations and analysts' decisions."""

from __future__ import annotations

from typing import Any

import click

from cli import serialize
from cli.output import emit, fields, json_option, printable, table
from cli.params import FREE_TEXT, LINE, ROW_ID
from cli.state import CliState, pass_state
from licensesvc.domain import CaseStatus, EscalationReason, values
from licensesvc.models import KeyRequest
from licensesvc.services import case_updates, key_requests
from licensesvc.services.context import ServiceContext

COLUMNS = [
    ("CASE", "case_number"),
    ("STATUS", "status"),
    ("KIND", "kind"),
    ("CUSTOMER", "customer_id"),
    ("LICENSE", "license_id"),
    ("REFUSAL", "refusal_code"),
    ("CREATED", "created_at"),
    ("RESPOND BY", "respond_by"),
]
ESCALATED_COLUMNS = [
    ("CASE", "case_number"),
    ("STATUS", "status"),
    ("SEV", "severity"),
    ("CUSTOMER", "customer_id"),
    ("KIND", "kind"),
    ("REASON", "escalation_reason"),
    ("RESPOND BY", "respond_by"),
    ("NEXT UPDATE", "next_update_due"),
    ("OVERDUE", "overdue"),
]


def case_record(ctx: ServiceContext, c: KeyRequest) -> dict[str, Any]:
    """A case with the support plan's view (overdue, phone) and its status updates."""
    view = key_requests.case_view(ctx, c)
    data = serialize.case(view)
    data.update(
        escalation_reason=view.escalation_reason,
        next_update_due=view.next_update_due,
        responded_at=view.responded_at,
        original_refusal_code=view.original_refusal_code,
        original_refusal_message=view.original_refusal_message,
        overdue=view.overdue,
        overdue_reason=view.overdue_reason,
        phone_required=view.phone_required,
        support_phone=view.support_phone,
        notice=view.notice,
        updates=[{"at": u.at, "author": u.author, "text": u.text} for u in view.updates],
    )
    return data


@click.group()
def case() -> None:
    """Review key-request cases: list, show, escalate, grant or deny.

    \b
    Example:
      licensesvc case list --escalated
      licensesvc case grant CS-20260302-ABC234 --reason "approved by support lead"
    """


def _human_case(data: dict[str, Any]) -> str:
    return fields([(name.replace("_", " "), value) for name, value in data.items()])


@case.command("list")
@click.option(
    "--escalated", is_flag=True, help="Only escalated cases: overdue first, then by deadline."
)
@click.option(
    "--overdue",
    is_flag=True,
    help="Only escalated cases whose respond-by or next status update has passed.",
)
@click.option("--status", type=click.Choice(values(CaseStatus)), help="Only cases in this status.")
@click.option("--customer", "customer_id", type=ROW_ID, help="Only this customer's cases.")
@json_option
@pass_state
def list_(
    state: CliState,
    escalated: bool,
    overdue: bool,
    status: str | None,
    customer_id: int | None,
) -> None:
    """List cases, newest first; escalated ones in the order to work them.

    With --escalated or --overdue: overdue cases first, then by the next deadline (respond-by
    until an analyst answered, then the next status update).

    \b
    Example:
      licensesvc case list --escalated
      licensesvc case list --overdue --customer 3
    """
    if (escalated or overdue) and status not in (None, CaseStatus.ESCALATED):
        raise click.UsageError("--escalated/--overdue and --status disagree; give one of them")
    with state.unit_of_work() as ctx:
        if escalated or overdue or status == CaseStatus.ESCALATED:
            rows = [
                case_record(ctx, r.case)
                for r in case_updates.list_escalated(
                    ctx, customer_id=customer_id, overdue_only=overdue
                )
            ]
            columns = ESCALATED_COLUMNS
        else:
            rows = [
                serialize.case(c)
                for c in key_requests.list_cases(ctx, customer_id=customer_id, status=status)
            ]
            columns = COLUMNS
    emit(state.json, rows, lambda: table(rows, columns))


@case.command("show")
@click.argument("case_number", metavar="CASE", type=LINE)
@json_option
@pass_state
def show(state: CliState, case_number: str) -> None:
    """Show one case with its refusal, escalation and decision.

    \b
    Example:
      licensesvc case show CS-20260302-ABC234
    """
    with state.unit_of_work() as ctx:
        data = case_record(ctx, key_requests.get_case(ctx, case_number))
    emit(state.json, data, lambda: _human_case(data))


@case.command("escalate")
@click.argument("case_number", metavar="CASE", type=LINE)
@click.option("--note", type=FREE_TEXT, help="What the customer said, for the reviewing analyst.")
@click.option("--severity", type=click.IntRange(1, 4), help="Severity 1 (critical) to 4 (low).")
@click.option(
    "--reason",
    type=click.Choice(values(EscalationReason)),
    help="Why: review_refusal (default for a refused case), response_time_not_met, "
    "handling_concern, criticality_changed (with a new --severity).",
)
@json_option
@pass_state
def escalate(
    state: CliState,
    case_number: str,
    note: str | None,
    severity: int | None,
    reason: str | None,
) -> None:
    """Escalate a case on the customer's behalf (e.g. they phoned in).

    A refused case may be escalated; an escalated one again when it is overdue or its
    severity changes. The case gets a respond-by time (Sev 1: hours of the plan's after-hours
    cover; Sev 2-4: the region's business hours) and a next status update time. Sev 1 and 2
    say that a phone call is required, with the support number.

    \b
    Example:
      licensesvc case escalate CS-20260302-ABC234 --note "customer called: go-live Friday"
      licensesvc case escalate CS-20260302-ABC234 --severity 1 --reason criticality_changed
    """
    data = state.retried(
        lambda ctx: case_record(
            ctx, key_requests.escalate_case(ctx, case_number, note, severity, reason)
        )
    )

    def human() -> str:
        line = (
            f"escalated {data['case_number']} ({data['escalation_reason']}, Sev "
            f"{data['severity']}); respond by {data['respond_by']:%Y-%m-%dT%H:%M:%SZ}, next "
            f"update due {data['next_update_due']:%Y-%m-%dT%H:%M:%SZ}"
        )
        return line + (f"\n{data['notice']}" if data["notice"] else "")

    emit(state.json, data, human)


@case.command("update")
@click.argument("case_number", metavar="CASE")
@click.option("--text", required=True, help="The status update, as the customer will read it.")
@json_option
@pass_state
def update(state: CliState, case_number: str, text: str) -> None:
    """Post a status update on an escalated case; the customer sees it on the case.

    The first update is the initial response; each one resets the next update's due time
    (Sev 1 daily, Sev 2 every 2 business days, Sev 3 every 5, Sev 4 as agreed).

    \b
    Example:
      licensesvc case update CS-20260302-ABC234 --text "DR key approved, issuing today"
    """

    def work(ctx: ServiceContext) -> dict[str, Any]:
        case_updates.post_case_update(ctx, case_number, text)
        return case_record(ctx, key_requests.get_case(ctx, case_number))

    data = state.retried(work)
    emit(
        state.json,
        data,
        lambda: (
            f"updated {data['case_number']}; next update due "
            f"{data['next_update_due']:%Y-%m-%dT%H:%M:%SZ}"
            if data["next_update_due"]
            else f"updated {data['case_number']}"
        ),
    )


@case.command("grant")
@click.argument("case_number", metavar="CASE", type=LINE)
@click.option(
    "--reason", type=FREE_TEXT, required=True, help="Why the refusal is overridden (audit trail)."
)
@json_option
@pass_state
def grant(state: CliState, case_number: str, reason: str) -> None:
    """Grant a refused or escalated case anyway: the key is issued, the override audited.

    \b
    Example:
      licensesvc case grant CS-20260302-ABC234 --reason "approved by support lead, ticket 4711"
    """

    def work(ctx: ServiceContext) -> dict[str, Any]:
        outcome = key_requests.grant_case(ctx, case_number, reason)
        assert outcome.key is not None
        data = case_record(ctx, outcome.case)
        data["key"] = serialize.key(outcome.key, ctx.now(), with_text=True)
        return data

    data = state.retried(work)
    emit(
        state.json,
        data,
        lambda: (
            f"granted {data['case_number']}: key {data['key']['serial']} "
            f"({data['key']['kind']}, expires {data['key']['expires_at'] or 'never'})"
        ),
    )


@case.command("deny")
@click.argument("case_number", metavar="CASE", type=LINE)
@click.option(
    "--reason", type=FREE_TEXT, required=True, help="Why the refusal stands (audit trail)."
)
@json_option
@pass_state
def deny(state: CliState, case_number: str, reason: str) -> None:
    """Deny a refused or escalated case: the refusal stands, with a written reason.

    \b
    Example:
      licensesvc case deny CS-20260302-ABC234 --reason "maintenance unpaid since March"
    """
    data = state.retried(
        lambda ctx: case_record(ctx, key_requests.deny_case(ctx, case_number, reason))
    )
    emit(state.json, data, lambda: f"denied {data['case_number']}: {printable(reason)}")
