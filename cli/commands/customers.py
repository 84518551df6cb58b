"""`licensesvc customer`: the vendor's customers."""

from __future__ import annotations

import click

from cli import serialize
from cli.output import emit, fields, json_option, table
from cli.params import LINE, ROW_ID
from cli.state import CliState, pass_state
from licensesvc.domain import Region, values
from licensesvc.services import customers

COLUMNS = [("ID", "id"), ("NAME", "name"), ("REGION", "region"), ("CREATED", "created_at")]


@click.group()
def customer() -> None:
    """Create and list customers.

    \b
    Example:
      licensesvc customer create --name "Acme Logistics" --region na
      licensesvc customer list
    """


@customer.command("create")
@click.option("--name", type=LINE, required=True, help="The customer's name (unique).")
@click.option(
    "--region",
    type=click.Choice(values(Region)),
    default=Region.NA.value,
    show_default=True,
    help="Support region: its core hours and holidays set respond-by times.",
)
@json_option
@pass_state
def create(state: CliState, name: str, region: str) -> None:
    """Create a customer and print its id.

    \b
    Example:
      licensesvc customer create --name "Globex Manufacturing" --region emea
    """
    with state.unit_of_work() as ctx:
        data = serialize.customer(customers.create_customer(ctx, name, region))
    emit(
        state.json,
        data,
        lambda: fields(
            [("customer", data["id"]), ("name", data["name"]), ("region", data["region"])]
        ),
    )


@customer.command("list")
@json_option
@pass_state
def list_(state: CliState) -> None:
    """List every customer.

    \b
    Example:
      licensesvc customer list
    """
    with state.unit_of_work() as ctx:
        rows = [serialize.customer(c) for c in customers.list_customers(ctx)]
    emit(state.json, rows, lambda: table(rows, COLUMNS))


@customer.command("show")
@click.argument("customer_id", metavar="ID", type=ROW_ID)
@json_option
@pass_state
def show(state: CliState, customer_id: int) -> None:
    """Show a customer with its contracts and licenses.

    \b
    Example:
      licensesvc customer show 1
    """
    with state.unit_of_work() as ctx:
        overview = customers.customer_overview(ctx, customer_id)
    data = serialize.customer(overview.customer)
    data["contracts"] = [serialize.contract(k) for k in overview.contracts]
    data["licenses"] = [serialize.license_(lic) for lic in overview.licenses]

    def human() -> str:
        from cli.commands.contracts import COLUMNS as CONTRACT_COLUMNS
        from cli.commands.licenses import COLUMNS as LICENSE_COLUMNS

        return "\n\n".join(
            [
                fields(
                    [
                        ("customer", data["id"]),
                        ("name", data["name"]),
                        ("region", data["region"]),
                        ("created", data["created_at"]),
                    ]
                ),
                "Contracts\n" + table(data["contracts"], CONTRACT_COLUMNS),
                "Licenses\n" + table(data["licenses"], LICENSE_COLUMNS),
            ]
        )

    emit(state.json, data, human)
