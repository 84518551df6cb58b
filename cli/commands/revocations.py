"""`licensesvc revocations`: the signed revocation list that offline installers carry."""

from __future__ import annotations

from pathlib import Path

import click

from cli.output import json_option, out_option, write_or_print
from cli.state import CliState, pass_state


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
    """Print (or write) the current signed revocation list.

    It lists revoked keys (with their reason code, never the analyst's words) and superseded
    keys with the end of their overlap. The stored copy is printed as the server serves it;
    it is signed again only when it is missing, past the middle of its validity (the
    policy's revocation_list_days) or signed by a retired key.
    `licensesvc verify --revocations FILE` reads it.

    \b
    Example:
      licensesvc revocations export --out revocations.lrl
    """
    from licensesvc.issuance import signed_revocation_list

    with state.unit_of_work() as ctx:
        text = signed_revocation_list(ctx)
    write_or_print(
        state.json,
        out,
        text + "\n",
        document={"revocation_list": text, "out": str(out) if out else None},
        wrote=f"wrote the revocation list to {out}",
    )
