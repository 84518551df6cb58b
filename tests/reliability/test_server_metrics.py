"""/metrics in prometheus-client's multiprocess mode under the server that runs licensesvc
(gunicorn with licensesvc/gunicorn_conf.py; Granian with LICENSESVC_TEST_SERVER=granian): the
counts of every worker add up whichever worker answers, an earlier run's samples are not
added to this one's, and a worker that dies takes its live gauges with it."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import pytest
import requests

from tests.e2e.e2e_helpers import e2e_settings, prepare
from tests.licensesvc.api.test_observability import sample
from tests.reliability.rel_helpers import gunicorn, kill, wait_for_workers, worker_pids

pytestmark = pytest.mark.e2e

REQUESTS = "licensesvc_http_requests_total"
ENTITLEMENTS = {"endpoint": "entitlements.Entitlements", "method": "GET", "status": "200"}
POOL_SIZE = "licensesvc_db_pool_size"


def _metrics(base_url: str, times: int = 4) -> list[str]:
    """/metrics `times` times over new connections (so both workers get to answer)."""
    texts = []
    for _ in range(times):
        r = requests.get(base_url + "/metrics", headers={"Connection": "close"}, timeout=10)
        assert r.status_code == 200
        texts.append(r.text)
    return texts


def _entitlements(base_url: str, token: str, count: int) -> None:
    headers = {"Authorization": f"Bearer {token}", "Connection": "close"}
    for _ in range(count):
        r = requests.get(base_url + "/v1/entitlements", headers=headers, timeout=30)
        assert r.status_code == 200, r.text


def test_metrics_add_up_across_workers_runs_and_a_dead_worker(
    rel_database_url: str, tmp_path: Path
) -> None:
    made = prepare(
        e2e_settings(rel_database_url, tmp_path), [("Acme", "base", "na", -30, 335, 335)]
    )
    token = made.token["Acme"]
    env = {"PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics")}
    (tmp_path / "metrics").mkdir()
    # an earlier run of the server left its samples in the folder
    with gunicorn(rel_database_url, tmp_path, workers=2, env=env) as earlier:
        _entitlements(earlier.base_url, token, 5)
    with gunicorn(rel_database_url, tmp_path, workers=2, env=env) as server:
        _entitlements(server.base_url, token, 20)
        before = _metrics(server.base_url)
        # whichever worker answers, it reports this run's sum over both, not the earlier run's
        counted = [sample(t, REQUESTS, **ENTITLEMENTS) for t in before]
        assert counted == [20.0] * 4, "not this run's 20 requests: an earlier run's added?"
        pool = sample(before[0], POOL_SIZE)
        assert pool > 0 and all(sample(t, POOL_SIZE) == pool for t in before)

        victim = worker_pids(server)[0]
        kill(victim, signal.SIGKILL)
        deadline = time.monotonic() + 60
        while victim in worker_pids(server) and time.monotonic() < deadline:
            time.sleep(0.05)  # until the server has reaped it
        wait_for_workers(server, 2)
        _entitlements(server.base_url, token, 4)
        after = _metrics(server.base_url)
    # the dead worker's counts stay counted; its pool no longer is: the sum is over the live
    # workers that have built theirs (the new one may not have served yet), never over three
    counted = [sample(t, REQUESTS, **ENTITLEMENTS) for t in after]
    assert counted == [24.0] * 4, "the dead worker's counts are lost, or counted twice"
    pools = [sample(t, POOL_SIZE) for t in after]
    assert all(pool / 2 <= p <= pool for p in pools), f"pool sizes {pools}, of 2 workers {pool}"
    left = list((tmp_path / "metrics").glob(f"gauge_livesum_{victim}.db"))
    assert not left, "the dead worker's live gauges are still summed"
