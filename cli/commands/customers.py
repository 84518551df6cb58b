"""`licensesvc customer`: the vendor's customers."""

from __future__ import annotations

import click

from cli import serialize
from cli.output import emit, fields, json_option, table
from cli.params import LINE, ROW_ID
from cli.state import CliState, pass_state
from licensesvc.domain import Region, values
from licensesvc.services import customers, licenses

COLUMNS = [("ID", "id"), ("NAME", "name"), ("REGION", "region"), ("CREATED", "created_at")]
HOLIDAYS_HELP = (
    "Holiday calendar: country or country-subdivision of the holidays package "
    "(GB-ENG, US, AU-NSW, DE-BY, ...); default: the region's (emea GB-ENG, na US, apac AU-NSW)."
)


@click.group()
def customer() -> None:
    """Create, update and list customers.

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
@click.option("--holidays", metavar="CC[-SUB]", help=HOLIDAYS_HELP)
@json_option
@pass_state
def create(state: CliState, name: str, region: str, holidays: str | None) -> None:
    """Create a customer and print its id.

    \b
    Example:
      licensesvc customer create --name "Globex Manufacturing" --region emea
    """
    with state.unit_of_work() as ctx:
        made = customers.create_customer(ctx, name, region, holidays)
        data = serialize.customer(made) | {"holidays": made.holidays}
    emit(state.json, data, lambda: _human_customer(data))


def _human_customer(data: dict[str, object]) -> str:
    return fields(
        [
            ("customer", data["id"]),
            ("name", data["name"]),
            ("region", data["region"]),
            ("holidays", data["holidays"]),
        ]
    )


@customer.command("update")
@click.argument("customer_id", metavar="ID", type=int)
@click.option(
    "--region",
    type=click.Choice(values(Region)),
    help="New support region (a customer on the old region's holidays takes the new one's).",
)
@click.option("--holidays", metavar="CC[-SUB]", help=HOLIDAYS_HELP)
@json_option
@pass_state
def update(state: CliState, customer_id: int, region: str | None, holidays: str | None) -> None:
    """Change a customer's support region or holiday calendar.

    Respond-by and next-update times count business hours of the region, skipping the
    calendar's holidays.

    \b
    Example:
      licensesvc customer update 2 --holidays GB-SCT
      licensesvc customer update 3 --region apac
    """
    if region is None and holidays is None:
        raise click.UsageError("give --region or --holidays (or both)")
    with state.unit_of_work() as ctx:
        changed = licenses.update_customer(ctx, customer_id, region=region, holidays=holidays)
        data = serialize.customer(changed) | {"holidays": changed.holidays}
    emit(state.json, data, lambda: _human_customer(data))


@customer.command("list")
@click.option(
    "--search",
    type=LINE,
    metavar="TEXT",
    help="Only customers whose name contains TEXT (any case; names starting with it first), "
    "or, for a number, the owner of contract TEXT or license TEXT. Example: --search acme",
)
@json_option
@pass_state
def list_(state: CliState, search: str | None) -> None:
    """List every customer, or find one by name, contract ID or license ID.

    With --search the table gains a MATCHED column saying why each customer is listed:
    "contract 12" or "license 12" (a number finds the customer owning that contract or
    license, listed first), "name starts with", then "name contains". Case is ignored
    (ASCII letters on SQLite); % and _ match themselves.

    \b
    Example:
      licensesvc customer list
      licensesvc customer list --search acme
      licensesvc --json customer list --search 12
    """
    with state.unit_of_work() as ctx:
        if search is None:
            rows = [serialize.customer(c) for c in customers.list_customers(ctx)]
            columns = COLUMNS
        else:
            rows = [
                serialize.customer(m.customer) | {"matched": m.matched}
                for m in customers.search_customers(ctx, search)
            ]
            columns = [*COLUMNS, ("MATCHED", "matched")]
    emit(state.json, rows, lambda: table(rows, columns))


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
    data = serialize.customer(overview.customer) | {"holidays": overview.customer.holidays}
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
                        ("holidays", data["holidays"]),
                        ("created", data["created_at"]),
                    ]
                ),
                "Contracts\n" + table(data["contracts"], CONTRACT_COLUMNS),
                "Licenses\n" + table(data["licenses"], LICENSE_COLUMNS),
            ]
        )

    emit(state.json, data, human)
