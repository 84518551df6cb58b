"""Processes dying and stopping under load, on a real gunicorn: SIGKILL of workers during key
issuance loses nothing that was answered and leaves the audit chain whole; SIGTERM during a
burst answers every request the kernel accepted; quota bursts hold the quota exactly."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from licensesvc.config import Policy
from licensesvc.models import AuditRecord, IssuedKey
from licensesvc.runtime import Runtime
from tests.e2e.e2e_helpers import ROOT, e2e_settings, issue_standard_key, prepare
from tests.reliability.rel_helpers import (
    Answers,
    Figures,
    database_kind,
    gunicorn,
    kill,
    wait_for_workers,
    worker_pids,
)
from tests.support.runs import FULL, size

pytestmark = pytest.mark.e2e


def _cli_env(url: str, data_dir: Path) -> dict[str, str]:
    from tests.e2e.e2e_helpers import PASSPHRASE, SECRET_KEY

    return {
        **os.environ,
        "LICENSESVC_DATABASE_URL": url,
        "LICENSESVC_SECRET_KEY": SECRET_KEY,
        "LICENSESVC_SIGNING_KEY_PASSPHRASE": PASSPHRASE,
        "LICENSESVC_DATA_DIR": str(data_dir),
    }


def test_sigkill_during_issuance_loses_no_answered_key_and_no_audit_record(
    rel_database_url: str, tmp_path: Path
) -> None:
    settings = e2e_settings(rel_database_url, tmp_path)
    data = prepare(settings, [("Acme", "base", "na", -30, 335, 335)])
    initial = issue_standard_key(settings, data.license["Acme"])
    kills = size(100, 4)
    figures = Figures("SIGKILL of a worker during key issuance", database_kind(rel_database_url))
    answers = Answers()
    stop = threading.Event()
    body = {"license_id": data.license["Acme"], "kind": "replacement"}
    logical: list[str] = []  # the serial each answered request got (a replay included)
    after_cut: list[bool] = []  # whether that request had an attempt cut by a kill first

    with gunicorn(rel_database_url, tmp_path) as server:

        def client() -> None:
            # every request carries an Idempotency-Key and is retried with it until it has an
            # answer: a request cut by the kill gets, on retry, the key it may have stored
            while not stop.is_set():
                key = {"Idempotency-Key": uuid.uuid4().hex}
                cut = False
                for _ in range(600):
                    status, answer, _, _ = answers.send(
                        "POST",
                        server.url("/v1/key-requests"),
                        data.token["Acme"],
                        headers=key,
                        json=body,
                    )
                    cut = cut or status is None
                    if status == 201:
                        with answers.lock:
                            logical.append(answer["key"]["serial"])
                            after_cut.append(cut)
                    if status not in (None, 409, 503) or (
                        status == 409 and answer.get("code") != "idempotency_in_progress"
                    ):
                        break
                    time.sleep(0.1)

        clients = [threading.Thread(target=client) for _ in range(3)]
        for t in clients:
            t.start()
        rng = random.Random(10)
        first_seen: dict[int, float] = {}
        try:
            for _ in range(kills):
                wait_for_workers(server, 2)
                # the victim has booted and is serving: it answered since it was first seen
                while True:
                    now = time.monotonic()
                    for pid in worker_pids(server):
                        first_seen.setdefault(pid, now)
                    booted = [p for p in worker_pids(server) if now - first_seen[p] > 1.5]
                    if booted:
                        break
                    time.sleep(0.05)
                time.sleep(rng.uniform(0.0, 0.3))  # land somewhere inside a request
                kill(rng.choice(booted))
                figures.kills += 1
        finally:
            stop.set()
            for t in clients:
                t.join()

    answered = set()
    for status, answer, _, _ in answers.items:
        if status is None:
            figures.fired += 1
            figures.lost += 1  # the killed worker's own request: retried with its key
            continue
        figures.count(status, answer)
        if status == 201:
            answered.add(answer["key"]["serial"])
    assert figures.other_5xx == 0, Counter(s for s, *_ in answers.items)
    assert figures.granted > 0

    runtime = Runtime.from_settings(settings)
    try:
        with runtime.sessions() as session:
            stored = set(
                session.scalars(select(IssuedKey.serial).where(IssuedKey.kind == "replacement"))
            )
            audited = set(
                session.scalars(
                    select(AuditRecord.entity_id).where(AuditRecord.action == "key.issued")
                )
            )
    finally:
        runtime.engine.dispose()
    missing_answered = answered - stored
    unaudited = stored - audited
    never_answered = stored - answered
    figures.records_lost = len(missing_answered) + len(unaudited)
    figures.stored_unanswered = len(never_answered)
    retried = sum(after_cut)
    # a serial answered to two requests, or an audit record of a key that is not stored
    figures.duplicates = len(logical) - len(set(logical)) + len(audited - stored - {initial})
    verify = subprocess.run(
        [sys.executable, "-m", "cli.main", "audit", "verify"],
        cwd=ROOT,
        env=_cli_env(rel_database_url, tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
    )
    figures.notes = (
        f"every request carries an Idempotency-Key and is retried until answered; "
        f"{len(stored)} keys stored, {len(answered)} answered ({retried} to a retry after "
        f"a cut attempt); {figures.lost} attempts cut by the kill; audit verify exit "
        f"{verify.returncode}"
    )
    figures.save()
    assert not missing_answered, missing_answered
    assert not unaudited, unaudited
    assert not never_answered, never_answered
    assert verify.returncode == 0, verify.stdout + verify.stderr


def _sigterm_burst(
    url: str, tmp_path: Path, token: str, license_id: int, *, stock: bool, burst: int
) -> tuple[Figures, int]:
    name = "stock gunicorn (sync workers)" if stock else "licensesvc/gunicorn_conf.py"
    figures = Figures(f"SIGTERM 0.1 s into a burst of {burst}, {name}", database_kind(url))
    answers = Answers()
    refused = 0
    with gunicorn(url, tmp_path, stock=stock) as server:
        barrier = threading.Barrier(burst + 1)

        def one() -> None:
            barrier.wait()
            answers.send("GET", server.url(f"/v1/keys?license_id={license_id}"), token)

        with ThreadPoolExecutor(max_workers=burst) as pool:
            for _ in range(burst):
                pool.submit(one)
            barrier.wait()
            time.sleep(0.1)
            server.process.send_signal(signal.SIGTERM)
        server.process.wait(timeout=60)
    for status, answer, _, _ in answers.items:
        if status is None:
            if "refused" in answer["error"].lower():
                refused += 1  # never accepted: the client may retry elsewhere
            else:
                figures.fired += 1
                figures.lost += 1
            continue
        figures.count(status, answer)
    figures.faults = 1
    figures.notes = f"{refused} connections refused (never accepted)"
    return figures, refused


def test_sigterm_during_a_burst_answers_every_accepted_request(
    rel_database_url: str, tmp_path: Path
) -> None:
    settings = e2e_settings(rel_database_url, tmp_path)
    data = prepare(settings, [("Acme", "base", "na", -30, 335, 335)])
    issue_standard_key(settings, data.license["Acme"])
    rounds = size(5, 1)
    for stock in [True, False] if FULL else [False]:
        total: Figures | None = None
        refused_total = 0
        for _ in range(rounds):
            figures, _refused = _sigterm_burst(
                rel_database_url,
                tmp_path,
                data.token["Acme"],
                data.license["Acme"],
                stock=stock,
                burst=50,
            )
            if total is None:
                total = figures
                refused_total = _refused
            else:
                for name in (
                    "fired",
                    "granted",
                    "refused",
                    "unavailable",
                    "other_5xx",
                    "lost",
                    "faults",
                ):
                    setattr(total, name, getattr(total, name) + getattr(figures, name))
                refused_total += _refused
            if not stock:
                assert figures.lost == 0, figures
                assert figures.granted == figures.fired, figures
        assert total is not None
        total.scenario = total.scenario.replace("burst of 50", f"burst of 50, x{rounds}")
        total.kills = rounds
        total.notes = f"{refused_total} connections refused (never accepted, safe to retry)"
        total.save()


def test_quota_bursts_hold_the_dr_quota_exactly(rel_database_url: str, tmp_path: Path) -> None:
    rounds = size(20, 2)
    burst = 50
    settings = e2e_settings(rel_database_url, tmp_path)
    names = [f"C{i}" for i in range(rounds)]
    data = prepare(settings, [(n, "base", "na", -30, 335, 335) for n in names])
    quota = Policy().dr_keys_per_contract_year
    figures = Figures(
        f"DR quota bursts, {burst} requests x{rounds}, two servers",
        database_kind(rel_database_url),
    )
    from tests.reliability.rel_helpers import gunicorn as start

    with start(rel_database_url, tmp_path) as one, start(rel_database_url, tmp_path) as two:
        for name in names:
            answers = Answers()
            barrier = threading.Barrier(burst)

            def fire(
                i: int,
                name: str = name,
                answers: Answers = answers,
                barrier: threading.Barrier = barrier,
            ) -> None:
                body = {
                    "license_id": data.license[name],
                    "kind": "dr_test",
                    "dr_test_date": (data.today + timedelta(days=10 + i % 100)).isoformat(),
                }
                barrier.wait()
                server = (one, two)[i % 2]
                answers.send("POST", server.url("/v1/key-requests"), data.token[name], json=body)

            with ThreadPoolExecutor(max_workers=burst) as pool:
                list(pool.map(fire, range(burst)))
            outcome = Counter(
                (s, b.get("status") if s == 201 else b.get("code")) for s, b, _, _ in answers.items
            )
            for status, answer, _, _ in answers.items:
                figures.count(status or 0, answer)
            granted = outcome[(201, "granted")]
            figures.duplicates += max(0, granted - quota)
            assert outcome == {
                (201, "granted"): quota,
                (409, "quota_exceeded"): burst - quota,
            }, outcome
    figures.save()
