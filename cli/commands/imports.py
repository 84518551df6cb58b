"""`licensesvc import`: bulk loading, all or nothing."""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, TypeVar

import click

from cli.output import emit, json_option
from cli.params import ISO_DATE
from cli.state import CliState, pass_state
from licensesvc.domain import Plan, Region, values

T = TypeVar("T")

CUSTOMER_COLUMNS = ("name", "region")
CONTRACT_COLUMNS = ("plan", "contract_start", "contract_end", "paid_through", "grace_days")
LICENSE_COLUMNS = (
    "product",
    "agents",
    "jobs",
    "host",
    "failover_host",
    "license_expires_on",
)
REQUIRED_HEADER = (
    "name",
    "plan",
    "contract_start",
    "contract_end",
    "paid_through",
    "product",
    "agents",
    "jobs",
    "host",
)
ALL_COLUMNS = CUSTOMER_COLUMNS + CONTRACT_COLUMNS + LICENSE_COLUMNS


class RowError(click.ClickException):
    def __init__(self, row: int, field: str, message: str) -> None:
        super().__init__(f"row {row}, {field}: {message}; nothing was imported")


@dataclass
class Row:
    number: int
    values: dict[str, str]

    def text(self, column: str, *, required: bool = False) -> str | None:
        value = (self.values.get(column) or "").strip()
        if not value:
            if required:
                raise RowError(self.number, column, "is required")
            return None
        return value

    def parse(
        self, column: str, parse: Callable[[str], T], expected: str, *, required: bool = False
    ) -> T | None:
        value = self.text(column, required=required)
        if value is None:
            return None
        try:
            return parse(value)
        except (ValueError, click.BadParameter):
            raise RowError(self.number, column, f"{value!r}: expected {expected}") from None

    def choice(
        self,
        column: str,
        choices: tuple[str, ...],
        *,
        required: bool = False,
        default: str | None = None,
    ) -> str | None:
        value = self.text(column, required=required) or default
        if value is not None and value not in choices:
            raise RowError(self.number, column, f"{value!r}: expected one of {', '.join(choices)}")
        return value


def _date(value: str) -> date:
    return ISO_DATE.convert(value, None, None)


def _count(value: str) -> int:
    number = int(value)
    if number < 0:
        raise ValueError(value)
    return number


@click.group("import")
def import_group() -> None:
    """Bulk imports.

    \b
    Example:
      licensesvc import customers docs/examples/customers.csv
    """


@import_group.command("customers")
@click.argument(
    "csv_file", metavar="FILE.csv", type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@json_option
@pass_state
def import_customers(state: CliState, csv_file: Path) -> None:
    """Import customers with their contracts and licenses from a CSV file, in ONE
    transaction: one bad row aborts the import naming the row and the field, and nothing is
    written. Rows are numbered like spreadsheet rows (the header is row 1).

    \b
    Columns (header row required; * = required):
      name*            customer name (new customers only)
      region           emea | na | apac (default na)
      plan*            base | premium
      contract_start*  YYYY-MM-DD
      contract_end*    YYYY-MM-DD
      paid_through*    YYYY-MM-DD, maintenance paid through
      grace_days       whole number (default: the policy's)
      product*         product name
      agents*          agent limit (whole number)
      jobs*            job limit (whole number)
      host*            host the license is bound to
      failover_host    optional failover host
      license_expires_on  YYYY-MM-DD (default: perpetual)
    A row repeating an earlier row's customer name adds another license to that customer;
    leave its contract columns empty (or fill them to add another contract).

    \b
    Example:
      licensesvc import customers docs/examples/customers.csv
    """
    import csv

    from licensesvc import accounts
    from licensesvc.domain.errors import ServiceError

    with csv_file.open(newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh)
        header = [name.strip() for name in reader.fieldnames or []]
        missing = [name for name in REQUIRED_HEADER if name not in header]
        if missing:
            raise click.ClickException(
                f"row 1 (header): missing column(s) {', '.join(missing)}; nothing was imported"
            )
        unknown = [name for name in header if name not in ALL_COLUMNS]
        if unknown:
            raise click.ClickException(
                f"row 1 (header): unknown column(s) {', '.join(unknown)}; nothing was imported"
            )
        reader.fieldnames = header
        rows = [
            Row(number, {k: v for k, v in values.items() if k is not None})
            for number, values in enumerate(reader, start=2)
            if any((v or "").strip() for v in values.values() if isinstance(v, str))
        ]
    summary: dict[str, Any] = {"customers": 0, "contracts": 0, "licenses": 0, "rows": len(rows)}
    created: dict[str, int] = {}
    with (
        state.unit_of_work() as ctx,
        click.progressbar(rows, label=f"importing {csv_file.name}", file=sys.stderr) as progress,
    ):
        for row in progress:
            name = row.text("name", required=True)
            assert name is not None
            repeat = name in created
            region = row.choice("region", tuple(values(Region)), default=Region.NA)
            plan = row.choice("plan", tuple(values(Plan)), required=not repeat)
            contract_given = plan is not None or any(
                row.text(column) for column in CONTRACT_COLUMNS
            )
            start = row.parse("contract_start", _date, "YYYY-MM-DD", required=contract_given)
            end = row.parse("contract_end", _date, "YYYY-MM-DD", required=contract_given)
            paid = row.parse("paid_through", _date, "YYYY-MM-DD", required=contract_given)
            grace = row.parse("grace_days", _count, "a whole number >= 0")
            if contract_given and plan is None:
                raise RowError(row.number, "plan", "is required")
            product = row.text("product", required=True)
            agents = row.parse("agents", _count, "a whole number >= 0", required=True)
            jobs = row.parse("jobs", _count, "a whole number >= 0", required=True)
            host = row.text("host", required=True)
            failover = row.text("failover_host")
            expires = row.parse("license_expires_on", _date, "YYYY-MM-DD")
            assert product and host and agents is not None and jobs is not None
            step = "name"
            try:
                if not repeat:
                    created[name] = accounts.create_customer(ctx, name, region or Region.NA).id
                    summary["customers"] += 1
                customer_id = created[name]
                if contract_given:
                    step = "contract"
                    assert plan and start and end and paid
                    accounts.create_contract(ctx, customer_id, plan, start, end, paid, grace)
                    summary["contracts"] += 1
                step = "license"
                accounts.create_license(
                    ctx, customer_id, product, agents, jobs, host, failover, expires
                )
                summary["licenses"] += 1
            except ServiceError as exc:
                raise RowError(row.number, step, f"{exc.code}: {exc.message}") from None
    emit(
        state.json,
        summary,
        f"imported {summary['customers']} customers, {summary['contracts']} contracts and "
        f"{summary['licenses']} licenses from {summary['rows']} rows",
    )
