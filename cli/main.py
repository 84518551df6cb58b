"""`licensesvc`: the support analysts' admin CLI.

Subcommands are imported only when they run or show their own help (`licensesvc --help` lists
them from LAZY_COMMANDS below), and none loads a model, SQLAlchemy or Flask before it runs
(tests/cli/test_cli_startup.py): an analyst starts the CLI for every command. `licensesvc
verify` checks a key offline and must load neither the database layer nor the web framework.
It does not load click either: installers run it on every start of the product, so `main` hands
`licensesvc [--json] [--as NAME] verify ...` to the standard-library implementation in
cli/offline_verify.py before anything else is imported, and the click group (built on first
use, see `__getattr__`) is only for the other commands, for help, and for in-process callers.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    import click


class LazyCommand(NamedTuple):
    """A subcommand that is imported when it runs."""

    target: str  #: "module:attribute" of the click command
    summary: str  #: the first sentence of its help, which `licensesvc --help` lists


#: command name -> where it lives and the first sentence of its help. `licensesvc --help` lists
#: the commands from here without importing them (tests/cli/test_cli_startup.py checks each
#: summary is its command's own, as click shortens it, at every width).
LAZY_COMMANDS: dict[str, LazyCommand] = {
    "audit": LazyCommand(
        "cli.commands.audit:audit",
        "Read and verify the audit trail.",
    ),
    "case": LazyCommand(
        "cli.commands.cases:case",
        "Review key-request cases: list, show, escalate, grant or deny.",
    ),
    "contract": LazyCommand(
        "cli.commands.contracts:contract",
        "Contracts over time: create, change plan, renew, terminate; the payment ledger.",
    ),
    "customer": LazyCommand(
        "cli.commands.customers:customer",
        "Create, update and list customers.",
    ),
    "db": LazyCommand(
        "cli.commands.db:db",
        "Manage the database schema.",
    ),
    "demo": LazyCommand(
        "cli.commands.demo:demo",
        "Fill an empty database with demo data and print its tokens and passwords.",
    ),
    "entitlements": LazyCommand(
        "cli.commands.entitlements:entitlements",
        "Show a customer's entitlements: contract and maintenance standing, allowed key kinds,"
        " quotas and what the plan promises.",
    ),
    "idempotency": LazyCommand(
        "cli.commands.idempotency:idempotency",
        "Housekeeping of Idempotency-Key answers (kept 24 hours).",
    ),
    "import": LazyCommand(
        "cli.commands.imports:import_group",
        "Bulk imports.",
    ),
    "key": LazyCommand(
        "cli.commands.issued_keys:key",
        "Issue, list, show, revoke and export license keys.",
    ),
    "license": LazyCommand(
        "cli.commands.licenses:license_group",
        "Create, list, update and retire licenses.",
    ),
    "log": LazyCommand(
        "cli.commands.log:log",
        "The transparency log of every key: integrate, verify, monitor, its key.",
    ),
    "notify": LazyCommand(
        "cli.commands.notify:notify",
        "Customer notifications: what waits in the outbox, and the sender that mails it.",
    ),
    "report": LazyCommand(
        "cli.commands.reports:report",
        "Reports for a support analyst's day: who lapses, who is in grace, what ends, what is"
        " used, what expires, what is overdue.",
    ),
    "revocations": LazyCommand(
        "cli.commands.revocations:revocations",
        "Export the signed revocation list (plain, or the compact cascade).",
    ),
    "serve": LazyCommand(
        "cli.commands.serve:serve",
        "Serve the JSON API and its reference page (/docs) with gunicorn until interrupted.",
    ),
    "service": LazyCommand(
        "cli.commands.services:service",
        "Premium services: record a major upgrade, a health check or a support review.",
    ),
    "signing-key": LazyCommand(
        "cli.commands.signing_keys:signing_key",
        "Generate, rotate, list, publish and re-encrypt signing keys.",
    ),
    "token": LazyCommand(
        "cli.commands.tokens:token",
        "Create, list and revoke API tokens.",
    ),
    "user": LazyCommand(
        "cli.commands.users:user",
        "Create, list and disable portal users and start their password resets.",
    ),
    "verify": LazyCommand(
        "cli.commands.verify:verify",
        "Check a license key or license file offline, with only the vendor's public key.",
    ),
    "webhook": LazyCommand(
        "cli.commands.webhooks:webhook",
        "Webhook endpoints: signed HTTP POSTs (Standard Webhooks) for every event they"
        " subscribe to, delivered by `licensesvc notify send` and retried for more than 24"
        " hours.",
    ),
}


def _build_cli() -> click.Group:
    """Return the click group of every command (imports click)."""
    import importlib
    from gettext import gettext as _

    import click

    from cli.errors import translate
    from cli.state import ANALYST_ENV, CliState

    class LazyGroup(click.Group):
        """A group whose subcommands live in modules imported on first use, and which turns
        expected failures (service errors, database unreachable, bad configuration) into one line
        on stderr with exit 1."""

        def __init__(
            self,
            *args: Any,
            lazy_subcommands: Mapping[str, LazyCommand] | None = None,
            **kwargs: Any,
        ) -> None:
            super().__init__(*args, **kwargs)
            self.lazy_subcommands = dict(lazy_subcommands or {})

        def list_commands(self, ctx: click.Context) -> list[str]:
            return sorted({*super().list_commands(ctx), *self.lazy_subcommands})

        def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
            lazy = self.lazy_subcommands.get(cmd_name)
            if lazy is None:
                return super().get_command(ctx, cmd_name)
            module_name, _colon, attribute = lazy.target.partition(":")
            command = getattr(importlib.import_module(module_name), attribute)
            if not isinstance(command, click.Command):
                raise TypeError(f"{lazy.target} is not a click command")
            return command

        def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
            """click's list of commands, with each lazy one shown by its summary (shortened
            as click shortens a command's help) instead of being imported."""
            listed: list[tuple[str, click.Command]] = []
            for name in self.list_commands(ctx):
                lazy = self.lazy_subcommands.get(name)
                command = (
                    click.Command(name, help=lazy.summary)
                    if lazy is not None
                    else super().get_command(ctx, name)
                )
                if command is not None and not command.hidden:
                    listed.append((name, command))
            if listed:
                limit = formatter.width - 6 - max(len(name) for name, _command in listed)
                with formatter.section(_("Commands")):
                    formatter.write_dl(
                        [(name, command.get_short_help_str(limit)) for name, command in listed]
                    )

        def invoke(self, ctx: click.Context) -> Any:
            try:
                return super().invoke(ctx)
            except click.ClickException:
                raise
            except Exception as exc:
                translated = translate(exc)
                if translated is None:
                    raise
                raise translated from None

    @click.group(
        cls=LazyGroup,
        lazy_subcommands=LAZY_COMMANDS,
        context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
    )
    @click.option(
        "--as",
        "analyst",
        metavar="NAME",
        envvar=ANALYST_ENV,
        help=f"Analyst name for the audit trail (default: ${ANALYST_ENV}, else your OS user).",
    )
    @click.option(
        "--json",
        "as_json",
        is_flag=True,
        help="Print one JSON document (object or list) to stdout, nothing else.",
    )
    @click.pass_context
    def cli(ctx: click.Context, analyst: str | None, as_json: bool) -> None:
        """licensesvc admin CLI: customers, contracts, licenses, keys, cases, audit trail.

        Configuration comes from LICENSESVC_* variables (LICENSESVC_DATABASE_URL,
        LICENSESVC_SECRET_KEY, LICENSESVC_SIGNING_KEY_PASSPHRASE); with none set, an SQLite file
        under ./var. No server needs to be running. `licensesvc verify` needs no database at all.

        \b
        Example:
          licensesvc db upgrade
          licensesvc --as alice customer create --name "Acme Logistics" --region na
          licensesvc --json key list --customer 1
        """
        state = ctx.ensure_object(CliState)
        if analyst:
            state.analyst = analyst
        if as_json:
            state.json = True

    return cli


def __getattr__(name: str) -> Any:
    """`cli.main.cli` (the click group) and `cli.main.LazyGroup`, built on first access."""
    if name in ("cli", "LazyGroup"):
        group = _build_cli()
        globals().update(cli=group, LazyGroup=type(group))
        return globals()[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def offline_verify_arguments(argv: Sequence[str]) -> tuple[list[str], bool] | None:
    """For `[--json] [--as NAME] verify ARGS...`, return (ARGS, whether --json was given);
    None for any other command line. (`--as` does not matter to verify.)"""
    as_json = False
    index = 0
    while index < len(argv):
        word = argv[index]
        if word == "verify":
            return list(argv[index + 1 :]), as_json
        if word == "--json":
            as_json = True
        elif word == "--as":
            index += 1  # its value
        elif not word.startswith("--as="):
            return None
        index += 1
    return None


def main(argv: Sequence[str] | None = None) -> None:
    """Console-script entry point (`licensesvc = "cli.main:main"`)."""
    args = list(sys.argv[1:] if argv is None else argv)
    offline = offline_verify_arguments(args)
    if offline is not None:
        from cli.offline_verify import run

        sys.exit(run(offline[0], as_json=offline[1]))
    group: click.Group = __getattr__("cli")
    group.main(args=args, prog_name="licensesvc")


if __name__ == "__main__":
    main()
