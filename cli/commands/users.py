"""`licensesvc user`: customer administrators who sign in to the portal."""

from __future__ import annotations

import sys

import click

from cli import serialize
from cli.output import emit, fields, json_option
from cli.params import LINE, ROW_ID
from cli.state import CliState, pass_state
from licensesvc.services import users


@click.group()
def user() -> None:
    """Create portal users.

    \b
    Example:
      printf '%s\\n' "$PASSWORD" | licensesvc user create --customer 1 \\
          --email admin@acme.example --password-stdin
    """


@user.command("create")
@click.option("--customer", "customer_id", type=ROW_ID, required=True, help="Customer id.")
@click.option("--email", type=LINE, required=True, help="The user's email, their sign-in name.")
@click.option(
    "--password-stdin",
    is_flag=True,
    help="Read the password from the first line of stdin (else: prompt without echo).",
)
@json_option
@pass_state
def create(state: CliState, customer_id: int, email: str, password_stdin: bool) -> None:
    """Create a portal user for a customer.

    \b
    Example:
      printf '%s\\n' "$PASSWORD" | licensesvc user create --customer 1 \\
          --email admin@acme.example --password-stdin
    """
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True, err=True)
    with state.unit_of_work() as ctx:
        data = serialize.user(users.create_user(ctx, customer_id, email, password))
    emit(
        state.json,
        data,
        lambda: fields(
            [("user", data["id"]), ("customer", data["customer_id"]), ("email", data["email"])]
        ),
    )
