"""A real gunicorn with licensesvc/gunicorn_conf.py: the worker's event loop, which answers
/healthz, never waits for a client. gthread closes a connection not kept alive the graceful
way in its event loop (`close_graceful`: its FIN, then a blocking read until the client
closes too, up to 2 s), so a client that read its answer and kept the connection open held
/healthz for 2 s a connection (issue 19 point 8: /healthz is answered at once)."""

from __future__ import annotations

import socket
import time
from pathlib import Path

import pytest

from tests.e2e.e2e_helpers import e2e_settings, prepare
from tests.reliability.rel_helpers import gunicorn

pytestmark = pytest.mark.e2e

#: clients that read their answer and keep the connection open
HOLDERS = 3
#: /healthz within this, however many such clients (on main it took 2 s for each of them)
HEALTH_WITHIN = 1.0


def _answer(sock: socket.socket) -> bytes:
    """Read one HTTP answer to its end (its Content-Length)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(4096)
        assert chunk, data
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    sizes = [h for h in head.split(b"\r\n") if h.lower().startswith(b"content-length:")]
    length = int(sizes[0].split(b":")[1])
    while len(body) < length:
        chunk = sock.recv(4096)
        assert chunk, data
        body += chunk
    return head + b"\r\n\r\n" + body


def test_a_client_that_keeps_a_closed_connection_open_never_delays_healthz(
    rel_database_url: str, tmp_path: Path
) -> None:
    prepare(e2e_settings(rel_database_url, tmp_path), [("Acme", "base", "na", -30, 335, 335)])
    with gunicorn(rel_database_url, tmp_path, workers=1) as server:
        port = int(server.base_url.rsplit(":", 1)[1])
        holders = []
        try:
            for _ in range(HOLDERS):
                sock = socket.create_connection(("127.0.0.1", port), timeout=30)
                holders.append(sock)
                sock.sendall(b"GET /v1/keys HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                answer = _answer(sock)
                assert answer.startswith(b"HTTP/1.1 401 "), answer
                assert b"application/problem+json" in answer.lower(), answer
            started = time.monotonic()
            with socket.create_connection(("127.0.0.1", port), timeout=30) as probe:
                probe.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
                health = _answer(probe)
            took = time.monotonic() - started
            # the server closed its side of each held connection (its FIN came)
            for sock in holders:
                sock.settimeout(5)
                assert sock.recv(4096) == b""
        finally:
            for sock in holders:
                sock.close()
    assert health.startswith(b"HTTP/1.1 200 "), health
    assert took < HEALTH_WITHIN, took
