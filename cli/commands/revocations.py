"""`licensesvc revocations`: the signed revocation list that offline installers carry."""

from __future__ import annotations

from pathlib import Path

import click

from cli.output import emit, json_option
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
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the list to this file instead of stdout.",
)
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
    if out is not None:
        out.write_text(text + "\n")
    if state.json:
        emit(True, {"revocation_list": text, "out": str(out) if out else None}, "")
    elif out is not None:
        click.echo(f"wrote the revocation list to {out}")
    else:
        click.echo(text)
