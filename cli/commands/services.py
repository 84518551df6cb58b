"""`licensesvc service`: the Premium services an analyst records for a customer (a major
upgrade, the annual health check, the bi-annual support review)."""

from __future__ import annotations

from datetime import date
from typing import Any

import click

from cli.output import emit, fields, json_option
from cli.params import FREE_TEXT, ISO_DATE, ROW_ID
from cli.state import CliState, pass_state
from licensesvc.domain import PremiumService, values

SERVICE = click.Choice(values(PremiumService))


@click.group("service")
def service() -> None:
    """Premium services: record a major upgrade, a health check or a support review.

    The Premium plan includes one major upgrade per contract year with support outside
    business hours (LICENSESVC_POLICY_UPGRADES_PER_CONTRACT_YEAR, default 1), counted from
    its request; the annual health check (every 12 months) and the bi-annual support review
    (every 6 months), each due that long after the last one held, or after Premium cover
    began. `customer show` and the customer's entitlements show each one: included, used this
    contract year, last held, next due.

    \b
    Example:
      licensesvc service record 1 support_review --held-on 2026-03-02
    """


def _human(data: dict[str, Any]) -> str:
    day = data["held_on"] or data["planned_on"]
    return fields(
        [
            ("service", data["service"]),
            ("status", data["status"]),
            ("held on" if data["held_on"] else "planned for", day),
            ("customer", data["customer_id"]),
            ("contract", f"{data['contract_id']} (year from {data['contract_year_start']})"),
            ("note", data["note"] or "-"),
        ]
    )


@service.command("request")
@click.argument("customer_id", metavar="CUSTOMER", type=ROW_ID)
@click.argument("name", metavar="SERVICE", type=SERVICE)
@click.option(
    "--planned-on",
    type=ISO_DATE,
    required=True,
    help="The day it is planned for (YYYY-MM-DD, today or later, in a Premium term).",
)
@click.option("--note", type=FREE_TEXT, help="What was asked for (kept on the record).")
@json_option
@pass_state
def request(
    state: CliState, customer_id: int, name: str, planned_on: date, note: str | None
) -> None:
    """Record that a Premium customer asked for a service on a planned day.

    A major upgrade counts against its contract year's allowance from now; a second one in
    the same contract year is refused `quota_exceeded`, a Base plan `plan_not_eligible`.
    Record it held with `service record` once it took place.

    \b
    Example:
      licensesvc service request 1 upgrade --planned-on 2026-06-13 --note "v7 to v8, in place"
    """
    from licensesvc import accounts

    view = state.retried(
        lambda ctx: accounts.request_service(ctx, customer_id, name, planned_on, note)
    )
    emit(state.json, view, lambda: _human(view.as_dict()))


@service.command("record")
@click.argument("customer_id", metavar="CUSTOMER", type=ROW_ID)
@click.argument("name", metavar="SERVICE", type=SERVICE)
@click.option(
    "--held-on",
    type=ISO_DATE,
    required=True,
    help="The day it took place (YYYY-MM-DD, today or before, in a Premium term).",
)
@click.option("--note", type=FREE_TEXT, help="What was done (kept on the record).")
@json_option
@pass_state
def record(state: CliState, customer_id: int, name: str, held_on: date, note: str | None) -> None:
    """Record a Premium service held on a day: an upgrade, a health check or a review.

    The open request for the service, if any, becomes held; otherwise a new record, which
    for a major upgrade counts against its contract year's allowance. The next health check
    is then due 12 months later, the next review 6 months later.

    \b
    Example:
      licensesvc service record 1 health_check --held-on 2026-03-02
    """
    from licensesvc import accounts

    view = state.retried(lambda ctx: accounts.record_service(ctx, customer_id, name, held_on, note))
    emit(state.json, view, lambda: _human(view.as_dict()))
