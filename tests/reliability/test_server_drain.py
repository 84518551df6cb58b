"""Graceful drain under a bigger burst than test_process_faults.py's (50 key listings, which
a server that drops the requests it has not begun can pass by luck): SIGTERM 0.1 s into a
burst of 200 cheap requests (`HEAD /healthz`: served by the app's threads, no database, so
the whole burst fits in the graceful timeout even on a busy machine), three times in full
size, and every request the kernel accepted is answered. bench/server_checks.py runs it under
Granian too (LICENSESVC_TEST_SERVER=granian)."""

from __future__ import annotations

import signal
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from tests.e2e.e2e_helpers import e2e_settings, prepare
from tests.reliability.rel_helpers import gunicorn
from tests.support.runs import size

pytestmark = pytest.mark.e2e

BURST = 200


def _burst_then_sigterm(database_url: str, data_dir: Path) -> tuple[int, int, list[str]]:
    """(answered, refused, the errors of the rest): each request of the burst either got an
    answer, was refused (never accepted: safe to retry elsewhere), or was lost."""
    answered = refused = 0
    lost: list[str] = []
    lock = threading.Lock()
    with gunicorn(database_url, data_dir) as server:
        barrier = threading.Barrier(BURST + 1)

        def one() -> None:
            nonlocal answered, refused
            barrier.wait()
            try:
                r = requests.head(server.url("/healthz"), timeout=60)
                with lock:
                    answered += r.status_code == 200
                    if r.status_code != 200:
                        lost.append(f"status {r.status_code}")
            except requests.RequestException as exc:
                with lock:
                    if "refused" in str(exc).lower():
                        refused += 1
                    elif "without response" in str(exc):
                        lost.append("closed without an answer")
                    elif "reset" in str(exc).lower():
                        lost.append("reset")
                    else:
                        lost.append(type(exc).__name__)

        with ThreadPoolExecutor(max_workers=BURST) as pool:
            for _ in range(BURST):
                pool.submit(one)
            barrier.wait()
            time.sleep(0.1)
            server.process.send_signal(signal.SIGTERM)
        server.process.wait(timeout=60)
    return answered, refused, lost


def test_sigterm_during_a_burst_of_200_answers_every_accepted_request(
    rel_database_url: str, tmp_path: Path
) -> None:
    prepare(e2e_settings(rel_database_url, tmp_path), [])
    for round_ in range(1, size(3, 1) + 1):
        answered, refused, lost = _burst_then_sigterm(rel_database_url, tmp_path)
        assert not lost, (
            f"round {round_}: {len(lost)} of {answered + len(lost)} accepted requests never "
            f"answered ({refused} refused, never accepted): {sorted(set(lost))}"
        )
        assert answered + refused == BURST
