"""Issue 24 (what an attacker found), the findings about logs, metrics and redirects, each
reproduced as the issue wrote it and seen refused: secrets in a log record's fields and reset
links (5), invented HTTP methods as metric labels (9), forged lines in the text log (12), the
Host header reflected in redirects (13)."""

from __future__ import annotations

import io
import json
import logging
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager

from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from licensesvc.identity import users
from licensesvc.observability import JsonFormatter, RedactSecrets, TextFormatter
from licensesvc.platform.context import ServiceContext
from tests.conftest import World
from tests.licensesvc.api.api_helpers import Caller, bearer

#: LICENSESVC_FULL_TESTS=1 runs the probes at the issue's full size
FULL = os.environ.get("LICENSESVC_FULL_TESTS") == "1"


@contextmanager
def log_output(formatter: logging.Formatter) -> Iterator[io.StringIO]:
    """What the service's own stderr handler (observability.configure_logging) would write:
    the same filter and formatter, on the root logger, into a string."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter)
    handler.addFilter(RedactSecrets())
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield stream
    finally:
        root.removeHandler(handler)


# -- 5: reset tokens in the access log; secrets in a URL kept in the `path` field ------------


def test_reset_links_and_secrets_in_a_path_are_redacted_in_every_field(
    api_client: FlaskClient, analyst: ServiceContext, session: Session, world: World
) -> None:
    user = users.create_user(analyst, world.base_customer, "admin@acme.example", "x" * 16)
    _, reset_token = users.start_password_reset(analyst, user)
    session.commit()
    api_token = "lsc_cust_" + "Q" * 32
    license_key = "LK1." + "eyJ2IjoxfQ" * 6 + ".c2lnbmF0dXJl"
    for formatter in (JsonFormatter(), TextFormatter()):
        with log_output(formatter) as out:
            assert api_client.get(f"/reset-password/{reset_token}").status_code == 200
            api_client.get(f"/v1/keys/{license_key}", headers=bearer(api_token))
            api_client.get(f"/v1/keys/{api_token}")
        text = out.getvalue()
        assert "/reset-password/" in text  # the line is there, without the token
        for secret in (reset_token, api_token, license_key[:40]):
            assert secret not in text, (type(formatter).__name__, secret)
    with log_output(JsonFormatter()) as out:
        api_client.get(f"/reset-password/{reset_token}")
    access = [json.loads(line) for line in out.getvalue().splitlines()]
    reset = next(e for e in access if e["logger"] == "licensesvc.access")
    assert reset["path"] == "/reset-password/…[redacted]"
    assert reset["message"] == "GET /reset-password/…[redacted] 200"


# -- 9: any made-up HTTP method became a Prometheus label --------------------------------------


def test_invented_http_methods_are_counted_as_other(api_client: FlaskClient) -> None:
    def series() -> list[str]:
        text = api_client.get("/metrics").get_data(as_text=True)
        return [line for line in text.splitlines() if line.startswith("licensesvc_http_")]

    series()  # the metrics endpoint's own series exist from here on
    before = series()
    for n in range(3000 if FULL else 300):
        api_client.open("/v1/keys", method=f"X{n}LOOK")
    after = series()
    assert not [line for line in after if 'method="X' in line]
    assert any('method="other"' in line for line in after)
    # one new request series (other, unmatched, its status: total and created) and one
    # latency histogram (13 buckets, +Inf, count, sum, created)
    new_requests = {
        line.rsplit(" ", 1)[0] for line in after if line.startswith("licensesvc_http_requests")
    } - {line.rsplit(" ", 1)[0] for line in before}
    assert len(new_requests) <= 2, new_requests
    assert len(after) - len(before) <= 2 + 17


# -- 12: a %0A in a path forged a line of the text log ------------------------------------------

_RECORD_START = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} [A-Z]+ [\w.]+ ")


def test_the_text_log_escapes_control_characters(as_base: Caller, api_client: FlaskClient) -> None:
    forged = "2026-12-06 10:00:00,000 WARNING licensesvc.auth authentication failed from 10.9.9.9"
    with log_output(TextFormatter()) as out:
        api_client.get("/v1/keys%0A" + forged.replace(" ", "%20"), headers=bearer("lsc_cust_bad"))
        api_client.get("/v1/keys%0D%0A" + forged.replace(" ", "%20"))
        logging.getLogger("licensesvc.test").warning("a note\n%s\x1b[2J", forged)
    lines = out.getvalue().splitlines()
    assert lines and all(_RECORD_START.match(line) for line in lines), lines
    assert not [line for line in lines if line.startswith(forged)]
    assert sum("\\n2026-12-06 10:00:00,000 WARNING" in line for line in lines) >= 3
    assert "\\x1b[2J" in out.getvalue() and "\x1b" not in out.getvalue()


def test_a_traceback_in_the_text_log_is_indented_and_escaped() -> None:
    try:
        raise ValueError("bad\n2026-12-06 10:00:00,000 ERROR licensesvc.app forged")
    except ValueError:
        with log_output(TextFormatter()) as out:
            logging.getLogger("licensesvc.test").exception("failed")
    first, *rest = out.getvalue().splitlines()
    assert _RECORD_START.match(first) and rest
    assert all(line.startswith("    ") for line in rest)


# -- 13: the Host header was reflected in redirects --------------------------------------------


def test_redirects_never_name_the_host_the_client_sent(api_client: FlaskClient) -> None:
    evil = {"HTTP_HOST": "evil.example"}
    r = api_client.get("/v1//keys", environ_base=evil)
    assert r.status_code == 308
    assert r.headers["Location"] == "/v1/keys"
    r = api_client.get("/v1//keys?page=2", environ_base=evil)
    assert r.headers["Location"] == "/v1/keys?page=2"
    r = api_client.get("//v1//keys", environ_base=evil)
    assert "evil.example" not in r.headers.get("Location", "")
    assert not r.headers.get("Location", "/").startswith("//")
