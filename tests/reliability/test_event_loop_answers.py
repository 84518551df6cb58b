"""What a gunicorn worker's event loop decides by itself (licensesvc/gunicorn_conf.py): which
requests it answers as `GET /healthz` without a thread, and which go to the read threads."""

from __future__ import annotations

import pytest

from licensesvc.gunicorn_conf import HEALTH_ANSWER, is_health_check, only_reads


@pytest.mark.parametrize(
    ("head", "answered"),
    [
        (b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n", True),
        (b"GET /healthz?probe=lb HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n", True),
        # everything else is the app's (or gunicorn's parser's) to answer
        (b"GET /healthz HTTP/1.0\r\n\r\n", False),
        (b"HEAD /healthz HTTP/1.1\r\nHost: x\r\n\r\n", False),
        (b"GET /healthzz HTTP/1.1\r\nHost: x\r\n\r\n", False),
        (b"GET /readyz HTTP/1.1\r\nHost: x\r\n\r\n", False),
        (b"POST /healthz HTTP/1.1\r\nHost: x\r\n\r\n", False),
        (b"GET /healthz HTTP/1.1\r\nContent-Length: 3\r\n\r\n", False),
        (b"GET /healthz HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", False),
        (b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\n\r\n", False),  # pipelined
        (b"GET /healthz HTTP/1.1\r\nX-Big: " + b"a" * 9000 + b"\r\n\r\n", False),
        (b"GET /healthz HTTP/1.1\r\n" + b"X-H: 1\r\n" * 101 + b"\r\n", False),
        (b"GET /healthz HTTP/1.1\r\nbroken line\r\n\r\n", False),
    ],
)
def test_only_a_plain_get_healthz_is_answered_by_the_event_loop(
    head: bytes, answered: bool
) -> None:
    assert is_health_check(head) is answered


def test_the_event_loops_answer_is_the_apps() -> None:
    head, _, body = HEALTH_ANSWER.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 OK\r\n")
    assert b"Content-Type: application/json" in head
    assert b"Content-Length: %d" % len(body) in head
    assert body == b'{"status":"ok"}\n'


@pytest.mark.parametrize(
    ("line", "reads"),
    [
        (b"GET /v1/keys HTTP/1.1", True),
        (b"HEAD /portal HTTP/1.1", True),
        (b"OPTIONS /v1/keys HTTP/1.1", True),
        (b"POST /v1/keys/verify HTTP/1.1", True),
        (b"POST /v1/key-requests HTTP/1.1", False),
        (b"POST /v1/keys/verify/x HTTP/1.1", False),
        (b"DELETE /v1/webhooks/1 HTTP/1.1", False),
        (b"garbage", False),
    ],
)
def test_requests_that_only_read_go_to_the_read_threads(line: bytes, reads: bool) -> None:
    assert only_reads(line + b"\r\nHost: x\r\n\r\n") is reads
