"""`licensesvc case`: key-request cases, escalations and analysts' decisions."""

from __future__ import annotations

import inspect
import textwrap
from datetime import datetime, tzinfo
from typing import TYPE_CHECKING, Any

import click

from cli import serialize
from cli.output import cell, emit, fields, json_option, printable, table
from cli.pagination import echo_more_pages, page_options
from cli.params import FREE_TEXT, LINE, ROW_ID
from cli.state import CliState, pass_state
from licensesvc.domain import CaseStatus, EscalationReason, values

if TYPE_CHECKING:
    from licensesvc.platform.context import ServiceContext
    from licensesvc.platform.pagination import Page
    from licensesvc.readmodels import CaseView, QueueLine

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
    ("SEV", "severity"),
    ("CUSTOMER", "customer_name"),
    ("PRODUCT", "product"),
    ("KIND", "kind"),
    ("OWNER", "owner"),
    ("AGE", "age"),
    ("RESPOND BY (UTC)", "respond_by"),
    ("RESPOND BY (LOCAL)", "respond_by_local"),
    ("RESPOND BY (CUSTOMER)", "respond_by_customer"),
    ("NEXT UPDATE", "next_update_due"),
    ("OVERDUE", "overdue"),
]
TZ_HELP = (
    "Time zone for the local respond-by column (IANA name, e.g. America/New_York); "
    "default: $TZ, else this machine's local zone. UTC is always shown beside it."
)


def tz_option(f: Any) -> Any:
    """`--tz ZONE` (default $TZ): the analyst's zone for local times beside UTC."""
    return click.option("--tz", "tz_name", metavar="ZONE", envvar="TZ", help=TZ_HELP)(f)


def local_zone(tz_name: str | None) -> tzinfo:
    """The zone --tz or $TZ names (a leading ':' as in TZ=:Europe/Paris ignored), else the
    machine's local zone. Raises click.BadParameter for a zone that does not exist."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    name = (tz_name or "").strip().lstrip(":")
    if not name:
        zone = datetime.now().astimezone().tzinfo
        assert zone is not None
        return zone
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise click.BadParameter(
            f"unknown time zone {name!r}; use an IANA name such as Europe/London",
            param_hint="'--tz' / $TZ",
        ) from None


def local_time(moment: datetime | None, zone: tzinfo) -> str | None:
    """moment in zone, as `2026-03-02 14:00 EST` (None stays None)."""
    if moment is None:
        return None
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M %Z")


def _age(hours: int) -> str:
    return f"{hours // 24}d{hours % 24}h" if hours >= 24 else f"{hours}h"


def queue_row(line: QueueLine, zone: tzinfo, *, human: bool) -> dict[str, Any]:
    """A queue line with respond-by in the local zone beside UTC: ISO with its offset for
    --json, `2026-03-02 14:00 EST` and an age like 1d4h for the table."""
    from zoneinfo import ZoneInfo  # only when a queue is printed: --help stays light

    row = line.as_dict()
    customers_zone = ZoneInfo(line.customer_timezone)
    if human:
        row["respond_by_local"] = local_time(line.respond_by, zone)
        row["respond_by_customer"] = local_time(line.respond_by, customers_zone)
        row["age"] = _age(line.age_hours)
    else:
        for name, in_zone in (("respond_by_local", zone), ("respond_by_customer", customers_zone)):
            row[name] = (
                line.respond_by.astimezone(in_zone).isoformat(timespec="seconds")
                if line.respond_by
                else None
            )
    return row


def analyst_view(ctx: ServiceContext, case_number: str) -> CaseView:
    """A case as an analyst sees it: the support plan's view (overdue, phone), its owner, its
    status updates (the customer sees them) and its internal notes (analysts only)."""
    from licensesvc import cases, issuance

    return cases.analyst_case_view(ctx, issuance.get_case(ctx, case_number))


def case_record(ctx: ServiceContext, case_number: str) -> dict[str, Any]:
    """The analyst's view of a case as the CLI prints it (AnalystCaseSchema), with the
    customer by name beside its id."""
    return _record(ctx, analyst_view(ctx, case_number))


def _record(ctx: ServiceContext, view: CaseView) -> dict[str, Any]:
    from licensesvc import accounts

    data: dict[str, Any] = {}
    for name, value in serialize.analyst_case(view).items():
        data[name] = value
        if name == "customer_id":
            data["customer"] = accounts.get_customer(ctx, view.customer_id).name
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
@page_options
@tz_option
@json_option
@pass_state
def list_(
    state: CliState,
    escalated: bool,
    overdue: bool,
    status: str | None,
    customer_id: int | None,
    tz_name: str | None,
    page: int,
    page_size: int,
) -> None:
    """List cases, newest first; escalated ones as the queue, by respond-by.

    \b
    With --escalated or --overdue, the queue: earliest respond-by first, each case with its
    severity, customer name, product, owner (`case assign`), age since the escalation
    (e.g. 1d4h), respond-by in UTC, in your local time (--tz, else $TZ, else this
    machine's zone) and in the customer's (its region's zone), the next status update due,
    and OVERDUE yes when the respond-by passed without a response or the next update is
    late. --overdue keeps only those. --json gives each row's respond_by (UTC),
    respond_by_local and respond_by_customer (ISO with offset), customer_timezone,
    age_hours, overdue_reason and the customer's id as well.

    \b
    Example:
      licensesvc case list --escalated
      licensesvc case list --overdue --tz Europe/London
      TZ=America/New_York licensesvc case list --escalated --customer 3
    """
    from licensesvc import cases, issuance

    if (escalated or overdue) and status not in (None, CaseStatus.ESCALATED):
        raise click.UsageError("--escalated/--overdue and --status disagree; give one of them")
    zone = local_zone(tz_name)
    with state.unit_of_work() as ctx:
        if escalated or overdue or status == CaseStatus.ESCALATED:
            queue = cases.page_escalated(
                ctx, customer_id=customer_id, overdue_only=overdue, page=page, page_size=page_size
            )
            rows = [
                queue_row(line, zone, human=not state.json)
                for line in cases.queue_lines(ctx, list(queue.items))
            ]
            columns = ESCALATED_COLUMNS
            found: Page[Any] = queue
        else:
            found = issuance.page_cases(
                ctx, customer_id=customer_id, status=status, page=page, page_size=page_size
            )
            rows = [serialize.case(c) for c in found.items]
            columns = COLUMNS
    emit(state.json, rows, lambda: table(rows, columns))
    echo_more_pages(found, "cases")


@case.command("show")
@click.argument("case_number", metavar="CASE", type=LINE)
@tz_option
@json_option
@pass_state
def show(state: CliState, case_number: str, tz_name: str | None) -> None:
    """Show one case: refusal, escalation, owner, deadlines, decision, updates and notes.

    Respond-by is shown in UTC and in your local time (--tz, else $TZ, else this machine's
    zone). Updates are what the customer reads (`case update`); notes are internal
    (`case note`): analysts only, never shown to the customer.

    \b
    Example:
      licensesvc case show CS-20260302-ABC234
      licensesvc case show CS-20260302-ABC234 --tz Australia/Sydney
    """

    zone = local_zone(tz_name)
    with state.unit_of_work() as ctx:
        view = analyst_view(ctx, case_number)
        data = _record(ctx, view)
    respond_by = view.respond_by
    data["respond_by_local"] = (
        respond_by.astimezone(zone).isoformat(timespec="seconds") if respond_by else None
    )

    def human() -> str:
        plain = {k: v for k, v in data.items() if k not in ("updates", "notes")}
        plain["respond_by_local"] = local_time(respond_by, zone)
        blocks = [_human_case(plain)]
        for title, entries in (
            ("Updates (the customer sees these)", data["updates"]),
            ("Notes (internal)", data["notes"]),
        ):
            lines = [
                f"  {cell(e['at'])}  {printable(e['author'])}: {printable(e['text'])}"
                for e in entries
            ]
            blocks.append(title + "\n" + ("\n".join(lines) if lines else "  none"))
        return "\n\n".join(blocks)

    emit(state.json, data, human)


@case.command("escalate")
@click.argument("case_number", metavar="CASE", type=LINE)
@click.option("--note", type=FREE_TEXT, help="What the customer said, for the reviewing analyst.")
@click.option(
    "--severity",
    type=click.IntRange(1, 4),
    help="Severity 1 (critical) to 4 (low), as defined below; default: the case's own.",
)
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
    severity changes, and for handling_concern at any time while it is open. The case gets
    a respond-by time (Sev 1: hours of the plan's after-hours cover; Sev 2-4: the region's
    business hours) and a next status update time. Sev 1 and 2 say that a phone call is
    required, with the support number.

    \b
    Example:
      licensesvc case escalate CS-20260302-ABC234 --note "customer called: go-live Friday"
      licensesvc case escalate CS-20260302-ABC234 --severity 1 --reason criticality_changed
    """
    from licensesvc import issuance

    data = state.retried(
        lambda ctx: case_record(
            ctx, issuance.escalate_case(ctx, case_number, note, severity, reason).case_number
        )
    )

    def human() -> str:
        line = (
            f"escalated {data['case_number']} ({data['escalation_reason']}, Sev "
            f"{data['severity']}); respond by {data['respond_by']}, next "
            f"update due {data['next_update_due']}"
        )
        return line + (f"\n{data['notice']}" if data["notice"] else "")

    emit(state.json, data, human)


def _severity_definitions() -> str:
    """The seed's definition of each severity, as `case escalate --help` lists them."""
    from licensesvc.domain import support_plan

    lines = ["\b", "Severities (the vendor's support overview):"]
    for s in support_plan.SEVERITIES:
        lines += textwrap.wrap(
            f"{s.level} - {s.name}: {s.definition}",
            width=78,
            initial_indent="  ",
            subsequent_indent="      ",
        )
    return "\n".join(lines)


escalate.help = f"{inspect.cleandoc(escalate.help or '')}\n\n{_severity_definitions()}"


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
    from licensesvc import cases

    def work(ctx: ServiceContext) -> dict[str, Any]:
        cases.post_case_update(ctx, case_number, text)
        return case_record(ctx, case_number)

    data = state.retried(work)
    emit(
        state.json,
        data,
        lambda: (
            f"updated {data['case_number']}; next update due {data['next_update_due']}"
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
    from licensesvc import issuance

    def work(ctx: ServiceContext) -> dict[str, Any]:
        outcome = issuance.grant_case(ctx, case_number, reason)
        assert outcome.key is not None
        data = case_record(ctx, outcome.case.case_number)
        data["key"] = serialize.key(outcome.key, ctx.now(), with_text=True)
        return data

    data = state.retried(work)
    expires = data["key"]["expires_at"]
    emit(
        state.json,
        data,
        lambda: (
            f"granted {data['case_number']}: key {data['key']['serial']} "
            f"({data['key']['kind']}, expires {expires or 'never'})"
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
    from licensesvc import issuance

    data = state.retried(
        lambda ctx: case_record(ctx, issuance.deny_case(ctx, case_number, reason).case_number)
    )
    emit(state.json, data, lambda: f"denied {data['case_number']}: {printable(reason)}")


@case.command("assign")
@click.argument("case_number", metavar="CASE", type=LINE)
@click.option(
    "--to",
    "owner",
    type=LINE,
    required=True,
    metavar="NAME",
    help="The analyst who owns the case from now on (shown as OWNER in the queue).",
)
@json_option
@pass_state
def assign(state: CliState, case_number: str, owner: str) -> None:
    """Give a refused or escalated case an owner in the queue (audited, with the previous
    owner). Assigning the owner it already has changes nothing.

    \b
    Example:
      licensesvc case assign CS-20260302-ABC234 --to bob
    """
    from licensesvc import cases

    data = state.retried(
        lambda ctx: case_record(ctx, cases.assign_case(ctx, case_number, owner).case_number)
    )
    emit(state.json, data, lambda: f"assigned {data['case_number']} to {printable(owner)}")


@case.command("note")
@click.argument("case_number", metavar="CASE", type=LINE)
@click.option(
    "--text",
    type=FREE_TEXT,
    required=True,
    help="The note: internal, for analysts only; the customer never sees it.",
)
@json_option
@pass_state
def note(state: CliState, case_number: str, text: str) -> None:
    """Add an internal note to a case: analysts only, never shown to the customer (not in
    the customer API, the portal or notifications). `case update` is what the customer sees.

    \b
    Example:
      licensesvc case note CS-20260302-ABC234 --text "called Dana, waiting on their change window"
    """
    from licensesvc import cases

    def work(ctx: ServiceContext) -> dict[str, Any]:
        added = cases.add_case_note(ctx, case_number, text)
        return {
            "case_number": case_number,
            "at": added.at,
            "author": added.author,
            "text": added.text,
        }

    data = state.retried(work)
    emit(state.json, data, lambda: f"noted on {case_number} (internal)")


@case.command("severity")
@click.argument("case_number", metavar="CASE", type=LINE)
@click.argument("severity", metavar="N", type=click.IntRange(1, 4))
@click.option(
    "--reason",
    type=FREE_TEXT,
    required=True,
    help="Why the severity changes (audit trail).",
)
@tz_option
@json_option
@pass_state
def severity(
    state: CliState, case_number: str, severity: int, reason: str, tz_name: str | None
) -> None:
    """Set a refused or escalated case's severity, 1 (critical) to 4 (low), with a reason.

    On an escalated case the deadlines count anew from now at the new severity, from the
    customer's support plan: respond-by (until an analyst has responded; Sev 1 in hours of
    the plan's after-hours cover, Sev 2-4 in the region's business hours) and the next
    status update. A raised severity (a lower number) on an escalated case tells the
    vendor's support address and the `case.escalated` webhooks, as an escalation does; a
    lowered one tells nobody.

    \b
    Example:
      licensesvc case severity CS-20260302-ABC234 1 --reason "production scheduler down"
    """
    from licensesvc import cases

    zone = local_zone(tz_name)
    view = state.retried(
        lambda ctx: analyst_view(
            ctx, cases.change_severity(ctx, case_number, severity, reason).case_number
        )
    )
    data = serialize.analyst_case(view)

    def human() -> str:
        line = f"{data['case_number']} is now Sev {data['severity']}"
        if view.status == CaseStatus.ESCALATED and view.respond_by:
            line += f"; respond by {data['respond_by']} ({local_time(view.respond_by, zone)})"
        return line + (f"\n{data['notice']}" if data["notice"] else "")

    emit(state.json, data, human)
