"""`licensesvc license`: what each customer bought."""

from __future__ import annotations

from datetime import date

import click

from cli import serialize
from cli.host_param import HOST
from cli.output import emit, fields, json_option, table
from cli.params import COUNT, ISO_DATE, LINE, ROW_ID
from cli.state import CliState, pass_state
from licensesvc.services import customers

COLUMNS = [
    ("ID", "id"),
    ("CUSTOMER", "customer_id"),
    ("PRODUCT", "product"),
    ("AGENTS", "agents"),
    ("JOBS", "jobs"),
    ("HOST", "host"),
    ("FAILOVER", "failover_host"),
    ("EXPIRES", "expires_on"),
]


@click.group("license")
def license_group() -> None:
    """Create and list licenses.

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
    with state.unit_of_work() as ctx:
        data = serialize.license_(
            customers.create_license(
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
@json_option
@pass_state
def list_(state: CliState, customer_id: int | None) -> None:
    """List licenses, optionally of one customer.

    \b
    Example:
      licensesvc license list --customer 1
    """
    with state.unit_of_work() as ctx:
        if customer_id is not None:
            customers.get_customer(ctx, customer_id)  # unknown id: one clear line
        rows = [serialize.license_(lic) for lic in customers.list_licenses(ctx, customer_id)]
    emit(state.json, rows, lambda: table(rows, COLUMNS))
