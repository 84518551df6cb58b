"""`licensesvc webhook`: endpoints that hear of events as they happen (Standard Webhooks)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from cli.output import emit, fields, json_option, table
from cli.pagination import echo_more_pages, page_options
from cli.params import LINE, ROW_ID
from cli.state import CliState, pass_state

if TYPE_CHECKING:
    from licensesvc import outreach

EVENT_NAMES = (
    "key.issued, key.superseded, key.revoked, case.refused, case.escalated, case.updated, "
    "case.decided, case.overdue"
)

COLUMNS = [
    ("ID", "id"),
    ("CUSTOMER", "customer"),
    ("URL", "url"),
    ("EVENTS", "events_text"),
    ("STATUS", "status"),
    ("CREATED", "created_at"),
]

DELIVERY_COLUMNS = [
    ("ID", "id"),
    ("WEBHOOK", "endpoint_id"),
    ("EVENT", "event"),
    ("WEBHOOK-ID", "message_id"),
    ("STATUS", "status"),
    ("TRIES", "attempts"),
    ("NEXT TRY", "next_try"),
    ("HTTP", "last_status_code"),
    ("LAST ERROR", "last_error"),
]


@click.group()
def webhook() -> None:
    """Webhook endpoints: signed HTTP POSTs (Standard Webhooks) for every event they subscribe
    to, delivered by `licensesvc notify send` and retried for more than 24 hours.

    Events: key.issued, key.superseded, key.revoked, case.refused, case.escalated,
    case.updated, case.decided, case.overdue. A URL is https and reaches only public
    addresses unless LICENSESVC_WEBHOOK_ALLOW names its network. See docs/webhooks.md.

    \b
    Example:
      licensesvc webhook add --url https://hooks.vendor.example/licensesvc \\
          --events case.escalated,case.overdue
      licensesvc webhook deliveries --status failed
    """


def _endpoint(view: outreach.EndpointView) -> dict[str, Any]:
    return {
        "id": view.id,
        "customer_id": view.customer_id,
        "url": view.url,
        "events": list(view.events),
        "status": view.status,
        "created_by": view.created_by,
        "created_at": view.created_at,
        "disabled_at": view.disabled_at,
    }


def _delivery(view: outreach.DeliveryView) -> dict[str, Any]:
    return {
        "id": view.id,
        "endpoint_id": view.endpoint_id,
        "customer_id": view.customer_id,
        "event": view.event,
        "message_id": view.message_id,
        "status": view.status,
        "attempts": view.attempts,
        "created_at": view.created_at,
        "next_attempt_at": view.next_attempt_at,
        "sent_at": view.sent_at,
        "last_status_code": view.last_status_code,
        "last_error": view.last_error,
    }


def _with_secret(state: CliState, made: outreach.EndpointWithSecret, what: str) -> None:
    data = {**_endpoint(made.endpoint), "secret": made.secret}
    emit(
        state.json,
        data,
        lambda: (
            fields(
                [
                    ("id", data["id"]),
                    ("url", data["url"]),
                    ("events", ", ".join(data["events"])),
                    ("customer", data["customer_id"] or "every customer"),
                    ("secret", data["secret"]),
                ]
            )
            + f"\nkeep the secret now ({what}): it cannot be shown again"
        ),
    )


@webhook.command("add")
@click.option("--url", required=True, type=LINE, help="Where to POST events (https).")
@click.option(
    "--events",
    required=True,
    type=LINE,
    help=f"Comma-separated event types: {EVENT_NAMES}. Example: --events key.issued,key.revoked",
)
@click.option(
    "--customer",
    "customer_id",
    type=ROW_ID,
    help="Only this customer's events (default: every customer's).",
)
@json_option
@pass_state
def add(state: CliState, url: str, events: str, customer_id: int | None) -> None:
    """Register an endpoint; its signing secret is shown this once.

    \b
    Example:
      licensesvc webhook add --url https://crm.vendor.example/hooks --events case.escalated
    """
    from licensesvc import outreach

    with state.unit_of_work() as ctx:
        made = outreach.add_endpoint(ctx, url, events.split(","), customer_id)
    _with_secret(state, made, "to verify signatures")


@webhook.command("list")
@click.option("--customer", "customer_id", type=ROW_ID, help="Only this customer's endpoints.")
@json_option
@pass_state
def list_(state: CliState, customer_id: int | None) -> None:
    """List endpoints, oldest first (never their secrets).

    \b
    Example:
      licensesvc webhook list
    """
    from licensesvc import outreach

    with state.unit_of_work() as ctx:
        rows = [_endpoint(v) for v in outreach.list_endpoints(ctx, customer_id)]
    shown = [
        {**r, "customer": r["customer_id"] or "all", "events_text": ",".join(r["events"])}
        for r in rows
    ]
    emit(state.json, rows, lambda: table(shown, COLUMNS) if shown else "no webhooks")


@webhook.command("disable")
@click.argument("endpoint_id", metavar="ID", type=ROW_ID)
@json_option
@pass_state
def disable(state: CliState, endpoint_id: int) -> None:
    """Stop sending to an endpoint; its pending deliveries are marked failed.

    \b
    Example:
      licensesvc webhook disable 3
    """
    from licensesvc import outreach

    with state.unit_of_work() as ctx:
        data = _endpoint(outreach.disable_endpoint(ctx, endpoint_id))
    emit(state.json, data, lambda: f"webhook {endpoint_id} is disabled")


@webhook.command("rotate-secret")
@click.argument("endpoint_id", metavar="ID", type=ROW_ID)
@json_option
@pass_state
def rotate_secret(state: CliState, endpoint_id: int) -> None:
    """Give an endpoint a new signing secret (shown this once); the next attempt of every
    delivery is signed with it.

    \b
    Example:
      licensesvc webhook rotate-secret 3
    """
    from licensesvc import outreach

    with state.unit_of_work() as ctx:
        made = outreach.rotate_secret(ctx, endpoint_id)
    _with_secret(state, made, "the old one no longer signs")


@webhook.command("deliveries")
@click.argument("endpoint_id", metavar="[ID]", type=ROW_ID, required=False)
@click.option(
    "--status",
    type=click.Choice(("pending", "sent", "failed")),
    help="Only deliveries in this state: pending (waiting or retrying), sent, failed.",
)
@page_options
@json_option
@pass_state
def deliveries(
    state: CliState, endpoint_id: int | None, status: str | None, page: int, page_size: int
) -> None:
    """List deliveries, newest first (of one endpoint with ID), with their webhook-id, tries,
    next try and last error.

    \b
    Example:
      licensesvc webhook deliveries 3 --status failed
    """
    from licensesvc import outreach

    with state.unit_of_work() as ctx:
        found = outreach.list_deliveries(
            ctx, endpoint_id, status=status, page=page, page_size=page_size
        )
    rows = [_delivery(v) for v in found.items]
    shown = [
        {
            **r,
            "next_try": r["next_attempt_at"] if r["status"] == "pending" else None,
            "last_error": (r["last_error"] or "").splitlines()[0][:60] if r["last_error"] else None,
        }
        for r in rows
    ]
    emit(state.json, rows, lambda: table(shown, DELIVERY_COLUMNS) if shown else "no deliveries")
    echo_more_pages(found, "deliveries")


@webhook.command("retry")
@click.argument("delivery_id", metavar="DELIVERY", type=ROW_ID)
@json_option
@pass_state
def retry(state: CliState, delivery_id: int) -> None:
    """Put a failed delivery back in the queue with the same webhook-id; the next
    `notify send` tries it again.

    \b
    Example:
      licensesvc webhook retry 42
    """
    from licensesvc import outreach

    with state.unit_of_work() as ctx:
        data = _delivery(outreach.retry_delivery(ctx, delivery_id))
    emit(state.json, data, lambda: f"delivery {delivery_id} is pending again")
