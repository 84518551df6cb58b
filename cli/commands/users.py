"""`licensesvc user`: customer administrators who sign in to the portal."""

from __future__ import annotations

import sys

import click

from cli import serialize
from cli.output import emit, fields, json_option, printable, table
from cli.pagination import echo_more_pages, page_options
from cli.params import LINE, ROW_ID
from cli.state import CliState, pass_state


@click.group()
def user() -> None:
    """Create, list and disable portal users and start their password resets.

    \b
    Example:
      printf '%s\\n' "$PASSWORD" | licensesvc user create --customer 1 \\
          --email admin@acme.example --password-stdin
      licensesvc user list --customer 1
      licensesvc user disable 2
    """


COLUMNS = [
    ("ID", "id"),
    ("EMAIL", "email"),
    ("CUSTOMER", "customer_name"),
    ("DISABLED", "disabled_at"),
    ("LAST SIGN-IN", "last_signed_in_at"),
]


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
    from licensesvc import identity

    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True, err=True)
    with state.unit_of_work() as ctx:
        data = serialize.user(identity.create_user(ctx, customer_id, email, password))
    emit(
        state.json,
        data,
        lambda: fields(
            [("user", data["id"]), ("customer", data["customer_id"]), ("email", data["email"])]
        ),
    )


@user.command("reset-password")
@click.option("--email", help="The user's email.")
@click.option("--id", "user_id", type=int, help="The user's id (instead of --email).")
@click.option(
    "--base-url",
    envvar="LICENSESVC_PORTAL_URL",
    default="http://127.0.0.1:8000",
    show_default=True,
    help="Where the portal is served; the link starts with it (env LICENSESVC_PORTAL_URL).",
)
@json_option
@pass_state
def reset_password(state: CliState, email: str | None, user_id: int | None, base_url: str) -> None:
    """Print a one-time password-reset link for a portal user, to send to them.

    The link works once, for 24 hours; an earlier unused link of the user stops working.
    Only a hash of its token is stored.

    \b
    Example:
      licensesvc user reset-password --email admin@acme.example \\
          --base-url https://licenses.example.com
    """
    from licensesvc import identity

    if (email is None) == (user_id is None):
        raise click.UsageError("name the user with exactly one of --email or --id")
    with state.unit_of_work() as ctx:
        found = identity.find_user(ctx, email if email is not None else str(user_id))
        rec, token = identity.start_password_reset(ctx, found)
        data = {
            "user_id": found.id,
            "email": found.email,
            "link": f"{base_url.rstrip('/')}/reset-password/{token}",
            "expires_at": rec.expires_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
    emit(
        state.json,
        data,
        lambda: fields(
            [
                ("user", data["user_id"]),
                ("email", data["email"]),
                ("link", data["link"]),
                ("expires", data["expires_at"]),
            ]
        ),
    )


@user.command("list")
@click.option(
    "--customer",
    "customer_id",
    type=ROW_ID,
    help="Only this customer's users. Example: --customer 1",
)
@page_options
@json_option
@pass_state
def list_(state: CliState, customer_id: int | None, page: int, page_size: int) -> None:
    """List the portal users, newest first: email, customer, when disabled, last sign-in.

    \b
    Example:
      licensesvc user list
      licensesvc user list --customer 1
      licensesvc --json user list --page 2 --page-size 100
    """
    from licensesvc import identity

    with state.unit_of_work() as ctx:
        found = identity.page_users(ctx, customer_id, page=page, page_size=page_size)
        rows = [serialize.user(u) | {"customer_name": u.customer.name} for u in found.items]
    emit(state.json, rows, lambda: table(rows, COLUMNS))
    echo_more_pages(found, "users")


@user.command("disable")
@click.argument("user_id", metavar="ID", type=ROW_ID)
@click.option("--reason", type=LINE, help="Why (kept in the audit trail).")
@json_option
@pass_state
def disable(state: CliState, user_id: int, reason: str | None) -> None:
    """Disable a portal user: they can no longer sign in, their open portal sessions end, and
    the API tokens they made in the portal are revoked (each audited; `token list` shows who
    made a token).

    A disabled user trying to sign in sees the same "wrong email or password" as anyone.
    Disabling a user who is already disabled fails with invalid_state.

    \b
    Example:
      licensesvc user disable 2 --reason "left the company"
    """
    from licensesvc import identity

    with state.unit_of_work() as ctx:
        data = serialize.user(identity.disable_user(ctx, user_id, reason))
    emit(state.json, data, lambda: f"disabled user {data['id']} ({printable(data['email'])})")
