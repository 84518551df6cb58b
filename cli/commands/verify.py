"""`licensesvc verify` as a click command: a forwarder to cli/offline_verify.py.

The command is implemented once, with the standard library only, in cli.offline_verify
(`licensesvc verify ...` from a shell goes there without loading click at all). This command
exists so that the click group lists it in `licensesvc --help` and so that in-process callers
(CliRunner, `licensesvc --json verify ...` through the group) reach the same code: it hands
every argument over unparsed, `-h`/`--help` included, plus the group's `--json`.

OFFLINE: no database, no configuration, no flask, no sqlalchemy, nothing of `licensesvc`.
"""

from __future__ import annotations

import click

from cli import offline_verify
from cli.state import current_state


@click.command(
    help=offline_verify.SUMMARY,
    context_settings={
        "ignore_unknown_options": True,
        "allow_extra_args": True,
        "help_option_names": [],  # -h/--help are forwarded too
    },
)
@click.argument("arguments", nargs=-1, type=click.UNPROCESSED)
def verify(arguments: tuple[str, ...]) -> None:
    status = offline_verify.run(arguments, as_json=current_state().json)
    click.get_current_context().exit(status)
