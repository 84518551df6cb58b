"""`licensesvc contract`: support contracts and maintenance payments."""

from __future__ import annotations

from datetime import date

import click

from cli import serialize
from cli.output import emit, fields, json_option, table
from cli.params import COUNT, ISO_DATE, ROW_ID
from cli.state import CliState, pass_state
from licensesvc.domain import Plan, values
from licensesvc.models import Contract
from licensesvc.services import customers

COLUMNS = [
    ("ID", "id"),
    ("CUSTOMER", "customer_id"),
    ("PLAN", "plan"),
    ("START", "start"),
    ("END", "end"),
    ("PAID THROUGH", "paid_through"),
    ("GRACE DAYS", "grace_days"),
]


@click.group()
def contract() -> None:
    """Create contracts, record maintenance payments, list contracts.

    \b
    Example:
      licensesvc contract create --customer 1 --plan premium \\
          --start 2026-01-01 --end 2026-12-31 --paid-through 2026-12-31
      licensesvc contract record-payment --contract 1 --paid-through 2027-12-31
    """


def _human(data: dict[str, object]) -> str:
    return fields(
        [
            ("contract", data["id"]),
            ("customer", data["customer_id"]),
            ("plan", data["plan"]),
            ("term", f"{data['start']} .. {data['end']}"),
            ("paid through", data["paid_through"]),
            ("grace days", data["grace_days"] if data["grace_days"] is not None else "default"),
        ]
    )


@contract.command("create")
@click.option("--customer", "customer_id", type=ROW_ID, required=True, help="Customer id.")
@click.option("--plan", type=click.Choice(values(Plan)), required=True, help="Support plan.")
@click.option("--start", type=ISO_DATE, required=True, help="First day of the contract.")
@click.option("--end", type=ISO_DATE, required=True, help="Last day of the contract.")
@click.option(
    "--paid-through", type=ISO_DATE, required=True, help="Maintenance is paid through this day."
)
@click.option(
    "--grace-days",
    type=COUNT,
    default=None,
    help="Days after paid-through that keys are still issued (default: the policy's).",
)
@json_option
@pass_state
def create(
    state: CliState,
    customer_id: int,
    plan: str,
    start: date,
    end: date,
    paid_through: date,
    grace_days: int | None,
) -> None:
    """Create a support contract for a customer and print its id.

    \b
    Example:
      licensesvc contract create --customer 1 --plan base \\
          --start 2026-01-01 --end 2026-12-31 --paid-through 2026-06-30 --grace-days 14
    """
    with state.unit_of_work() as ctx:
        data = serialize.contract(
            customers.create_contract(ctx, customer_id, plan, start, end, paid_through, grace_days)
        )
    emit(state.json, data, lambda: _human(data))


@contract.command("record-payment")
@click.option("--contract", "contract_id", type=ROW_ID, required=True, help="Contract id.")
@click.option(
    "--paid-through", type=ISO_DATE, required=True, help="Maintenance is now paid through this day."
)
@json_option
@pass_state
def record_payment(state: CliState, contract_id: int, paid_through: date) -> None:
    """Record a maintenance payment: maintenance is paid through the given day.

    \b
    Example:
      licensesvc contract record-payment --contract 1 --paid-through 2027-12-31
    """
    with state.unit_of_work() as ctx:
        data = serialize.contract(customers.record_payment(ctx, contract_id, paid_through))
    emit(state.json, data, lambda: _human(data))


@contract.command("list")
@click.option("--customer", "customer_id", type=ROW_ID, help="Only this customer's contracts.")
@json_option
@pass_state
def list_(state: CliState, customer_id: int | None) -> None:
    """List contracts, optionally of one customer.

    \b
    Example:
      licensesvc contract list --customer 1
    """
    from sqlalchemy import select

    with state.unit_of_work() as ctx:
        if customer_id is not None:
            found = customers.get_customer(ctx, customer_id).contracts
        else:
            found = list(ctx.session.scalars(select(Contract).order_by(Contract.id)))
        rows = [serialize.contract(k) for k in found]
    emit(state.json, rows, lambda: table(rows, COLUMNS))
