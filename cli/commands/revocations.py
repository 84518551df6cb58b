"""`licensesvc revocations`: the signed revocation list that offline installers carry."""

from __future__ import annotations

from pathlib import Path

import click

from cli.output import json_option, out_option, write_or_print
from cli.state import CliState, pass_state
from licensesvc.services.issued_keys import signed_revocation_list


@click.group()
def revocations() -> None:
    """Export the signed revocation list.

    \b
    Example:
      licensesvc revocations export --out revocations.lrl
    """


@revocations.command("export")
@out_option("Write the list to this file instead of stdout.")
@json_option
@pass_state
def export(state: CliState, out: Path | None) -> None:
    """Sign and print (or write) the current revocation list.

    It lists revoked keys and superseded keys past their overlap, and is valid for the
    policy's revocation_list_days; `licensesvc verify --revocations FILE` reads it.

    \b
    Example:
      licensesvc revocations export --out revocations.lrl
    """
    with state.unit_of_work() as ctx:
        text = signed_revocation_list(ctx)
    write_or_print(
        state.json,
        out,
        text + "\n",
        document={"revocation_list": text, "out": str(out) if out else None},
        wrote=f"wrote the revocation list to {out}",
    )
