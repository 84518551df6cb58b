"""`licensesvc case`: key-request cases, escalations and analysts' decisions."""

from __future__ import annotations

from typing import Any

import click

from cli import serialize
from cli.output import emit, fields, json_option, printable, table
from cli.params import FREE_TEXT, LINE, ROW_ID
from cli.state import CliState, pass_state
from licensesvc.domain import CaseStatus, values
from licensesvc.services import key_requests

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
@click.option("--escalated", is_flag=True, help="Only escalated cases awaiting an analyst.")
@click.option("--status", type=click.Choice(values(CaseStatus)), help="Only cases in this status.")
@click.option("--customer", "customer_id", type=ROW_ID, help="Only this customer's cases.")
@json_option
@pass_state
def list_(state: CliState, escalated: bool, status: str | None, customer_id: int | None) -> None:
    """List cases, newest first.

    \b
    Example:
      licensesvc case list --escalated
    """
    if escalated and status not in (None, CaseStatus.ESCALATED):
        raise click.UsageError("--escalated and --status disagree; give one of them")
    with state.unit_of_work() as ctx:
        rows = [
            serialize.case(c)
            for c in key_requests.list_cases(
                ctx, customer_id=customer_id, status=CaseStatus.ESCALATED if escalated else status
            )
        ]
    emit(state.json, rows, lambda: table(rows, COLUMNS))


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
        data = serialize.case(key_requests.get_case(ctx, case_number))
    emit(state.json, data, lambda: _human_case(data))


@case.command("escalate")
@click.argument("case_number", metavar="CASE", type=LINE)
@click.option("--note", type=FREE_TEXT, help="What the customer said, for the reviewing analyst.")
@click.option("--severity", type=click.IntRange(1, 4), help="Severity 1 (critical) to 4 (low).")
@json_option
@pass_state
def escalate(state: CliState, case_number: str, note: str | None, severity: int | None) -> None:
    """Escalate a refused case on the customer's behalf (e.g. they phoned in).

    The case gets a respond-by time from the plan's response target, in the customer's
    region's business hours.

    \b
    Example:
      licensesvc case escalate CS-20260302-ABC234 --note "customer called: go-live Friday"
    """
    with state.unit_of_work() as ctx:
        data = serialize.case(key_requests.escalate_case(ctx, case_number, note, severity))
    emit(
        state.json,
        data,
        lambda: (
            f"escalated {data['case_number']}; respond by {data['respond_by']:%Y-%m-%dT%H:%M:%SZ}"
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
    with state.unit_of_work() as ctx:
        outcome = key_requests.grant_case(ctx, case_number, reason)
        assert outcome.key is not None
        data = serialize.case(outcome.case)
        data["key"] = serialize.key(outcome.key, ctx.now(), with_text=True)
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
    with state.unit_of_work() as ctx:
        data = serialize.case(key_requests.deny_case(ctx, case_number, reason))
    emit(state.json, data, lambda: f"denied {data['case_number']}: {printable(reason)}")
