"""Operations: every response carries X-Request-ID, logs are JSON lines with that id and no
secret, and /metrics counts requests, keys issued, refusals and rate-limit hits."""

from __future__ import annotations

import io
import json
import logging
import re

import pytest
from flask.testing import FlaskClient

from licensesvc.observability import JsonFormatter, RedactSecrets, redact, request_id_from
from tests.licensesvc.api.api_helpers import Caller, bearer


def sample(text: str, name: str, **labels: str) -> float:
    """The value of one sample in Prometheus exposition text (0 when absent)."""
    for line in text.splitlines():
        if not line.startswith(name + "{") and not line.startswith(name + " "):
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', line.split(" ")[0]))
        if all(found.get(k) == v for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def metrics(client: FlaskClient) -> str:
    r = client.get("/metrics")
    assert r.status_code == 200
    assert r.mimetype == "text/plain"
    return r.get_data(as_text=True)


@pytest.mark.parametrize(
    ("sent", "kept"),
    [
        ("client-req-42", True),
        ("a" * 64, True),
        ("has space", False),
        ("a" * 65, False),
        ("tab\there", False),
        ("", False),
    ],
)
def test_every_response_carries_a_request_id_the_clients_own_when_sane(
    api_client: FlaskClient, sent: str, kept: bool
) -> None:
    for path in ("/healthz", "/v1/entitlements", "/v1/no-such-route"):
        r = api_client.get(path, headers={"X-Request-ID": sent})
        rid = r.headers["X-Request-ID"]
        if kept:
            assert rid == sent
        else:
            assert rid != sent and re.fullmatch(r"[0-9a-f]{32}", rid)


def test_request_ids_differ_between_requests(api_client: FlaskClient) -> None:
    ids = {api_client.get("/healthz").headers["X-Request-ID"] for _ in range(5)}
    assert len(ids) == 5
    assert request_id_from(None) != request_id_from(None)


def test_metrics_count_requests_by_endpoint_and_status(
    as_base: Caller, api_client: FlaskClient
) -> None:
    before = metrics(api_client)
    for _ in range(3):
        as_base.get("/v1/entitlements")
    api_client.get("/v1/entitlements")  # no token: 401
    after = metrics(api_client)
    labels = {"endpoint": "entitlements.Entitlements", "method": "GET"}
    for status, more in (("200", 3), ("401", 1)):
        name = "licensesvc_http_requests_total"
        assert (
            sample(after, name, status=status, **labels)
            - sample(before, name, status=status, **labels)
            == more
        )
    assert (
        sample(
            after,
            "licensesvc_http_request_duration_seconds_count",
            endpoint="entitlements.Entitlements",
            status="200",
        )
        >= 3
    )
    assert "licensesvc_db_pool_connections_in_use" in after


def test_metrics_count_committed_keys_by_kind_and_refusals_by_code(
    as_base: Caller, as_premium: Caller, api_client: FlaskClient
) -> None:
    before = metrics(api_client)
    as_premium.issue("temporary", reason="usage_spike")
    as_base.ask_for_key("temporary", reason="usage_spike")  # Base: plan_not_eligible
    as_base.ask_for_key("replacement", dry_run=True)  # a dry run records nothing
    after = metrics(api_client)

    def grew(name: str, **labels: str) -> float:
        return sample(after, name, **labels) - sample(before, name, **labels)

    assert grew("licensesvc_keys_issued_total", kind="temporary") == 1
    assert grew("licensesvc_keys_issued_total", kind="replacement") == 0
    assert grew("licensesvc_key_request_refusals_total", code="plan_not_eligible") == 1


def test_metrics_count_rate_limit_hits(api_client: FlaskClient) -> None:
    before = sample(metrics(api_client), "licensesvc_rate_limit_hits_total", limit="failed_auth")
    for _ in range(31):  # the default: 30 failed authentications a minute per address
        api_client.get("/v1/keys", headers=bearer("lsc_cust_nope"))
    after = sample(metrics(api_client), "licensesvc_rate_limit_hits_total", limit="failed_auth")
    assert after - before == 1


def test_log_lines_are_json_with_the_request_id_and_no_secret(
    as_base: Caller, api_client: FlaskClient, caplog: pytest.LogCaptureFixture
) -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RedactSecrets())
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        r = api_client.get(
            "/v1/entitlements", headers={**bearer(as_base.token), "X-Request-ID": "trace-7"}
        )
        bad = api_client.get("/v1/keys", headers=bearer(as_base.token + "x"))
        logging.getLogger("licensesvc.test").warning(
            "echo %s and LK1.eyJhbGciOi.c2ln", as_base.token
        )
    finally:
        root.removeHandler(handler)
    assert r.status_code == 200 and bad.status_code == 401
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    access = [e for e in lines if e["logger"] == "licensesvc.access"]
    assert {"request_id": "trace-7", "status": 200, "path": "/v1/entitlements"}.items() <= access[
        0
    ].items()
    assert any(e["logger"] == "licensesvc.auth" for e in lines)
    assert as_base.token not in stream.getvalue()
    assert "eyJhbGciOi" not in stream.getvalue()
    assert as_base.token[:13] in stream.getvalue()  # the prefix is kept, to tell tokens apart


def test_redact_removes_tokens_and_keys_but_keeps_their_prefixes() -> None:
    text = "token lsc_anl_abcdEFGH1234_-xyz key LK1.eyJ2IjoxfQ.c2lnbmF0dXJl done"
    assert redact(text) == "token lsc_anl_abcd…[redacted] key LK1.…[redacted] done"
