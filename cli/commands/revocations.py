"""`licensesvc revocations`: the signed revocation list that offline installers carry."""

from __future__ import annotations

from pathlib import Path

import click

from cli.output import json_option, out_option, print_json, write_or_print
from cli.state import CliState, pass_state


@click.group()
def revocations() -> None:
    """Export the signed revocation list (plain, or the compact cascade).

    \b
    Example:
      licensesvc revocations export --out revocations.lrl
      licensesvc revocations export --format cascade --out revocations.lrc
    """


@revocations.command("export")
@out_option("Write the list to this file instead of stdout (a cascade needs --out).")
@click.option(
    "--format",
    "form",
    type=click.Choice(["list", "cascade"]),
    default="list",
    show_default=True,
    help="`list`: the plain signed list (LRL2., text); `cascade`: the compact signed filter "
    "cascade for large fleets (LRC1, binary), or with --delta-since a delta against it.",
)
@click.option(
    "--delta-since",
    type=click.IntRange(min=1),
    default=None,
    help="With --format cascade: write the delta that follows this generation (the base's "
    "or the last delta's) instead of the base.",
)
@json_option
@pass_state
def export(state: CliState, out: Path | None, form: str, delta_since: int | None) -> None:
    """Print (or write) the current signed revocation list.

    It lists revoked keys (with their reason code, never the analyst's words) and superseded
    keys with the end of their overlap. The stored copy is printed as the server serves it;
    it is signed again only when it is missing, past the middle of its validity (the
    policy's revocation_list_days) or signed by a retired key.
    `licensesvc verify --revocations FILE` reads it.

    `--format cascade` writes the compact list instead: a filter cascade, exact over every
    unexpired key issued up to its covered_through (docs/key-format.md section 14), about
    19 kB for a million keys; `--delta-since GENERATION` writes the signed delta that
    follows that generation. `licensesvc verify --revocations BASE --revocations DELTA`
    reads them.

    \b
    Example:
      licensesvc revocations export --out revocations.lrl
      licensesvc revocations export --format cascade --out revocations.lrc
      licensesvc revocations export --format cascade --delta-since 1796601600 --out d1.lrc
    """
    if form == "cascade":
        _export_cascade(state, out, delta_since)
        return
    if delta_since is not None:
        raise click.UsageError("--delta-since goes with --format cascade.")
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


def _export_cascade(state: CliState, out: Path | None, delta_since: int | None) -> None:
    from licensesvc import issuance

    if out is None:
        raise click.UsageError("--format cascade writes a binary file: name it with --out.")
    with state.unit_of_work() as ctx:
        if delta_since is None:
            stored = issuance.current_or_rebuild_cascade(ctx)
            data, generation, what = stored.data, stored.generation, "revocation cascade"
        else:
            data = issuance.delta_since(ctx, delta_since)
            generation, what = None, f"revocation delta since generation {delta_since}"
    out.write_bytes(data)  # public, like the plain list: no need for 0600
    document = {"out": str(out), "bytes": len(data), "generation": generation}
    if state.json:
        print_json(document)
    else:
        shown = f", generation {generation}" if generation is not None else ""
        click.echo(f"wrote the {what} to {out} ({len(data)} bytes{shown})")
