"""`licensesvc customer`: the vendor's customers."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from cli import serialize
from cli.output import emit, fields, json_option, printable, table
from cli.pagination import echo_more_pages, page_options
from cli.params import LINE, ROW_ID
from cli.state import CliState, pass_state
from licensesvc.domain import Region, values

if TYPE_CHECKING:
    from licensesvc.platform.pagination import Page

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
    from licensesvc import accounts

    with state.unit_of_work() as ctx:
        made = accounts.create_customer(ctx, name, region, holidays)
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
    from licensesvc import accounts

    if region is None and holidays is None:
        raise click.UsageError("give --region or --holidays (or both)")
    with state.unit_of_work() as ctx:
        changed = accounts.update_customer(ctx, customer_id, region=region, holidays=holidays)
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
@page_options
@json_option
@pass_state
def list_(state: CliState, search: str | None, page: int, page_size: int) -> None:
    """List the customers, newest first, or find one by name, contract ID or license ID.

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
    from licensesvc import accounts
    from licensesvc.platform.pagination import page_of_list

    with state.unit_of_work() as ctx:
        if search is None:
            found: Page[Any] = accounts.page_customers(ctx, page=page, page_size=page_size)
            rows = [serialize.customer(c) for c in found.items]
            columns = COLUMNS
        else:
            found = page_of_list(accounts.search_customers(ctx, search), page, page_size)
            rows = [serialize.customer(m.customer) | {"matched": m.matched} for m in found.items]
            columns = [*COLUMNS, ("MATCHED", "matched")]
    emit(state.json, rows, lambda: table(rows, columns))
    echo_more_pages(found, "customers")


@customer.command("show")
@click.argument("customer_id", metavar="ID", type=ROW_ID)
@json_option
@pass_state
def show(state: CliState, customer_id: int) -> None:
    """Show one customer on one screen: standing, contracts, payments, licenses, keys, cases.

    \b
    Standing: the plan and contract in force on the customer's own today, maintenance paid
    through (days left, or how long ago it lapsed), the grace period, and why a key would be
    refused today. Then each contract with its payment ledger (oldest entry first), the
    licenses (product, host, agent and job limits), the newest keys (serial, kind, status,
    product, host, expiry; `key list --customer ID` has them all), the open cases (refused
    or escalated, by respond-by, overdue flagged), the newest decided cases, and the Premium
    services (included, the contract year's upgrade used, last held, next due; `service
    record` records them).

    \b
    Example:
      licensesvc customer show 1
      licensesvc --json customer show 1 | jq .standing
    """
    from licensesvc import accounts

    with state.unit_of_work() as ctx:
        overview = accounts.customer_overview(ctx, customer_id)
    data = overview.as_dict()  # the human screen's values (dates as dates)
    emit(state.json, overview, lambda: render_overview(data))


LICENSE_LINE_COLUMNS = [
    ("ID", "id"),
    ("PRODUCT", "product"),
    ("AGENTS", "agents"),
    ("JOBS", "jobs"),
    ("HOST", "host"),
    ("FAILOVER", "failover_host"),
    ("EXPIRES", "expires_on"),
    ("RETIRED", "retired"),
]
KEY_LINE_COLUMNS = [
    ("SERIAL", "serial"),
    ("KIND", "kind"),
    ("STATUS", "status"),
    ("PRODUCT", "product"),
    ("HOST", "host"),
    ("ISSUED", "issued_at"),
    ("EXPIRES", "expires_at"),
]
CASE_LINE_COLUMNS = [
    ("CASE", "case_number"),
    ("STATUS", "status"),
    ("SEV", "severity"),
    ("KIND", "kind"),
    ("PRODUCT", "product"),
    ("REFUSAL", "refusal_code"),
    ("RESPOND BY", "respond_by"),
    ("OVERDUE", "overdue"),
    ("OWNER", "owner"),
]
PAYMENT_COLUMNS = [
    ("PAID THROUGH", "paid_through"),
    ("INVOICE", "invoice"),
    ("CORRECTION", "correction"),
    ("REASON", "reason"),
    ("RECORDED", "recorded_at"),
    ("BY", "recorded_by"),
]


def _indent(text: str) -> str:
    return "\n".join("  " + line for line in text.splitlines())


def _maintenance(st: dict[str, Any]) -> str:
    paid = st["maintenance_paid_through"]
    if paid is None:
        return "-"
    days = st["maintenance_days_left"]
    left = f"{days} days left" if days >= 0 else f"lapsed {-days} days ago"
    return f"paid through {paid.isoformat()} ({left})"


def render_overview(data: dict[str, Any]) -> str:
    """The human screen of `customer show` (data: CustomerOverview.as_dict())."""
    c = data["customer"]
    st = data["standing"]
    term = (
        f"{st['contract_start'].isoformat()} to {st['contract_end'].isoformat()}"
        f" ({'active' if st['contract_active'] else 'not active'}, contract {st['contract_id']})"
        if st["contract_id"] is not None
        else "no contract on record"
    )
    grace = (
        f"{st['grace_days']} days, until {st['grace_until'].isoformat()}"
        + (" (in grace now)" if st["in_grace_period"] else "")
        if st["grace_until"] is not None
        else "-"
    )
    blocks = [
        fields(
            [
                ("customer", f"{printable(c['name'])} (id {c['id']})"),
                ("region", f"{c['region']}, holidays {c['holidays']}"),
                ("as of", st["as_of"]),
                ("plan", st["plan"]),
                ("contract", term),
                ("maintenance", _maintenance(st)),
                ("grace", grace),
                (
                    "keys today",
                    "would be issued"
                    if st["refusal_code"] is None
                    else f"refused: {st['refusal_code']}: {printable(st['refusal_message'])}",
                ),
            ]
        )
    ]
    contracts = []
    for k in data["contracts"]:
        head = (
            f"contract {k['id']}: {k['plan_today']} {k['start'].isoformat()} to "
            f"{k['effective_end'].isoformat()}, paid through {k['paid_through'].isoformat()}"
            + (f", terminated on {k['terminated_on'].isoformat()}" if k["terminated_on"] else "")
            + (f", renews contract {k['renews']}" if k["renews"] else "")
        )
        ledger = table(k["payments"], PAYMENT_COLUMNS) if k["payments"] else "no payments"
        contracts.append(head + "\n" + _indent(ledger))
    blocks.append("Contracts\n" + ("\n".join(contracts) if contracts else "none"))
    blocks.append("Licenses\n" + table(data["licenses"], LICENSE_LINE_COLUMNS))
    shown = len(data["keys"])
    more = (
        f" (newest {shown} of {data['keys_total']}; key list --customer {c['id']})"
        if data["keys_total"] > shown
        else ""
    )
    blocks.append(f"Keys{more}\n" + table(data["keys"], KEY_LINE_COLUMNS))
    blocks.append("Open cases\n" + table(data["open_cases"], CASE_LINE_COLUMNS))
    blocks.append("Recent cases\n" + table(data["recent_cases"], CASE_LINE_COLUMNS))
    blocks.append("Premium services\n" + premium_services_table(data["premium_services"]))
    return "\n\n".join(blocks)


def _service_line(s: dict[str, Any]) -> dict[str, Any]:
    used = (
        f"{s['used_this_year']} of {s['per_contract_year']} this contract year"
        f" (resets {s['resets_on'].isoformat()})"
        if s["per_contract_year"] is not None and s["resets_on"] is not None
        else "-"
    )
    due = s["next_due"].isoformat() if s["next_due"] else "-"
    return {
        "service": s["service"],
        "included": "yes" if s["included"] else "no (Premium)",
        "used": used,
        "last_held": s["last_held"] or "-",
        "next_due": due + (" (overdue)" if s["overdue"] else ""),
        "requested_for": s["requested_for"] or "-",
    }


def premium_services_table(services: list[dict[str, Any]]) -> str:
    """The Premium services block (services: PremiumServiceStatus.as_dict() each)."""
    return table(
        [_service_line(s) for s in services],
        [
            ("SERVICE", "service"),
            ("INCLUDED", "included"),
            ("USED", "used"),
            ("LAST HELD", "last_held"),
            ("NEXT DUE", "next_due"),
            ("REQUESTED FOR", "requested_for"),
        ],
    )
