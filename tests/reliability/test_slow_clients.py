"""Issue 24, findings 7 and 10, on a real gunicorn with licensesvc/gunicorn_conf.py: slow
clients cannot hold the worker threads (slowloris), and the in-memory rate limits are divided
among the worker processes."""

from __future__ import annotations

import select
import socket
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.e2e.e2e_helpers import e2e_settings, prepare
from tests.reliability.rel_helpers import gunicorn

pytestmark = pytest.mark.e2e

#: the header deadline of the server under test (LICENSESVC_HEADER_TIMEOUT; default 10 s)
HEADER_TIMEOUT = 3.0


def _port(base_url: str) -> int:
    return int(base_url.rsplit(":", 1)[1].split("/")[0])


def _slow_header(port: int, seconds: float, closed_after: list[float]) -> None:
    """The attack: a request line, then one header line a second, never the blank line that
    ends the header; notes when the server closed the connection (if it did)."""
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        n = 0
        while time.monotonic() - started < seconds:
            readable, _, _ = select.select([sock], [], [], 1.0)
            if readable:
                try:
                    closed = sock.recv(1024) == b""
                except OSError:
                    closed = True
                if closed:
                    closed_after.append(time.monotonic() - started)
                    return
            try:
                sock.sendall(b"X-Slow-%d: 1\r\n" % n)
            except OSError:
                closed_after.append(time.monotonic() - started)
                return
            n += 1


def test_four_slow_headers_do_not_stop_healthz(rel_database_url: str, tmp_path: Path) -> None:
    """The probe as the issue ran it: 4 sockets each sending one header line a second (2
    workers of 2 threads: every thread, with stock gthread); /healthz must answer 7 of 7, and
    each slow connection is closed once past the header deadline."""
    prepare(e2e_settings(rel_database_url, tmp_path), [])
    env = {"LICENSESVC_HEADER_TIMEOUT": str(HEADER_TIMEOUT)}
    with gunicorn(rel_database_url, tmp_path, workers=2, env=env) as server:
        port = _port(server.base_url)
        closed_after: list[float] = []
        attackers = [
            threading.Thread(target=_slow_header, args=(port, 12.0, closed_after), daemon=True)
            for _ in range(4)
        ]
        for attacker in attackers:
            attacker.start()
        time.sleep(1.0)  # every attacker has sent its first lines
        answered = 0
        for _ in range(7):
            try:
                r = requests.get(server.url("/healthz"), timeout=2)
                answered += r.status_code == 200
            except requests.RequestException:
                pass
            time.sleep(0.3)
        for attacker in attackers:
            attacker.join(timeout=15)
    assert answered == 7
    # every slow connection was cut at the deadline (a second of slack for the event loop)
    assert len(closed_after) == 4, closed_after
    assert all(HEADER_TIMEOUT - 0.5 <= t <= HEADER_TIMEOUT + 2.5 for t in closed_after), (
        closed_after
    )


def test_in_memory_limits_are_divided_among_the_workers(
    rel_database_url: str, tmp_path: Path
) -> None:
    """Two workers counting in memory: 20 key requests a minute must let at most 20 through
    (each worker its share of 10), not 40 (each the whole 20), whichever worker answers."""
    made = prepare(
        e2e_settings(rel_database_url, tmp_path), [("Acme", "base", "na", -30, 335, 335)]
    )
    env = {"LICENSESVC_RATELIMIT_KEY_REQUESTS": "20/minute"}
    body: dict[str, Any] = {"license_id": made.license["Acme"], "kind": "standard", "dry_run": True}
    headers = {"Authorization": f"Bearer {made.token['Acme']}", "Connection": "close"}
    statuses: list[int] = []

    def client(server_url: str) -> None:
        for _ in range(5):  # a new connection each time: whichever worker accepts it answers
            r = requests.post(server_url, json=body, headers=headers, timeout=30)
            statuses.append(r.status_code)

    with gunicorn(rel_database_url, tmp_path, workers=2, env=env) as server:
        # 8 clients at once keep both workers busy, as the attack did
        clients = [
            threading.Thread(target=client, args=(server.url("/v1/key-requests"),))
            for _ in range(8)
        ]
        for c in clients:
            c.start()
        for c in clients:
            c.join(timeout=60)
    assert len(statuses) == 40
    assert all(s < 500 for s in statuses), statuses
    granted = sum(s != 429 for s in statuses)  # answered by the app: counted, not limited
    assert 10 <= granted <= 20, statuses
