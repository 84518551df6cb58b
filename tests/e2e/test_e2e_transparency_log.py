"""The transparency log end to end: keys issued over HTTP to two gunicorn servers appear in the
log within seconds (their workers integrate in the background), a downloaded license file then
proves its key offline under the log's vkey, and every pair of checkpoints of the run is
consistent. And the integrator SIGKILLed again and again while keys are issued leaves a log
with no lost or duplicated leaf (`licensesvc log verify` finds nothing)."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from sqlalchemy import select

import keys
from keys import tlog
from licensesvc import transparency
from licensesvc.models import LogCheckpoint, LogLeaf
from licensesvc.platform.context import Actor
from licensesvc.runtime import Runtime
from tests.e2e.e2e_helpers import (
    ROOT,
    call,
    e2e_settings,
    issue_standard_key,
    prepare,
    server_env,
    servers,
)
from tests.support.runs import size

pytestmark = pytest.mark.e2e

CUSTOMERS = [("Acme", "base", "na", -30, 335, 335), ("Globex", "premium", "emea", -30, 335, 335)]


def _wait_logged(server_url: str, serial: str, within: float = 60.0) -> float:
    started = time.monotonic()
    while time.monotonic() - started < within:
        r = requests.get(f"{server_url}/v1/log/inclusion", params={"serial": serial}, timeout=10)
        if r.status_code == 200:
            return time.monotonic() - started
        assert r.status_code == 404, r.text
        time.sleep(0.2)
    raise AssertionError(f"{serial} was not logged within {within} s")


def test_keys_issued_over_http_are_logged_within_seconds(
    e2e_database_url: str, tmp_path: Path
) -> None:
    settings = e2e_settings(e2e_database_url, tmp_path)
    made = prepare(settings, CUSTOMERS)
    with servers(e2e_database_url, tmp_path, 2) as (one, two):
        serials = []
        for i in range(4):
            server = (one, two)[i % 2]
            r = call(
                server,
                "POST",
                "/v1/key-requests",
                made.token["analyst"],
                json={"license_id": made.license["Globex"], "kind": "standard"},
            )
            assert r.status_code == 201, r.text
            serials.append(r.json()["key"]["serial"])
        waits = [_wait_logged(one.url(""), s) for s in serials]
        assert max(waits) < 60
        print(f"logged within {max(waits):.2f} s of the last issue (waits {waits})")
        vkey = requests.get(one.url("/v1/log/key"), timeout=10).json()["vkey"]
        verifier = tlog.LogVerifier.from_vkey(vkey)
        file_text = call(
            two, "GET", f"/v1/keys/{serials[-1]}/license-file", made.token["analyst"]
        ).text
        license_text, proof = tlog.split_license_file(file_text)
        claims = keys.decode_unverified(license_text)
        tlog.verify_key_logged(tlog.text_key_of(license_text), claims.serial, proof, verifier)
        # a customer's monitor over HTTP: consistent, and lists Globex's events only
        state = tmp_path / "globex-log.json"
        monitor = [sys.executable, "-m", "cli.main", "--json", "log", "monitor"]
        monitor += ["--state", str(state), "--server", one.url("")]
        commitment = json.loads(proof.leaf)["customer"] if proof else ""
        done = subprocess.run(
            [*monitor, "--customer", commitment],
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT), **server_env(e2e_database_url, tmp_path)},
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, done.stderr
        seen = json.loads(done.stdout)
        assert {leaf["serial"] for leaf in seen["leaves"] if leaf["event"] == "issue"} >= set(
            serials
        )
        assert all(leaf["customer"] == commitment for leaf in seen["leaves"])
    runtime = Runtime.from_settings(settings)
    try:
        with runtime.unit_of_work(Actor.system()) as ctx:
            notes = ctx.session.scalars(select(LogCheckpoint.note).order_by(LogCheckpoint.id)).all()
            heads = [tlog.verify_checkpoint(n, verifier) for n in notes]
            for old in heads:
                for new in heads:
                    if old.tree_size <= new.tree_size:
                        path = transparency.consistency(ctx, old.tree_size, new.tree_size)
                        tlog.verify_consistency(
                            old.tree_size, new.tree_size, path, old.root_hash, new.root_hash
                        )
            assert transparency.verify_log(ctx).problems == []
    finally:
        runtime.engine.dispose()


def test_a_killed_integrator_leaves_a_consistent_log(e2e_database_url: str, tmp_path: Path) -> None:
    settings = e2e_settings(e2e_database_url, tmp_path)
    made = prepare(settings, CUSTOMERS)
    env = {**os.environ, "PYTHONPATH": str(ROOT), **server_env(e2e_database_url, tmp_path)}
    command = [sys.executable, "-m", "cli.main", "log", "integrate", "--every", "0.1"]
    kills = size(100, 12)
    rng = random.Random(21)
    issued: list[str] = []
    for _ in range(kills):
        integrator = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        try:
            for _ in range(rng.randint(1, 3)):
                issued.append(issue_standard_key(settings, made.license["Globex"]))
            time.sleep(rng.uniform(0.05, 0.6))
        finally:
            integrator.send_signal(signal.SIGKILL)
            integrator.wait(timeout=10)
    runtime = Runtime.from_settings(settings)
    try:
        with runtime.unit_of_work(Actor.system()) as ctx:
            transparency.integrate(ctx)
        with runtime.unit_of_work(Actor.system()) as ctx:
            rows = ctx.session.execute(select(LogLeaf.idx, LogLeaf.serial, LogLeaf.event)).all()
            indices = sorted(r.idx for r in rows)
            assert indices == list(range(len(rows)))  # none lost, none twice
            issues = [r.serial for r in rows if r.event == "issue"]
            assert sorted(issues) == sorted(issued)
            # each new standard key superseded the one before
            assert len(rows) == 2 * len(issued) - 1
            found = transparency.verify_log(ctx)
            assert found.problems == [] and found.tree_size == len(rows)
    finally:
        runtime.engine.dispose()
