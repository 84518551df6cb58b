"""`licensesvc log`: the transparency log (docs/transparency.md) - integrate pending leaves,
recompute and check the whole log, monitor it from a state file, show or rotate its key."""

from __future__ import annotations

import json
import re
import time
import urllib.parse
import urllib.request
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from cli.output import emit, fields, json_option
from cli.state import CliState, pass_state

if TYPE_CHECKING:
    from keys.tlog import Checkpoint, LogVerifier

_COMMITMENT_RE = re.compile(r"[0-9a-f]{64}")


@click.group("log")
def log() -> None:
    """The transparency log of every key: integrate, verify, monitor, its key.

    \b
    Example:
      licensesvc log integrate
      licensesvc log monitor --state acme-log.json --customer 12
    """


@log.command("integrate")
@click.option(
    "--every",
    type=click.FloatRange(min=0.1),
    default=None,
    help="Integrate again every this many seconds until interrupted (default: once).",
)
@json_option
@pass_state
def integrate(state: CliState, every: float | None) -> None:
    """Give pending leaves their indices and sign a new checkpoint.

    Safe on any number of servers at once: integrators take turns on a database lock. The
    web app runs one in the background (LICENSESVC_LOG_INTEGRATOR); this is for cron.

    \b
    Example:
      licensesvc log integrate
    """
    from licensesvc import transparency

    while True:
        done = state.retried(transparency.integrate)
        data = {
            "added": done.added,
            "tree_size": done.tree_size,
            "checkpoint_signed": done.checkpoint_signed,
        }
        emit(
            state.json,
            data,
            f"integrated {done.added} leaves; tree size {done.tree_size}",
        )
        if every is None:
            return
        time.sleep(every)


@log.command("verify")
@json_option
@pass_state
def verify(state: CliState) -> None:
    """Recompute the tree from the stored leaves and check every node and checkpoint.

    Exits 1 and lists the problems when anything disagrees.

    \b
    Example:
      licensesvc log verify
    """
    from licensesvc import transparency

    with state.unit_of_work() as ctx:
        found = transparency.verify_log(ctx)
    data = {
        "tree_size": found.tree_size,
        "checkpoints": found.checkpoints,
        "problems": found.problems,
        "ok": not found.problems,
    }
    emit(
        state.json,
        data,
        lambda: "\n".join(
            [
                fields([("tree size", found.tree_size), ("checkpoints", found.checkpoints)]),
                *(f"problem: {p}" for p in found.problems),
                "ok" if not found.problems else "INCONSISTENT",
            ]
        ),
    )
    if found.problems:
        raise SystemExit(1)


# -- monitor -----------------------------------------------------------------------------------


class _Server:
    """The log as a tile client reads it over HTTP."""

    def __init__(self, url: str) -> None:
        self.url = url.rstrip("/")

    def _get(self, path: str, query: dict[str, Any] | None = None) -> bytes:
        target = f"{self.url}{path}"
        if query:
            target += "?" + urllib.parse.urlencode(query)
        with urllib.request.urlopen(target, timeout=30) as answer:  # noqa: S310 (operator's URL)
            data: bytes = answer.read()
            return data

    def vkey(self) -> str:
        return str(json.loads(self._get("/v1/log/key"))["vkey"])

    def checkpoint(self) -> str:
        return self._get("/log/checkpoint").decode("utf-8")

    def consistency(self, old: int, new: int) -> list[bytes]:
        from keys import tlog

        answer = json.loads(self._get("/v1/log/consistency", {"from": old, "to": new}))
        return [tlog.b64decode(p) for p in answer["proof"]]

    def leaves(self, size: int) -> list[bytes]:
        from keys import tlog

        out: list[bytes] = []
        for index in range(0, (size + tlog.TILE_WIDTH - 1) // tlog.TILE_WIDTH):
            width = min(tlog.TILE_WIDTH, size - index * tlog.TILE_WIDTH)
            bundle = self._get("/log/" + tlog.tile_path("entries", index, width))
            out += tlog.split_entry_bundle(bundle)
        return out


class _Database:
    """The log read through the façade (an operator's or auditor's copy of the database)."""

    def __init__(self, state: CliState) -> None:
        self.state = state

    def vkey(self) -> str:
        from licensesvc import transparency

        with self.state.unit_of_work() as ctx:
            rec = transparency.active_log_key(ctx)
            assert rec is not None
            return rec.vkey

    def checkpoint(self) -> str:
        from licensesvc import transparency

        with self.state.unit_of_work() as ctx:
            return transparency.checkpoint_note(ctx)

    def consistency(self, old: int, new: int) -> list[bytes]:
        from licensesvc import transparency

        with self.state.unit_of_work() as ctx:
            return transparency.consistency(ctx, old, new)

    def leaves(self, size: int) -> list[bytes]:
        from keys import tlog
        from licensesvc import transparency

        with self.state.unit_of_work() as ctx:
            return tlog.split_entry_bundle(
                b"".join(
                    transparency.entries(ctx, i, min(tlog.TILE_WIDTH, size - i * tlog.TILE_WIDTH))
                    for i in range((size + tlog.TILE_WIDTH - 1) // tlog.TILE_WIDTH)
                )
            )

    def commitment(self, customer: int) -> str:
        from licensesvc import transparency

        with self.state.unit_of_work() as ctx:
            return transparency.customer_commitment(ctx, customer)


def _read_state(path: Path, verifier: LogVerifier | None) -> tuple[str | None, Checkpoint | None]:
    from keys import tlog

    if not path.exists():
        return None, None
    saved = json.loads(path.read_text(encoding="utf-8"))
    vkey = saved.get("vkey")
    trusted = verifier or tlog.LogVerifier.from_vkey(vkey)
    return vkey, tlog.verify_checkpoint(saved["checkpoint"], trusted)


@log.command("monitor")
@click.option(
    "--state",
    "state_file",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="JSON file keeping the log key and the last checkpoint checked (made on first use).",
)
@click.option(
    "--customer",
    help="List this customer's leaves: its commitment (64 hex digits, shown in the portal), or "
    "its ID when reading the database.",
)
@click.option("--server", help="Read the log from this server URL instead of the database.")
@click.option(
    "--log-key",
    help="The log's vkey to trust (default: the one in --state, else the log's own, trusted "
    "on first use).",
)
@json_option
@pass_state
def monitor(
    state: CliState,
    state_file: Path,
    customer: str | None,
    server: str | None,
    log_key: str | None,
) -> None:
    """Check the log grew consistently since --state, and list new leaves.

    Verifies the newest checkpoint's signature, a consistency proof from the checkpoint in
    --state (a smaller or different checkpoint of the same size is a rollback or a fork),
    and the new leaves against the checkpoint's root; lists those of --customer; saves the
    checkpoint. Exits 1 on any inconsistency.

    \b
    Example:
      licensesvc log monitor --state acme-log.json --customer 12
      licensesvc log monitor --state acme-log.json --server https://lic.example.com \\
          --customer 3f9a...
    """
    from keys import tlog

    source: _Server | _Database = _Server(server) if server else _Database(state)
    given = tlog.LogVerifier.from_vkey(log_key) if log_key else None
    try:
        saved_vkey, seen = _read_state(state_file, given)
        verifier = given or tlog.LogVerifier.from_vkey(saved_vkey or source.vkey())
        note = source.checkpoint()
        newest = tlog.verify_checkpoint(note, verifier)
        # 1. not smaller, not a fork; a consistency proof joins the two
        proof = None
        if seen is not None and seen.tree_size <= newest.tree_size:
            proof = source.consistency(seen.tree_size, newest.tree_size)
        tlog.check_not_rolled_back(seen, newest, proof)
        # 2. the leaves rebuild the newest root
        leaves = source.leaves(newest.tree_size)
        if tlog.tree_hash([tlog.leaf_hash(x) for x in leaves]) != newest.root_hash:
            raise tlog.LogInconsistent("the log's entries do not hash to its checkpoint's root")
    except tlog.LogInconsistent as exc:
        raise click.ClickException(f"{exc.code}: {exc.message}") from None
    except (tlog.LogRollback, tlog.BadCheckpoint) as exc:
        raise click.ClickException(f"{exc.code}: {exc.message}") from None
    commitment = None
    if customer is not None:
        if _COMMITMENT_RE.fullmatch(customer):
            commitment = customer
        elif isinstance(source, _Database) and customer.isdigit():
            commitment = source.commitment(int(customer))
        else:
            raise click.BadParameter(
                "a commitment (64 hex digits), or a customer ID with the database",
                param_hint="--customer",
            )
    start = 0 if seen is None else seen.tree_size
    listed = []
    for index in range(start, newest.tree_size):
        doc = json.loads(leaves[index])
        if commitment is None or doc.get("customer") == commitment:
            listed.append({"index": index, **doc})
    state_file.write_text(
        json.dumps({"vkey": verifier.vkey, "checkpoint": note}, indent=2),
        encoding="utf-8",
    )
    data = {"from": start, "to": newest.tree_size, "leaves": listed}
    emit(
        state.json,
        data,
        lambda: "\n".join(
            [
                f"consistent: tree size {start} -> {newest.tree_size}",
                *(
                    f"{d['index']}  {d['event']:<9}  {d['serial']}  {d['kind']}  {d['at']}"
                    for d in listed
                ),
            ]
        ),
    )


@log.command("key")
@click.option("--rotate", is_flag=True, help="Retire the active log key and make a new one.")
@json_option
@pass_state
def key(state: CliState, rotate: bool) -> None:
    """Show the log's verifier key (vkey), or rotate it.

    \b
    Example:
      licensesvc log key
    """
    from licensesvc import transparency

    make = transparency.rotate_log_key if rotate else transparency.ensure_log_key
    vkey = state.retried(lambda ctx: make(ctx).vkey)
    data = {"vkey": vkey, "status": "active"}
    emit(state.json, data, lambda: vkey)
