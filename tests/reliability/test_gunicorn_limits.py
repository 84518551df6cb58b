"""gunicorn refuses an oversized request line or header before the app sees it; licensesvc's
worker (licensesvc/gunicorn_conf.py) answers those refusals as problem+json, like the app's own
4xx, instead of gunicorn's HTML page."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest

from licensesvc import gunicorn_conf
from licensesvc.api.error_codes import ERROR_CODES
from tests.e2e.e2e_helpers import e2e_settings, prepare
from tests.reliability.rel_helpers import gunicorn

pytestmark = pytest.mark.e2e


def _raw(port: int, request: bytes) -> tuple[str, dict[str, str], dict[str, object]]:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(request)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    status, *lines = head.decode("latin-1").split("\r\n")
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines)}
    return status, headers, json.loads(body)


def test_oversized_request_lines_and_headers_get_problem_json(
    rel_database_url: str, tmp_path: Path
) -> None:
    assert (gunicorn_conf.limit_request_line, gunicorn_conf.limit_request_fields) == (8190, 100)
    assert gunicorn_conf.limit_request_field_size == 8190
    settings = e2e_settings(rel_database_url, tmp_path)
    prepare(settings, [("Acme", "base", "na", -30, 335, 335)])
    codes = {code: status for code, status, *_ in ERROR_CODES}
    with gunicorn(rel_database_url, tmp_path, workers=1) as server:
        port = int(server.url("").rsplit(":", 1)[1].split("/")[0])
        long_line = b"GET /v1/keys?license_id=" + b"1" * 9000 + b" HTTP/1.1\r\nHost: x\r\n\r\n"
        big_header = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 9000 + b"\r\n\r\n"
        many = b"".join(b"X-H%d: 1\r\n" % i for i in range(101))
        many_headers = b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + many + b"\r\n"
        for request, status, code in (
            (long_line, 414, "uri_too_long"),
            (big_header, 431, "header_fields_too_large"),
            (many_headers, 431, "header_fields_too_large"),
        ):
            line, headers, body = _raw(port, request)
            assert line.startswith(f"HTTP/1.1 {status} "), line
            assert headers["content-type"] == "application/problem+json"
            assert body["status"] == status and body["code"] == code, body
            assert codes[code] == str(status)  # a documented code
        # an ordinary request on the same server is unaffected
        line, _, body = _raw(port, b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        assert line.startswith("HTTP/1.1 200") and body["status"] == "ok"
