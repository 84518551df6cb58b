"""`licensesvc log` and `verify --require-logged`, as an operator, a customer's admin and an
installer use them: a key is proved once integrated and refused before; a key whose log write
was suppressed is refused; a proof lifted from another key is refused; the monitor follows the
log and catches a forked checkpoint; `log verify` catches a rewritten leaf."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import delete, select, update

from keys import tlog
from licensesvc.models import LogCheckpoint, LogKeyRecord, LogLeaf
from licensesvc.platform.context import Actor
from licensesvc.transparency import log_signer
from tests.cli.cli_helpers import Cli, Shop, key_issue

AT = "2026-03-02T16:00:00Z"


def _pem(run: Cli, tmp_path: Path) -> Path:
    out = tmp_path / "vendor-public.pem"
    run.ok("signing-key", "export-public", "--out", out)
    return out


def _export(run: Cli, serial: str, path: Path) -> Path:
    run.ok("key", "export", serial, "--format", "file", "--out", path)
    return path


def test_require_logged_accepts_a_logged_key_and_refuses_the_others(
    run: Cli, shop: Shop, tmp_path: Path
) -> None:
    pem = _pem(run, tmp_path)
    serial = run.json(*key_issue(shop.acme_license, "standard"))["serial"]
    unlogged = run.json(*key_issue(shop.globex_license, "standard"))["serial"]
    # the log write of the second key is suppressed (an insider, a bug)
    with run.runtime.sessions() as session:
        session.execute(delete(LogLeaf).where(LogLeaf.serial == unlogged))
        session.commit()
    early = _export(run, serial, tmp_path / "early.lic")
    assert "integrated 1 leaves; tree size 1" in run.ok("log", "integrate").stdout
    vkey = run.ok("log", "key").stdout.strip()
    logged = _export(run, serial, tmp_path / "acme.lic")
    assert tlog.PROOF_BEGIN in logged.read_text()
    verify = ("verify", "--public-key", pem, "--at", AT, "--log-key", vkey, "--require-logged")
    assert run.ok(*verify, logged).stdout.startswith("valid\n")
    # without --require-logged an old installer's file without a proof still verifies
    assert run.ok("verify", early, "--public-key", pem, "--at", AT).stdout.startswith("valid")
    assert run.fails(*verify, early).stdout.startswith("not_logged: ")
    suppressed = _export(run, unlogged, tmp_path / "globex.lic")
    assert tlog.PROOF_BEGIN not in suppressed.read_text()
    assert run.fails(*verify, suppressed).stdout.startswith("not_logged: ")
    # Acme's proof stapled to Globex's key proves nothing about it
    proof_block = logged.read_text()[logged.read_text().index(tlog.PROOF_BEGIN) :]
    stapled = tmp_path / "stapled.lic"
    stapled.write_text(suppressed.read_text() + proof_block)
    assert run.fails(*verify, stapled).stdout.startswith("not_logged: ")
    # a proof checked against another log's key fails on the checkpoint's signature
    other = tlog.LogSigner("licensesvc.local/log", bytes(32)).verifier.vkey
    refused = run.fails("verify", "--public-key", pem, "--at", AT, "--log-key", other, logged)
    assert refused.stdout.startswith("bad_checkpoint: ")
    assert (
        "needs --log-key"
        in run.fails("verify", logged, "--public-key", pem, "--require-logged", exit_code=2).stderr
    )


def test_the_log_state_refuses_an_older_checkpoint(run: Cli, shop: Shop, tmp_path: Path) -> None:
    pem = _pem(run, tmp_path)
    first = run.json(*key_issue(shop.acme_license, "standard"))["serial"]
    run.ok("log", "integrate")
    old_file = _export(run, first, tmp_path / "old.lic")
    second = run.json(*key_issue(shop.globex_license, "standard"))["serial"]
    run.ok("log", "integrate")
    new_file = _export(run, second, tmp_path / "new.lic")
    vkey = run.ok("log", "key").stdout.strip()
    state = tmp_path / "log-state"
    args = ("verify", "--public-key", pem, "--at", AT, "--log-key", vkey, "--log-state", state)
    run.ok(*args, new_file)
    assert run.fails(*args, old_file).stdout.startswith("log_rollback: ")


def test_monitor_follows_the_log_and_catches_a_fork(run: Cli, shop: Shop, tmp_path: Path) -> None:
    state = tmp_path / "acme-log.json"
    run.json(*key_issue(shop.acme_license, "standard"))
    run.json(*key_issue(shop.globex_license, "standard"))
    run.ok("log", "integrate")
    first = run.json("log", "monitor", "--state", state, "--customer", shop.acme)
    assert (first["from"], first["to"]) == (0, 2)
    assert [leaf["event"] for leaf in first["leaves"]] == ["issue"]  # Acme's only
    moved = run.json(*key_issue(shop.acme_license, "replacement", host="new.acme.example"))
    run.ok("log", "integrate")
    second = run.json("log", "monitor", "--state", state, "--customer", shop.acme)
    assert (second["from"], second["to"]) == (2, 4)
    assert {(x["event"], x["serial"]) for x in second["leaves"]} >= {("issue", moved["serial"])}
    assert "consistent: tree size 4 -> 4" in run.ok("log", "monitor", "--state", state).stdout
    # an insider signs a second checkpoint of size 4 with another root: a fork
    with run.runtime.sessions() as session:
        rec = session.scalar(select(LogKeyRecord))
        assert rec is not None
        ctx = run.runtime.context(session, _system())
        signer = log_signer(ctx, rec)
        forged = tlog.Checkpoint(signer.name, 4, bytes(32)).sign(signer)
        session.add(
            LogCheckpoint(
                tree_size=4,
                root_hash=bytes(32),
                note=forged,
                key_id=signer.verifier.key_id.hex(),
                created_at=run.runtime.clock(),
            )
        )
        session.commit()
    result = run.fails("log", "monitor", "--state", state)
    assert "log_rollback: " in result.stderr and "fork" in result.stderr
    saved = json.loads(state.read_text())
    assert tlog.verify_checkpoint(saved["checkpoint"], tlog.LogVerifier.from_vkey(saved["vkey"]))


def _system() -> Actor:
    return Actor.system()


def test_log_verify_catches_a_rewritten_leaf(run: Cli, shop: Shop) -> None:
    run.json(*key_issue(shop.acme_license, "standard"))
    run.ok("log", "integrate")
    assert run.json("log", "verify")["ok"] is True
    with run.runtime.sessions() as session:
        session.execute(update(LogLeaf).where(LogLeaf.idx == 0).values(leaf=b"{}"))
        session.commit()
    result = run.fails("log", "verify")
    assert "problem: leaf 0" in result.stdout and "INCONSISTENT" in result.stdout
