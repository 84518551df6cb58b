"""`licensesvc license`: what each customer bought."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any

import click

from cli import serialize
from cli.host_param import HOST
from cli.output import emit, fields, json_option, table
from cli.pagination import echo_more_pages, page_options
from cli.params import COUNT, ISO_DATE, LINE, ROW_ID
from cli.state import CliState, pass_state

if TYPE_CHECKING:
    from licensesvc.readmodels import LicenseHistoryView

COLUMNS = [
    ("ID", "id"),
    ("CUSTOMER", "customer_id"),
    ("PRODUCT", "product"),
    ("AGENTS", "agents"),
    ("JOBS", "jobs"),
    ("HOST", "host"),
    ("FAILOVER", "failover_host"),
    ("EXPIRES", "expires_on"),
    ("RETIRED", "retired_at"),
]


def _history(lic: Any) -> LicenseHistoryView:
    """The license (a record the service returns) as its read model."""
    from licensesvc.readmodels import LicenseHistoryView

    return LicenseHistoryView.of(lic)


def license_record(lic: LicenseHistoryView) -> dict[str, Any]:
    """A license with its retirement and change history."""
    from licensesvc.presentation import dump

    data: dict[str, Any] = dump(lic)
    return data


def _human_license(data: dict[str, Any]) -> str:
    return fields(
        [
            ("license", data["id"]),
            ("customer", data["customer_id"]),
            ("product", data["product"]),
            ("agents", data["agents"]),
            ("jobs", data["jobs"]),
            ("host", data["host"]),
            ("failover host", data["failover_host"]),
            ("expires", data["expires_on"] or "never (perpetual)"),
            ("retired", data["retired_at"]),
            ("changes", len(data["changes"])),
        ]
    )


@click.group("license")
def license_group() -> None:
    """Create, list, update and retire licenses.

    \b
    Example:
      licensesvc license create --customer 1 --product "JAMS Scheduler" \\
          --agents 25 --jobs 5000 --host sched01.acme.example
      licensesvc license list --customer 1
    """


@license_group.command("create")
@click.option("--customer", "customer_id", type=ROW_ID, required=True, help="Customer id.")
@click.option(
    "--product", type=LINE, required=True, help="Product name, as the installer checks it."
)
@click.option("--agents", type=COUNT, required=True, help="Agent limit.")
@click.option("--jobs", type=COUNT, required=True, help="Job limit.")
@click.option("--host", type=HOST, required=True, help="Host the license is bound to.")
@click.option("--failover-host", type=HOST, help="Optional failover host.")
@click.option("--expires-on", type=ISO_DATE, help="Last day of the license (default: perpetual).")
@json_option
@pass_state
def create(
    state: CliState,
    customer_id: int,
    product: str,
    agents: int,
    jobs: int,
    host: str,
    failover_host: str | None,
    expires_on: date | None,
) -> None:
    """Create a license for a customer and print its id.

    \b
    Example:
      licensesvc license create --customer 1 --product "JAMS Scheduler" --agents 25 \\
          --jobs 5000 --host sched01.acme.example --failover-host dr01.acme.example
    """
    from licensesvc import accounts

    with state.unit_of_work() as ctx:
        data = serialize.license_(
            accounts.create_license(
                ctx, customer_id, product, agents, jobs, host, failover_host, expires_on
            )
        )
    emit(
        state.json,
        data,
        lambda: fields(
            [
                ("license", data["id"]),
                ("customer", data["customer_id"]),
                ("product", data["product"]),
                ("agents", data["agents"]),
                ("jobs", data["jobs"]),
                ("host", data["host"]),
                ("failover host", data["failover_host"]),
                ("expires", data["expires_on"] or "never (perpetual)"),
            ]
        ),
    )


@license_group.command("list")
@click.option("--customer", "customer_id", type=ROW_ID, help="Only this customer's licenses.")
@page_options
@json_option
@pass_state
def list_(state: CliState, customer_id: int | None, page: int, page_size: int) -> None:
    """List licenses, newest first, optionally of one customer.

    \b
    Example:
      licensesvc license list --customer 1
    """
    from licensesvc import accounts

    with state.unit_of_work() as ctx:
        found = accounts.page_licenses(ctx, customer_id, page=page, page_size=page_size)
        rows = [serialize.license_(lic) for lic in found.items]
    emit(state.json, rows, lambda: table(rows, COLUMNS))
    echo_more_pages(found, "licenses")


@license_group.command("update")
@click.argument("license_id", metavar="ID", type=int)
@click.option("--agents", type=int, help="New agent limit.")
@click.option("--jobs", type=int, help="New job limit.")
@click.option("--expires-on", type=ISO_DATE, help="New last day of the license.")
@click.option("--host", type=HOST, help="New host the license is bound to.")
@click.option("--failover-host", type=HOST, help="New failover host.")
@click.option("--reason", required=True, help="Why the license changes (history, audit trail).")
@json_option
@pass_state
def update(
    state: CliState,
    license_id: int,
    agents: int | None,
    jobs: int | None,
    expires_on: date | None,
    host: str | None,
    failover_host: str | None,
    reason: str,
) -> None:
    """Change a license's limits, expiry or hosts, with a reason.

    Each change is kept in the license's history (before and after). Keys already issued keep
    their claims; a replacement on the same host brings them up to date.

    \b
    Example:
      licensesvc license update 1 --agents 50 --reason "bought 25 more agents, order 88"
    """
    from licensesvc import accounts

    change = accounts.LicenseUpdate(
        agents=agents, jobs=jobs, expires_on=expires_on, host=host, failover_host=failover_host
    )
    with state.unit_of_work() as ctx:
        data = license_record(_history(accounts.update_license(ctx, license_id, change, reason)))
    emit(state.json, data, lambda: _human_license(data))


@license_group.command("retire")
@click.argument("license_id", metavar="ID", type=int)
@click.option("--reason", required=True, help="Why the license is retired (audit trail).")
@json_option
@pass_state
def retire(state: CliState, license_id: int, reason: str) -> None:
    """Retire a license: no more keys are issued for it.

    Keys already issued are not revoked (`key revoke SERIAL --code contract_ended` does that).

    \b
    Example:
      licensesvc license retire 1 --reason "server decommissioned, replaced by license 7"
    """
    from licensesvc import accounts

    with state.unit_of_work() as ctx:
        data = license_record(_history(accounts.retire_license(ctx, license_id, reason)))
    emit(state.json, data, lambda: _human_license(data))
