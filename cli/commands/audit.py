"""`licensesvc audit`: the hash-chained audit trail."""

from __future__ import annotations

import click

from cli import serialize
from cli.output import emit, json_option, print_json, table
from cli.pagination import MAX_PAGE_SIZE, echo_more_pages, page_options
from cli.params import ROW_ID
from cli.state import CliState, pass_state

COLUMNS = [
    ("ID", "id"),
    ("AT", "at"),
    ("ACTOR", "actor"),
    ("ACTION", "action"),
    ("ENTITY", "entity"),
    ("CUSTOMER", "customer_id"),
    ("REASON", "reason"),
]


@click.group()
def audit() -> None:
    """Read and verify the audit trail.

    \b
    Example:
      licensesvc audit list --customer 1 --limit 20
      licensesvc audit verify
    """


@audit.command("list")
@click.option("--customer", "customer_id", type=ROW_ID, help="Only records about this customer.")
@click.option(
    "--entity", help="Only records about one thing: key:SERIAL, case:CASE, license:ID, ..."
)
@click.option(
    "--limit",
    type=click.IntRange(1, MAX_PAGE_SIZE),
    hidden=True,
    help="The same as --page-size (kept for scripts written before pages).",
)
@page_options
@json_option
@pass_state
def list_(
    state: CliState,
    customer_id: int | None,
    entity: str | None,
    limit: int | None,
    page: int,
    page_size: int,
) -> None:
    """List audit records, newest first, a page at a time.

    \b
    Example:
      licensesvc audit list --customer 1 --page-size 20
      licensesvc audit list --entity case:CS-20260302-ABC234 --page 2
    """
    from licensesvc.platform import audit as audit_service

    with state.unit_of_work() as ctx:
        found = audit_service.page_records(
            ctx.session,
            customer_id=customer_id,
            entity=entity,
            page=page,
            page_size=limit or page_size,
        )
        rows = [serialize.audit_record(r) for r in found.items]
    emit(state.json, rows, lambda: table(rows, COLUMNS))
    echo_more_pages(found, "records")


@audit.command("verify")
@click.option(
    "--expect-head",
    metavar="HASH",
    help="Fail unless the trail still contains this head hash (noted from an earlier run).",
)
@json_option
@pass_state
def verify(state: CliState, expect_head: str | None) -> None:
    """Walk the hash chain; exit 1 naming the first bad record when it is broken.

    The chain shows edited, deleted and reordered records by itself. To catch records cut off
    the end, note the head hash it prints and pass it later with --expect-head.

    \b
    Example:
      licensesvc audit verify
      licensesvc audit verify --expect-head 3f5a...c2   # the head noted last week
    """
    from licensesvc.platform import audit as audit_service

    with state.unit_of_work() as ctx:
        report = audit_service.verify_chain(ctx.session, expect_head=expect_head)
    if state.json:
        print_json(report.as_dict())
    if not report.ok:
        raise click.ClickException(
            f"audit chain broken at record {report.first_bad_id}: {report.problem}"
        )
    if not state.json:
        emit(False, None, f"audit chain intact: {report.records} records, head {report.head}")
