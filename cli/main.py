"""`licensesvc`: the support analysts' admin CLI.

Subcommands are imported only when they run (or when help lists them): `licensesvc verify`
checks a key offline and must load neither the database layer nor the web framework. It does
not load click either: installers run it on every start of the product, so `main` hands
`licensesvc [--json] [--as NAME] verify ...` to the standard-library implementation in
cli/offline_verify.py before anything else is imported, and the click group (built on first
use, see `__getattr__`) is only for the other commands, for help, and for in-process callers.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import click

#: command name -> "module:attribute"
LAZY_COMMANDS: dict[str, str] = {
    "audit": "cli.commands.audit:audit",
    "case": "cli.commands.cases:case",
    "contract": "cli.commands.contracts:contract",
    "customer": "cli.commands.customers:customer",
    "db": "cli.commands.db:db",
    "demo": "cli.commands.demo:demo",
    "entitlements": "cli.commands.entitlements:entitlements",
    "idempotency": "cli.commands.idempotency:idempotency",
    "import": "cli.commands.imports:import_group",
    "key": "cli.commands.issued_keys:key",
    "license": "cli.commands.licenses:license_group",
    "notify": "cli.commands.notify:notify",
    "report": "cli.commands.reports:report",
    "revocations": "cli.commands.revocations:revocations",
    "serve": "cli.commands.serve:serve",
    "signing-key": "cli.commands.signing_keys:signing_key",
    "token": "cli.commands.tokens:token",
    "user": "cli.commands.users:user",
    "verify": "cli.commands.verify:verify",
    "webhook": "cli.commands.webhooks:webhook",
}


def _build_cli() -> click.Group:
    """Return the click group of every command (imports click)."""
    import importlib

    import click

    from cli.errors import translate
    from cli.state import ANALYST_ENV, CliState

    class LazyGroup(click.Group):
        """A group whose subcommands live in modules imported on first use, and which turns
        expected failures (service errors, database unreachable, bad configuration) into one line
        on stderr with exit 1."""

        def __init__(
            self, *args: Any, lazy_subcommands: Mapping[str, str] | None = None, **kwargs: Any
        ) -> None:
            super().__init__(*args, **kwargs)
            self.lazy_subcommands = dict(lazy_subcommands or {})

        def list_commands(self, ctx: click.Context) -> list[str]:
            return sorted({*super().list_commands(ctx), *self.lazy_subcommands})

        def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
            target = self.lazy_subcommands.get(cmd_name)
            if target is None:
                return super().get_command(ctx, cmd_name)
            module_name, _, attribute = target.partition(":")
            command = getattr(importlib.import_module(module_name), attribute)
            if not isinstance(command, click.Command):
                raise TypeError(f"{target} is not a click command")
            return command

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
