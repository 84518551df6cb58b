"""`licensesvc report`: the analysts' reports, as a table, JSON (--json) or CSV (--csv)."""

from __future__ import annotations

import dataclasses
import io
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

import click

from cli.output import cell, iso, json_option, print_json, table
from cli.state import CliState, current_state, pass_state

if TYPE_CHECKING:
    from licensesvc.platform.context import ServiceContext

F = TypeVar("F", bound=Callable[..., Any])

# The reports' longest look-ahead (licensesvc/services/reports.py), restated so that `--help`
# loads no database layer; tests/cli/test_cli_startup.py checks that they agree.
MAX_DAYS = 3660


@click.group()
def report() -> None:
    """Reports for a support analyst's day: who lapses, who is in grace, what ends, what is
    used, what expires, what is overdue. Each prints a table; --json gives a list of objects,
    --csv a spreadsheet (header row, ISO dates).

    \b
    Example:
      licensesvc report maintenance-lapsing --days 30
      licensesvc report overdue-cases
      licensesvc report quota-use --csv > quota-use.csv
    """


def _csv_option(f: F) -> F:
    return click.option(
        "--csv",
        "as_csv",
        is_flag=True,
        help="Print CSV (a header row, then one row per line) for spreadsheets.",
    )(f)


def _days_option(default: int, what: str) -> Callable[[F], F]:
    return click.option(
        "--days",
        type=click.IntRange(0, MAX_DAYS),
        default=default,
        show_default=True,
        help=f"How many days ahead to look for {what}. Example: --days 60",
    )


#: what a spreadsheet takes for the start of a formula (OWASP's CSV injection list): a text
#: cell starting with one of these gets a leading `'`, so `=HYPERLINK(...)` stays text
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _csv_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if hasattr(value, "isoformat"):
        return iso(value)
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return "'" + value
    return str(value)


def _print(
    rows: Sequence[Any],
    row_type: type,
    columns: Sequence[tuple[str, str]],
    as_csv: bool,
    empty: str,
) -> None:
    state = current_state()
    records = [dataclasses.asdict(row) for row in rows]
    if state.json:
        print_json(records)
    elif as_csv:
        import csv

        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        names = [field.name for field in dataclasses.fields(row_type)]
        writer.writerow(names)
        writer.writerows([[_csv_value(r[name]) for name in names] for r in records])
        click.echo(buffer.getvalue(), nl=False)
    elif not records:
        click.echo(empty)
    else:
        click.echo(table(records, columns))


def _run(
    state: CliState, as_csv: bool, fetch: Callable[[ServiceContext], Sequence[Any]]
) -> Sequence[Any]:
    if state.json and as_csv:
        raise click.UsageError("--json and --csv disagree; give one of them")
    with state.unit_of_work() as ctx:
        return fetch(ctx)


@report.command("maintenance-lapsing")
@_days_option(30, "paid-through dates")
@json_option
@_csv_option
@pass_state
def maintenance_lapsing(state: CliState, days: int, as_csv: bool) -> None:
    """Active contracts whose maintenance is paid through a day in the next N days (before
    the contract itself ends), soonest first: the customers to remind of a payment.

    \b
    Example:
      licensesvc report maintenance-lapsing --days 30
    """
    from licensesvc import outreach

    rows = _run(state, as_csv, lambda ctx: outreach.maintenance_lapsing(ctx, days))
    _print(
        rows,
        outreach.MaintenanceLapsingRow,
        [
            ("CUSTOMER", "customer"),
            ("ID", "customer_id"),
            ("CONTRACT", "contract_id"),
            ("PLAN", "plan"),
            ("PAID THROUGH", "paid_through"),
            ("DAYS LEFT", "days_left"),
            ("CONTRACT END", "contract_end"),
        ],
        as_csv,
        f"no maintenance lapses in the next {days} days",
    )


@report.command("in-grace")
@json_option
@_csv_option
@pass_state
def in_grace(state: CliState, as_csv: bool) -> None:
    """Customers past their paid-through date but inside the grace period (keys are still
    issued until it ends), the nearest end of grace first.

    \b
    Example:
      licensesvc report in-grace --csv > in-grace.csv
    """
    from licensesvc import outreach

    rows = _run(state, as_csv, outreach.in_grace)
    _print(
        rows,
        outreach.InGraceRow,
        [
            ("CUSTOMER", "customer"),
            ("ID", "customer_id"),
            ("CONTRACT", "contract_id"),
            ("PLAN", "plan"),
            ("PAID THROUGH", "paid_through"),
            ("GRACE UNTIL", "grace_until"),
            ("DAYS LEFT", "grace_days_left"),
        ],
        as_csv,
        "no customer is in a grace period",
    )


@report.command("contracts-ending")
@_days_option(60, "contract end dates")
@json_option
@_csv_option
@pass_state
def contracts_ending(state: CliState, days: int, as_csv: bool) -> None:
    """Contracts whose last day is in the next N days, soonest first, and whether a later
    contract (a renewal) already follows.

    \b
    Example:
      licensesvc report contracts-ending --days 90
    """
    from licensesvc import outreach

    rows = _run(state, as_csv, lambda ctx: outreach.contracts_ending(ctx, days))
    _print(
        rows,
        outreach.ContractEndingRow,
        [
            ("CUSTOMER", "customer"),
            ("ID", "customer_id"),
            ("CONTRACT", "contract_id"),
            ("PLAN", "plan"),
            ("ENDS", "end"),
            ("DAYS LEFT", "days_left"),
            ("PAID THROUGH", "paid_through"),
            ("RENEWED", "renewed"),
        ],
        as_csv,
        f"no contract ends in the next {days} days",
    )


@report.command("quota-use")
@json_option
@_csv_option
@pass_state
def quota_use(state: CliState, as_csv: bool) -> None:
    """Per active contract: DR-test keys used this contract year against the yearly limit,
    and temporary keys active now against the limit (Premium), by customer name.

    \b
    Example:
      licensesvc report quota-use
    """
    from licensesvc import outreach

    rows = _run(state, as_csv, outreach.quota_use)
    _print(
        rows,
        outreach.QuotaUseRow,
        [
            ("CUSTOMER", "customer"),
            ("ID", "customer_id"),
            ("CONTRACT", "contract_id"),
            ("PLAN", "plan"),
            ("YEAR FROM", "year_start"),
            ("DR USED", "dr_test_used"),
            ("DR LIMIT", "dr_test_limit"),
            ("TEMP ACTIVE", "temporary_active"),
            ("TEMP LIMIT", "temporary_limit"),
        ],
        as_csv,
        "no active contracts",
    )


@report.command("keys-expiring")
@_days_option(30, "key expiry")
@json_option
@_csv_option
@pass_state
def keys_expiring(state: CliState, days: int, as_csv: bool) -> None:
    """Active keys that expire in the next N days, soonest first (DR-test windows and
    temporary keys ending, licenses with an expiry).

    \b
    Example:
      licensesvc report keys-expiring --days 14
    """
    from licensesvc import outreach

    rows = _run(state, as_csv, lambda ctx: outreach.keys_expiring(ctx, days))
    _print(
        rows,
        outreach.KeyExpiringRow,
        [
            ("SERIAL", "serial"),
            ("KIND", "kind"),
            ("CUSTOMER", "customer"),
            ("ID", "customer_id"),
            ("LICENSE", "license_id"),
            ("PRODUCT", "product"),
            ("HOST", "host"),
            ("EXPIRES", "expires_at"),
            ("DAYS LEFT", "days_left"),
        ],
        as_csv,
        f"no active key expires in the next {days} days",
    )


@report.command("overdue-cases")
@json_option
@_csv_option
@pass_state
def overdue_cases(state: CliState, as_csv: bool) -> None:
    """Escalated cases past their respond-by time, by the analyst who owns them
    ("unassigned" last), the most overdue first, with a count per analyst.

    \b
    Example:
      licensesvc report overdue-cases
    """
    from licensesvc import outreach

    rows = _run(state, as_csv, outreach.overdue_cases)
    _print(
        rows,
        outreach.OverdueCaseRow,
        [
            ("OWNER", "owner"),
            ("CASE", "case_number"),
            ("CUSTOMER", "customer"),
            ("SEV", "severity"),
            ("KIND", "kind"),
            ("RESPOND BY", "respond_by"),
            ("HOURS OVERDUE", "hours_overdue"),
        ],
        as_csv,
        "no overdue cases",
    )
    if rows and not state.json and not as_csv:
        counts: dict[str, int] = {}
        for row in rows:
            counts[row.owner] = counts.get(row.owner, 0) + 1
        click.echo("")
        click.echo(
            "overdue by owner: " + ", ".join(f"{owner} {cell(n)}" for owner, n in counts.items())
        )
