"""`licensesvc contract`: support contracts and maintenance payments."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any

import click

from cli import serialize
from cli.output import emit, fields, json_option, table
from cli.pagination import echo_more_pages, page_options
from cli.params import COUNT, ISO_DATE, ROW_ID
from cli.state import CliState, pass_state
from licensesvc.domain import Plan, values

if TYPE_CHECKING:
    from licensesvc.platform.context import ServiceContext

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
    """Contracts over time: create, change plan, renew, terminate; the payment ledger.

    \b
    Example:
      licensesvc contract create --customer 1 --plan premium \\
          --start 2026-01-01 --end 2026-12-31 --paid-through 2026-12-31
      licensesvc contract renew --contract 1 --end 2027-12-31
      licensesvc contract record-payment --contract 2 --paid-through 2027-12-31
    """


PAYMENT_COLUMNS = [
    ("ENTRY", "id"),
    ("PAID THROUGH", "paid_through"),
    ("INVOICE", "invoice"),
    ("CORRECTION", "correction"),
    ("REASON", "reason"),
    ("RECORDED", "recorded_at"),
    ("BY", "recorded_by"),
]


def contract_record(ctx: ServiceContext, contract_id: int) -> dict[str, Any]:
    """A contract with its lifecycle: plan today, plan history, termination, renewal (the
    CLI's shape: the contract's row, then what changed; the first plan has no reason)."""
    from licensesvc import accounts

    c = accounts.get_contract(ctx, contract_id)
    detail = accounts.contract_detail(ctx, c)
    first, *changes = detail.plan_history
    data = serialize.contract(c)
    data.update(
        plan_today=detail.plan_today,
        plan_history=[{"plan": first.plan, "from": first.effective_from}]
        + [{"plan": p.plan, "from": p.effective_from, "reason": p.reason} for p in changes],
        terminated_on=detail.terminated_on,
        termination_reason=detail.termination_reason,
        renews=detail.renews,
    )
    return data


def _human(data: dict[str, Any]) -> str:
    history = ", ".join(f"{h['plan']} from {h['from']}" for h in data["plan_history"])
    return fields(
        [
            ("contract", data["id"]),
            ("customer", data["customer_id"]),
            ("plan", data["plan_today"]),
            ("plan history", history),
            ("term", f"{data['start']} .. {data['end']}"),
            ("terminated on", data["terminated_on"]),
            ("renews", data["renews"]),
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
    from licensesvc import accounts

    with state.unit_of_work() as ctx:
        made = accounts.create_contract(
            ctx, customer_id, plan, start, end, paid_through, grace_days
        )
        data = contract_record(ctx, made.id)
    emit(state.json, data, lambda: _human(data))


@contract.command("record-payment")
@click.option("--contract", "contract_id", type=ROW_ID, required=True, help="Contract id.")
@click.option(
    "--paid-through",
    type=ISO_DATE,
    required=True,
    help="Maintenance is now paid through this day (never past the contract's end).",
)
@click.option("--invoice", help="Invoice reference kept with the ledger entry.")
@click.option(
    "--correction",
    is_flag=True,
    help="Correct an earlier entry (may move the date back); needs --reason.",
)
@click.option("--reason", help="Why the ledger is corrected (with --correction).")
@json_option
@pass_state
def record_payment(
    state: CliState,
    contract_id: int,
    paid_through: date,
    invoice: str | None,
    correction: bool,
    reason: str | None,
) -> None:
    """Record a maintenance payment: a new ledger entry paid through the given day.

    Nothing is edited in place: a mistake is fixed by a correction entry with a reason. A
    payment for next year goes on the renewal (`contract renew`), never past this contract's
    end.

    \b
    Example:
      licensesvc contract record-payment --contract 1 --paid-through 2026-12-31 --invoice INV-4711
      licensesvc contract record-payment --contract 1 --paid-through 2026-06-30 \\
          --correction --reason "INV-4711 was for half a year"
    """
    from licensesvc import accounts

    with state.unit_of_work() as ctx:
        accounts.record_payment(
            ctx,
            contract_id,
            paid_through,
            invoice=invoice,
            correction=correction,
            reason=reason,
        )
        data = contract_record(ctx, contract_id)
    emit(state.json, data, lambda: _human(data))


@contract.command("payments")
@click.option("--contract", "contract_id", type=int, required=True, help="Contract id.")
@page_options
@json_option
@pass_state
def payments(state: CliState, contract_id: int, page: int, page_size: int) -> None:
    """List a contract's payment ledger, newest first (the first entry is what counts).

    \b
    Example:
      licensesvc contract payments --contract 1
    """
    from licensesvc import accounts

    with state.unit_of_work() as ctx:
        found = accounts.page_payments(ctx, contract_id, page=page, page_size=page_size)
        rows = [serialize.payment(p) for p in found.items]
    emit(state.json, rows, lambda: table(rows, PAYMENT_COLUMNS))
    echo_more_pages(found, "payments")


@contract.command("change-plan")
@click.option("--contract", "contract_id", type=int, required=True, help="Contract id.")
@click.option("--plan", type=click.Choice(values(Plan)), required=True, help="The new plan.")
@click.option(
    "--from",
    "effective_from",
    type=ISO_DATE,
    required=True,
    help="First day of the new plan, inside the contract's term.",
)
@click.option("--reason", required=True, help="Why the plan changes (audit trail).")
@json_option
@pass_state
def change_plan(
    state: CliState, contract_id: int, plan: str, effective_from: date, reason: str
) -> None:
    """Change a contract's plan from a day inside its term.

    The contract stays the same contract: quota use in the contract year carries over, and
    the plan history keeps every change.

    \b
    Example:
      licensesvc contract change-plan --contract 1 --plan premium --from 2026-07-01 \\
          --reason "upgrade signed, order 1234"
    """
    from licensesvc import accounts

    with state.unit_of_work() as ctx:
        accounts.change_plan(ctx, contract_id, plan, effective_from, reason)
        data = contract_record(ctx, contract_id)
    emit(state.json, data, lambda: _human(data))


@contract.command("renew")
@click.option("--contract", "contract_id", type=int, required=True, help="Contract to renew.")
@click.option("--end", type=ISO_DATE, required=True, help="Last day of the renewed term.")
@click.option(
    "--plan",
    type=click.Choice(values(Plan)),
    help="Plan of the renewal (default: the current one).",
)
@click.option(
    "--paid-through",
    type=ISO_DATE,
    help="Maintenance of the renewal is paid through this day (default: nothing paid yet).",
)
@json_option
@pass_state
def renew(
    state: CliState, contract_id: int, end: date, plan: str | None, paid_through: date | None
) -> None:
    """Renew a contract: a successor contract from the day after its end.

    The old contract and its history stay; quotas restart with the new term.

    \b
    Example:
      licensesvc contract renew --contract 1 --end 2027-12-31 --paid-through 2027-12-31
    """
    from licensesvc import accounts

    with state.unit_of_work() as ctx:
        renewal = accounts.renew_contract(
            ctx, contract_id, end, plan=plan, paid_through=paid_through
        )
        data = contract_record(ctx, renewal.id)
    emit(state.json, data, lambda: _human(data))


@contract.command("terminate")
@click.option("--contract", "contract_id", type=int, required=True, help="Contract id.")
@click.option(
    "--on", "on", type=ISO_DATE, required=True, help="The last covered day; no keys after it."
)
@click.option("--reason", required=True, help="Why the contract ends early (audit trail).")
@json_option
@pass_state
def terminate(state: CliState, contract_id: int, on: date, reason: str) -> None:
    """End a contract's term early: the given day is its last covered day.

    \b
    Example:
      licensesvc contract terminate --contract 1 --on 2026-09-30 --reason "customer insolvent"
    """
    from licensesvc import accounts

    with state.unit_of_work() as ctx:
        accounts.terminate_contract(ctx, contract_id, on, reason)
        data = contract_record(ctx, contract_id)
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
    from licensesvc import accounts

    with state.unit_of_work() as ctx:
        if customer_id is not None:
            found = accounts.get_customer(ctx, customer_id).contracts
        else:
            found = accounts.list_contracts(ctx)
        rows = [serialize.contract(k) for k in found]
    emit(state.json, rows, lambda: table(rows, COLUMNS))
