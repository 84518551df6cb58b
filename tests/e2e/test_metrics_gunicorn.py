"""/metrics under real gunicorn with two workers (prometheus-client's multiprocess mode): the
counts of every worker add up, and the server's log is JSON lines with request ids and no
token."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.e2e.e2e_helpers import call, e2e_settings, gunicorn, prepare
from tests.licensesvc.api.test_observability import sample

pytestmark = pytest.mark.e2e


def test_metrics_of_both_workers_add_up_and_logs_are_clean_json(
    e2e_database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    multiproc = tmp_path / "metrics"
    multiproc.mkdir()
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(multiproc))
    settings = e2e_settings(e2e_database_url, tmp_path)
    made = prepare(settings, [("Acme", "premium", "na", -30, 335, 335)])
    token = made.token["Acme"]
    with gunicorn(e2e_database_url, tmp_path, workers=2) as server:
        for i in range(20):
            r = call(server, "GET", "/v1/entitlements", token, headers={"X-Request-ID": f"e2e-{i}"})
            assert r.status_code == 200 and r.headers["X-Request-ID"] == f"e2e-{i}"
        r = call(
            server,
            "POST",
            "/v1/key-requests",
            token,
            json={"license_id": made.license["Acme"], "kind": "temporary", "reason": "usage_spike"},
        )
        assert r.status_code == 201, r.text
        texts = [call(server, "GET", "/metrics").text for _ in range(4)]
    labels = {"endpoint": "entitlements.Entitlements", "method": "GET", "status": "200"}
    # whichever worker answers /metrics, it reports the sum over both
    for text in texts:
        assert sample(text, "licensesvc_http_requests_total", **labels) == 20
        assert sample(text, "licensesvc_keys_issued_total", kind="temporary") == 1
    assert len(list(multiproc.glob("counter_*.db"))) >= 1

    log = server.log.read_text()
    assert token not in log
    lines = [json.loads(line) for line in log.splitlines() if line.startswith("{")]
    access = [e for e in lines if e.get("logger") == "licensesvc.access"]
    assert {e["request_id"] for e in access} >= {f"e2e-{i}" for i in range(20)}
