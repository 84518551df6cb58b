"""`licensesvc token`: API tokens for customers and analysts."""

from __future__ import annotations

import click

from cli import serialize
from cli.output import emit, fields, json_option, table
from cli.params import LINE, ROW_ID
from cli.state import CliState, pass_state
from licensesvc.services import tokens

COLUMNS = [
    ("ID", "id"),
    ("PREFIX", "prefix"),
    ("CUSTOMER", "customer_id"),
    ("ANALYST", "analyst"),
    ("CREATED", "created_at"),
    ("REVOKED", "revoked_at"),
]


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
@json_option
@pass_state
def create(state: CliState, customer_id: int | None, analyst: str | None) -> None:
    """Create a token for one customer or one analyst; it is shown this once.

    \b
    Example:
      licensesvc token create --customer 1
      licensesvc token create --analyst alice
    """
    with state.unit_of_work() as ctx:
        record, secret = tokens.create_token(ctx, customer_id=customer_id, analyst=analyst)
        data = {**serialize.token(record), "token": secret}
    emit(
        state.json,
        data,
        lambda: (
            fields(
                [
                    ("token", data["token"]),
                    ("id", data["id"]),
                    ("customer", data["customer_id"]),
                    ("analyst", data["analyst"]),
                ]
            )
            + "\nkeep the token now: it is not stored and cannot be shown again"
        ),
    )


@token.command("list")
@json_option
@pass_state
def list_(state: CliState) -> None:
    """List tokens (their prefixes; the tokens themselves are not stored).

    \b
    Example:
      licensesvc token list
    """
    with state.unit_of_work() as ctx:
        rows = [serialize.token(t) for t in tokens.list_tokens(ctx)]
    emit(state.json, rows, lambda: table(rows, COLUMNS))


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
    with state.unit_of_work() as ctx:
        data = serialize.token(tokens.revoke_token(ctx, token_id))
    emit(state.json, data, lambda: f"revoked token {data['id']} ({data['prefix']}...)")
