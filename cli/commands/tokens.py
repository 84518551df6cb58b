"""`licensesvc token`: API tokens for customers and analysts."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import click

from cli import serialize
from cli.output import emit, fields, json_option, table
from cli.pagination import echo_more_pages, page_options
from cli.params import ISO_DATE, LINE, ROW_ID
from cli.state import CliState, pass_state

COLUMNS = [
    ("ID", "id"),
    ("PREFIX", "prefix"),
    ("NAME", "name"),
    ("CUSTOMER", "customer_id"),
    ("ANALYST", "analyst"),
    ("MADE BY", "created_by"),
    ("CREATED", "created_at"),
    ("EXPIRES", "expires_at"),
    ("LAST USED", "last_used_at"),
    ("REVOKED", "revoked_at"),
]

#: the longest --expires-in (the service refuses more than ten years too)
MAX_DAYS = 3650


def _expiry(now: datetime, days: int | None, on: date | None) -> datetime | None:
    """When a token made now with --expires-in DAYS or --expires-on DATE stops working: DAYS
    from now, or the end of DATE (23:59:59 UTC, as a license's expires_on). None without
    either."""
    if days is not None and on is not None:
        raise click.UsageError("give --expires-in or --expires-on, not both")
    if days is not None:
        return now + timedelta(days=days)
    if on is not None:
        return datetime.combine(on, time(23, 59, 59), UTC)
    return None


@click.group()
def token() -> None:
    """Create, list and revoke API tokens.

    \b
    Example:
      licensesvc token create --customer 1
      licensesvc token list
    """


@token.command("create")
@click.option("--customer", "customer_id", type=ROW_ID, help="A token for this customer's API.")
@click.option("--analyst", type=LINE, help="A token for this analyst (the whole API).")
@click.option(
    "--expires-in",
    "expires_in",
    type=click.IntRange(1, MAX_DAYS),
    metavar="DAYS",
    help="The token stops working this many days from now (1 to 3650). Example: --expires-in 90",
)
@click.option(
    "--expires-on",
    "expires_on",
    type=ISO_DATE,
    help="The token works through this day (UTC) and then stops. Example: --expires-on 2027-06-30",
)
@click.option(
    "--name",
    type=LINE,
    help="What the token is for, shown in lists (at most 100 characters). "
    "Example: --name 'nightly deploy'",
)
@json_option
@pass_state
def create(
    state: CliState,
    customer_id: int | None,
    analyst: str | None,
    expires_in: int | None,
    expires_on: date | None,
    name: str | None,
) -> None:
    """Create a token for one customer or one analyst; it is shown this once.

    Without --expires-in or --expires-on the token works until it is revoked. An expired
    token is refused with 401 `unauthorized`, saying that it expired.

    \b
    Example:
      licensesvc token create --customer 1 --expires-in 365 --name 'nightly deploy'
      licensesvc token create --analyst alice --expires-on 2027-06-30
    """
    from licensesvc import identity

    with state.unit_of_work() as ctx:
        expires_at = _expiry(ctx.now(), expires_in, expires_on)
        record, secret = identity.create_token(
            ctx, customer_id=customer_id, analyst=analyst, expires_at=expires_at, name=name
        )
        data = {**serialize.token(record), "token": secret}
    emit(
        state.json,
        data,
        lambda: (
            fields(
                [
                    ("token", data["token"]),
                    ("id", data["id"]),
                    ("name", data["name"]),
                    ("customer", data["customer_id"]),
                    ("analyst", data["analyst"]),
                    ("expires", data["expires_at"] or "never (until revoked)"),
                ]
            )
            + "\nkeep the token now: it is not stored and cannot be shown again"
        ),
    )


@token.command("list")
@page_options
@json_option
@pass_state
def list_(state: CliState, page: int, page_size: int) -> None:
    """List tokens, newest first: their prefixes (the tokens themselves are not stored),
    who made each (`user:<email>` for a portal user: disabling that user revokes it), expiry
    and last use.

    LAST USED is exact to the minute: a token used again within a minute of its recorded
    use is not written again.

    \b
    Example:
      licensesvc token list
    """
    from licensesvc import identity

    with state.unit_of_work() as ctx:
        found = identity.page_tokens(ctx, page=page, page_size=page_size)
        rows = [serialize.token(t) for t in found.items]
    emit(state.json, rows, lambda: table(rows, COLUMNS))
    echo_more_pages(found, "tokens")


@token.command("revoke")
@click.argument("token_id", metavar="ID", type=ROW_ID)
@json_option
@pass_state
def revoke(state: CliState, token_id: int) -> None:
    """Revoke a token; it stops working at once.

    \b
    Example:
      licensesvc token revoke 3
    """
    from licensesvc import identity

    with state.unit_of_work() as ctx:
        data = serialize.token(identity.revoke_token(ctx, token_id))
    emit(state.json, data, lambda: f"revoked token {data['id']} ({data['prefix']}...)")
