"""A real gunicorn whose PostgreSQL connection runs through FaultProxy: while the database
refuses connections, goes silent, or answers slowly, every answer is a success or 503
`service_unavailable` with Retry-After within the deadline, /healthz keeps answering, the log
holds one line per failure (no tracebacks), and service comes back without a restart."""

from __future__ import annotations

import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
from sqlalchemy.engine import make_url

from tests.e2e.e2e_helpers import e2e_settings, issue_standard_key, prepare
from tests.reliability.faultproxy import FaultProxy
from tests.reliability.rel_helpers import Answers, Figures, gunicorn
from tests.support.runs import size

pytestmark = pytest.mark.e2e

#: short deadlines so the test runs quickly; the defaults are in docs/reliability.md
DEADLINES = {
    "LICENSESVC_DB_CONNECT_TIMEOUT": "2",
    "LICENSESVC_DB_STATEMENT_TIMEOUT": "5",
    "LICENSESVC_DB_LOCK_TIMEOUT": "5",
    "LICENSESVC_DB_POOL_TIMEOUT": "2",
    "LICENSESVC_DB_REQUEST_TIMEOUT": "6",
    "LICENSESVC_DB_READINESS_TIMEOUT": "1",
}
#: the longest an answer may take: request deadline + connect + pool wait + slack
ANSWER_WITHIN = 6 + 2 + 2 + 3


def _through(proxy: FaultProxy, url: str) -> str:
    return (
        make_url(url).set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    )


def test_outage_and_slow_database_answer_503_or_success_in_time(
    rel_database_url: str, tmp_path: Path
) -> None:
    if not rel_database_url.startswith("postgresql"):
        pytest.skip("the fault proxy sits between the app and PostgreSQL")
    settings = e2e_settings(rel_database_url, tmp_path)
    data = prepare(settings, [("Acme", "base", "na", -30, 335, 335)])
    issue_standard_key(settings, data.license["Acme"])
    target = make_url(rel_database_url)
    proxy = FaultProxy((target.host or "127.0.0.1", target.port or 5432)).start()
    per_phase = size(40, 6)
    #: one row per fault, each with the bursts before, during and after it
    phases = {
        name: Figures(f"{title} (fault proxy), then recovery without restart", "PostgreSQL")
        for name, title in (
            ("refuse", "database outage: connections refused"),
            ("blackhole", "silent database: black hole, nothing flows"),
            ("delay", "slow database: +0.3 s per message"),
        )
    }
    figures = phases["refuse"]
    try:
        with gunicorn(_through(proxy, rel_database_url), tmp_path, env=DEADLINES) as server:
            token = data.token["Acme"]
            body = {"license_id": data.license["Acme"], "kind": "replacement"}

            def burst(expect: str) -> None:
                answers = Answers()
                health = Answers()
                stop = threading.Event()

                def probe() -> None:
                    while not stop.is_set():
                        health.send("GET", server.url("/healthz"), token, timeout=ANSWER_WITHIN)
                        time.sleep(0.2)

                prober = threading.Thread(target=probe)
                prober.start()
                with ThreadPoolExecutor(max_workers=3) as pool:
                    for i in range(per_phase):
                        if i % 2:
                            pool.submit(
                                answers.send,
                                "POST",
                                server.url("/v1/key-requests"),
                                token,
                                json=body,
                                timeout=30,
                            )
                        else:
                            pool.submit(
                                answers.send, "GET", server.url("/v1/keys"), token, timeout=30
                            )
                stop.set()
                prober.join()
                for status, answer, seconds, retry_after in answers.items:
                    assert status is not None, (expect, answer)
                    figures.count(status, answer)
                    assert seconds < ANSWER_WITHIN, (expect, status, seconds)
                    if expect == "success":
                        assert status in (200, 201), (expect, status, answer)
                    elif expect == "unavailable":
                        assert status == 503, (expect, status, answer)
                    else:
                        assert status in (200, 201, 503), (expect, status, answer)
                    if status == 503:
                        assert answer["code"] == "service_unavailable", answer
                        assert int(retry_after) > 0
                assert health.items and all(s == 200 for s, *_ in health.items), health.items
                assert max(t for _, _, t, _ in health.items) < ANSWER_WITHIN

            def ready() -> int:
                return requests.get(server.url("/readyz"), timeout=ANSWER_WITHIN).status_code

            logged: dict[str, int] = {}

            def phase(name: str) -> None:
                nonlocal figures
                figures = phases[name]
                figures.faults = -proxy.faults

            def end(name: str) -> None:
                phases[name].faults += proxy.faults
                logged[name] = server.log.read_text().count("database unavailable") - sum(
                    logged.values()
                )

            burst("success")
            phase("refuse")
            proxy.refuse()
            burst("unavailable")
            assert ready() == 503
            proxy.heal()
            burst("success")  # recovery, same server processes
            assert ready() == 200
            end("refuse")
            phase("blackhole")
            proxy.blackhole()
            started = time.monotonic()
            assert ready() == 503
            assert time.monotonic() - started < 4
            burst("unavailable")
            proxy.heal()
            proxy.cut_all()  # the held connections are useless now; the pool replaces them
            burst("success")
            end("blackhole")
            phase("delay")
            proxy.delay(0.3)
            burst("either")
            proxy.heal()
            burst("success")
            end("delay")
            log = server.log.read_text()
        assert "Traceback" not in log, log[-3000:]
        for name, row in phases.items():
            assert row.other_5xx == 0, (name, row)
            row.notes = (
                f"{logged[name]} log lines for {row.unavailable} answers 503, no traceback; "
                f"every answer within {ANSWER_WITHIN} s, /healthz 200 throughout"
            )
        assert phases["refuse"].unavailable > 0 and phases["blackhole"].unavailable > 0
    finally:
        proxy.stop()
    for row in phases.values():
        row.save()
        print(row)


def test_cli_says_one_line_when_the_database_is_unreachable(tmp_path: Path) -> None:
    import subprocess
    import sys

    from tests.e2e.e2e_helpers import ROOT, free_port

    env = {
        **os.environ,
        "LICENSESVC_DATABASE_URL": f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/x",
        "LICENSESVC_DATA_DIR": str(tmp_path),
        "LICENSESVC_DB_CONNECT_TIMEOUT": "2",
    }
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "cli.main", "audit", "verify"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert result.stderr.startswith("Error: cannot use the database:"), result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert time.monotonic() - started < 20
