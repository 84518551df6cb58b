"""Exactly one answer per decision, on real gunicorn servers: concurrent grant/deny, escalate
and revoke of one object from two servers have exactly one winner and no 5xx; a retry with the
same Idempotency-Key after a lost COMMIT reply (fault proxy) or a client that hung up gets the
first key, and nothing is issued twice."""

from __future__ import annotations

import json
import socket
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from licensesvc.models import AuditRecord, IdempotencyKey, IssuedKey
from licensesvc.runtime import Runtime
from tests.e2e.e2e_helpers import Server, e2e_settings, issue_standard_key, prepare
from tests.reliability.faultproxy import FaultProxy, is_commit
from tests.reliability.rel_helpers import Answers, Figures, database_kind, gunicorn
from tests.support.runs import size

pytestmark = pytest.mark.e2e

AT_ONCE = 8
TEMPORARY = {"kind": "temporary", "reason": "usage_spike"}


def _db(settings: Any, query: Callable[..., Any]) -> Any:
    runtime = Runtime.from_settings(settings)
    try:
        with runtime.sessions() as session:
            return query(session)
    finally:
        runtime.engine.dispose()


def _audit_count(settings: Any, action: str | tuple[str, ...], entity_id: str) -> int:
    actions = (action,) if isinstance(action, str) else action
    return int(
        _db(
            settings,
            lambda s: s.scalar(
                select(func.count())
                .select_from(AuditRecord)
                .where(AuditRecord.action.in_(actions), AuditRecord.entity_id == entity_id)
            ),
        )
    )


def _refused_case(server: Server, token: str, license_id: int) -> str:
    r = requests.post(
        server.url("/v1/key-requests"),
        json={"license_id": license_id, **TEMPORARY},
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    assert r.status_code == 403, r.text  # a Base plan has no temporary keys: a refused case
    case_number: str = r.json()["case_number"]
    return case_number


def _at_once(calls: list[tuple[Server, str, str, dict[str, Any]]]) -> Answers:
    """POST every (server, path, token, body) at the same moment."""
    answers = Answers()
    barrier = threading.Barrier(len(calls))

    def fire(call: tuple[Server, str, str, dict[str, Any]]) -> None:
        server, path, token, body = call
        barrier.wait()
        answers.send("POST", server.url(path), token, timeout=60, json=body)

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        list(pool.map(fire, calls))
    return answers


def test_concurrent_decisions_on_one_object_have_exactly_one_winner(
    rel_database_url: str, tmp_path: Path
) -> None:
    rounds = size(10, 2)
    settings = e2e_settings(rel_database_url, tmp_path)
    data = prepare(settings, [("Acme", "base", "na", -30, 335, 335)])
    issue_standard_key(settings, data.license["Acme"])  # the key the replacements replace
    analyst, customer, license_id = data.token["analyst"], data.token["Acme"], data.license["Acme"]
    figures = Figures(
        f"grant/deny, escalate and revoke of one object, {AT_ONCE} at once x{rounds} each, "
        "two servers",
        database_kind(rel_database_url),
    )
    outcomes: Counter[tuple[str, int | None, str]] = Counter()
    with gunicorn(rel_database_url, tmp_path) as one, gunicorn(rel_database_url, tmp_path) as two:
        servers = (one, two)
        for _ in range(rounds):
            decided = _refused_case(one, customer, license_id)
            escalated = _refused_case(one, customer, license_id)
            serial = issue_standard_key(settings, license_id)  # a fresh key to revoke
            trials: list[tuple[str, str, list[tuple[Server, str, str, dict[str, Any]]]]] = [
                (
                    "grant/deny",
                    decided,
                    [
                        (
                            servers[i % 2],
                            f"/v1/key-requests/{decided}/{('grant', 'deny')[i // 2 % 2]}",
                            analyst,
                            {"reason": f"decision {i}"},
                        )
                        for i in range(AT_ONCE)
                    ],
                ),
                (
                    "escalate",
                    escalated,
                    [
                        (
                            servers[i % 2],
                            f"/v1/key-requests/{escalated}/escalate",
                            customer,
                            {"note": f"please {i}"},
                        )
                        for i in range(AT_ONCE)
                    ],
                ),
                (
                    "revoke",
                    serial,
                    [
                        (servers[i % 2], f"/v1/keys/{serial}/revoke", analyst, {"reason": f"r{i}"})
                        for i in range(AT_ONCE)
                    ],
                ),
            ]
            for name, _subject, calls in trials:
                answers = _at_once(calls)
                for status, body, _, _ in answers.items:
                    figures.count(status or 0, body)
                    outcomes[(name, status, body.get("code", ""))] += 1
                winners = [s for s, *_ in answers.items if s == 200]
                figures.duplicates += max(0, len(winners) - 1)
                assert len(winners) == 1, (name, Counter(s for s, *_ in answers.items))
                assert Counter(b.get("code") for s, b, *_ in answers.items if s != 200) == {
                    "invalid_state": AT_ONCE - 1
                }, answers.items
            decisions = _audit_count(
                settings, ("case.overridden", "case.granted", "case.denied"), decided
            )
            escalations = _audit_count(settings, "case.escalated", escalated)
            revocations = _audit_count(settings, "key.revoked", serial)
            keys_of_case = _db(
                settings,
                lambda s, c=decided: s.scalar(
                    select(func.count()).select_from(IssuedKey).where(IssuedKey.case_number == c)
                ),
            )
            figures.duplicates += (
                max(0, decisions - 1)
                + max(0, escalations - 1)
                + max(0, revocations - 1)
                + max(0, keys_of_case - 1)
            )
            assert (decisions, escalations, revocations) == (1, 1, 1)
            assert keys_of_case <= 1
    figures.notes = "; ".join(
        f"{n} {s} {c or ''}: {k}".strip() for (n, s, c), k in outcomes.items()
    )
    figures.save()
    assert figures.other_5xx == 0 and figures.unavailable == 0, outcomes


def _post_with_key(
    server: Server, token: str, key: str, body: dict[str, Any], timeout: float = 30
) -> requests.Response:
    return requests.post(
        server.url("/v1/key-requests"),
        json=body,
        headers={"Authorization": f"Bearer {token}", "Idempotency-Key": key},
        timeout=timeout,
    )


def _retry_until_answered(
    server: Server, token: str, key: str, body: dict[str, Any]
) -> requests.Response:
    """Retry with the same key while the answer is 503 or 409 idempotency_in_progress."""
    deadline = time.monotonic() + 30
    while True:
        r = _post_with_key(server, token, key, body)
        in_progress = r.status_code == 409 and r.json().get("code") == "idempotency_in_progress"
        if not (r.status_code == 503 or in_progress) or time.monotonic() > deadline:
            return r
        time.sleep(0.2)


def _replacement_count(settings: Any, license_id: int) -> int:
    return int(
        _db(
            settings,
            lambda s: s.scalar(
                select(func.count())
                .select_from(IssuedKey)
                .where(IssuedKey.license_id == license_id, IssuedKey.kind == "replacement")
            ),
        )
    )


def test_a_retry_after_a_lost_commit_reply_gets_the_first_key(
    rel_database_url: str, tmp_path: Path
) -> None:
    if not rel_database_url.startswith("postgresql"):
        pytest.skip("the fault proxy sits between the app and PostgreSQL")
    rounds = size(20, 2)
    settings = e2e_settings(rel_database_url, tmp_path)
    data = prepare(settings, [("Acme", "base", "na", -30, 335, 335)])
    issue_standard_key(settings, data.license["Acme"])  # the key the replacements replace
    token, license_id = data.token["Acme"], data.license["Acme"]
    body = {"license_id": license_id, "kind": "replacement"}
    target = make_url(rel_database_url)
    proxy = FaultProxy((target.host or "127.0.0.1", target.port or 5432)).start()
    through = (
        make_url(rel_database_url)
        .set(host="127.0.0.1", port=proxy.port)
        .render_as_string(hide_password=False)
    )
    figures = Figures("retry after a lost COMMIT reply (fault proxy), same Idempotency-Key", "")
    figures.database = "PostgreSQL"
    first_answers: Counter[str] = Counter()
    try:
        # the transparency log's integrator off: its own COMMIT each second would be the one
        # the proxy cuts, not the request's
        quiet = {"LICENSESVC_DB_REQUEST_TIMEOUT": "8", "LICENSESVC_LOG_INTEGRATE_EVERY": "0"}
        with gunicorn(through, tmp_path, env=quiet) as server:
            for _ in range(rounds):
                # a read first, so the token's use is recorded now and not in the request's
                # own COMMIT, which is the one to lose
                requests.get(server.url("/v1/keys"), headers={"Authorization": f"Bearer {token}"})
                before = _replacement_count(settings, license_id)
                key = uuid.uuid4().hex
                proxy.cut_after(is_commit)
                figures.faults += 1
                try:
                    first = _post_with_key(server, token, key, body)
                    first_answers[str(first.status_code)] += 1
                    figures.count(first.status_code, first.json())
                    assert first.status_code == 503, first.text
                    assert first.json()["code"] == "service_unavailable"
                except requests.ConnectionError:
                    first_answers["connection dropped"] += 1
                    figures.fired += 1
                    figures.lost += 1
                assert _replacement_count(settings, license_id) == before + 1  # it did commit
                retry = _retry_until_answered(server, token, key, body)
                figures.count(retry.status_code, retry.json())
                assert retry.status_code == 201, retry.text
                assert retry.headers["Idempotent-Replayed"] == "true"
                stored = _db(
                    settings,
                    lambda s, k=key: s.scalar(
                        select(IdempotencyKey.response_body).where(IdempotencyKey.key == k)
                    ),
                )
                assert retry.json()["key"]["serial"] == json.loads(stored)["key"]["serial"]
                after = _replacement_count(settings, license_id)
                figures.duplicates += after - (before + 1)
                assert after == before + 1
    finally:
        proxy.stop()
    figures.notes = "first attempts: " + ", ".join(f"{k} x{v}" for k, v in first_answers.items())
    figures.notes += "; every retry answered 201 with the first key, Idempotent-Replayed: true"
    figures.save()


def _hang_up(server: Server, token: str, key: str, body: dict[str, Any]) -> None:
    """Send the request on a raw socket and close it before any answer."""
    url = urlsplit(server.url("/v1/key-requests"))
    payload = json.dumps(body).encode()
    head = (
        f"POST {url.path} HTTP/1.1\r\nHost: {url.netloc}\r\nAuthorization: Bearer {token}\r\n"
        f"Idempotency-Key: {key}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(payload)}\r\nConnection: close\r\n\r\n"
    ).encode()
    with socket.create_connection((url.hostname, url.port), timeout=10) as sock:
        sock.sendall(head + payload)


def test_a_retry_after_the_client_hung_up_gets_the_first_key(
    rel_database_url: str, tmp_path: Path
) -> None:
    rounds = size(10, 2)
    settings = e2e_settings(rel_database_url, tmp_path)
    data = prepare(settings, [("Acme", "base", "na", -30, 335, 335)])
    issue_standard_key(settings, data.license["Acme"])  # the key the replacements replace
    token, license_id = data.token["Acme"], data.license["Acme"]
    body = {"license_id": license_id, "kind": "replacement"}
    figures = Figures(
        "retry after the client hung up, same Idempotency-Key", database_kind(rel_database_url)
    )
    with gunicorn(rel_database_url, tmp_path) as server:
        for _ in range(rounds):
            before = _replacement_count(settings, license_id)
            key = uuid.uuid4().hex
            _hang_up(server, token, key, body)
            figures.fired += 1
            figures.lost += 1
            figures.faults += 1
            # the client comes back a little later, once the first request was handled
            deadline = time.monotonic() + 20
            while _replacement_count(settings, license_id) == before:
                assert time.monotonic() < deadline, "the abandoned request was not handled"
                time.sleep(0.05)
            retry = _retry_until_answered(server, token, key, body)
            figures.count(retry.status_code, retry.json())
            assert retry.status_code == 201, retry.text
            assert retry.headers["Idempotent-Replayed"] == "true"
            stored = _db(
                settings,
                lambda s: s.scalars(
                    select(IssuedKey.serial)
                    .where(IssuedKey.license_id == license_id, IssuedKey.kind == "replacement")
                    .order_by(IssuedKey.id.desc())
                ).first(),
            )
            assert retry.json()["key"]["serial"] == stored
            after = _replacement_count(settings, license_id)
            figures.duplicates += after - (before + 1)
            assert after == before + 1
    figures.notes = (
        "each first request's connection closed before its answer; every retry got 201 "
        "with its key, Idempotent-Replayed: true"
    )
    figures.save()
