"""Shared machinery of the reliability tests and of `scripts/reliability.py`: gunicorn started
with licensesvc/gunicorn_conf.py (or stock gunicorn, for comparison), load that records every
answer, worker kills, and the figures each scenario reports."""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import requests

from tests.e2e.e2e_helpers import server_env
from tests.support.runs import FULL_ENV
from tests.support.servers import Server, serve

FIGURES_ENV = "LICENSESVC_RELIABILITY_FIGURES"


@dataclass
class Figures:
    """One row of docs/reliability.md's table."""

    scenario: str
    database: str
    fired: int = 0
    granted: int = 0
    refused: int = 0
    unavailable: int = 0  # 503 service_unavailable
    other_5xx: int = 0
    lost: int = 0  # accepted by the server, never answered
    duplicates: int = 0
    kills: int = 0
    faults: int = 0
    records_lost: int = 0
    #: keys stored whose request never got them (killed before the answer, never retried)
    stored_unanswered: int = 0
    notes: str = ""
    #: the command that runs this scenario alone in full size (default: the current test's)
    command: str = ""
    statuses: Counter[int] = field(default_factory=Counter)

    def count(self, status: int, body: dict[str, Any] | None = None) -> None:
        self.fired += 1
        self.statuses[status] += 1
        if 200 <= status < 300:
            self.granted += 1
        elif status == 503 and (body or {}).get("code") == "service_unavailable":
            self.unavailable += 1
        elif status >= 500:
            self.other_5xx += 1
        else:
            self.refused += 1

    def save(self) -> None:
        """Append this row to the figures file when scripts/reliability.py asked for one."""
        target = os.environ.get(FIGURES_ENV)
        if not target:
            return
        row = asdict(self)
        row.pop("statuses")
        if not row["command"]:
            row["command"] = scenario_command(self.database)
        with open(target, "a") as fh:
            fh.write(json.dumps(row) + "\n")


def scenario_command(database: str) -> str:
    """The command that runs the current test alone in full size against `database`."""
    test = os.environ.get("PYTEST_CURRENT_TEST", "").rsplit(" ", 1)[0]
    where = (
        "LICENSESVC_TEST_DATABASE_URL=postgresql+psycopg://... " if database == "PostgreSQL" else ""
    )
    return f"`{where}{FULL_ENV}=1 .venv/bin/python -m pytest {test}`"


def database_kind(url: str) -> str:
    return "PostgreSQL" if url.startswith("postgresql") else "SQLite"


@contextmanager
def gunicorn(
    database_url: str,
    data_dir: Path,
    *,
    workers: int = 2,
    env: dict[str, str] | None = None,
    stock: bool = False,
) -> Iterator[Server]:
    """gunicorn with licensesvc/gunicorn_conf.py on a free port (stock=True: plain
    `gunicorn wsgi:app`, sync workers, as before issue 10); tests/support/servers.py. With
    LICENSESVC_TEST_SERVER=granian, Granian instead (`servers.granian`; stock does not apply):
    how `bench/server_checks.py` runs the reliability properties under both servers."""
    with serve(
        {**server_env(database_url, data_dir), **(env or {})},
        data_dir,
        workers=workers,
        config=None if stock else "python:licensesvc.gunicorn_conf",
        stop_within=40,
    ) as server:
        yield server


def worker_pids(server: Server) -> list[int]:
    pid = server.process.pid
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(p) for p in text.split()]


def wait_for_workers(server: Server, count: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if len(worker_pids(server)) >= count:
            try:
                if requests.get(server.url("/healthz"), timeout=5).status_code == 200:
                    return
            except requests.RequestException:
                pass
        time.sleep(0.05)
    raise RuntimeError("workers did not come back")


def kill(pid: int, sig: signal.Signals = signal.SIGKILL) -> None:
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass


class Answers:
    """Thread-safe record of (status, body, seconds) or the exception of each request."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.items: list[tuple[int | None, dict[str, Any], float, str]] = []

    def send(
        self,
        method: str,
        url: str,
        token: str,
        timeout: float = 60,
        headers: dict[str, str] | None = None,
        **kw: Any,
    ) -> tuple[int | None, dict[str, Any], float, str]:
        """Send one request, record its answer (or its exception) and return it."""
        started = time.monotonic()
        item: tuple[int | None, dict[str, Any], float, str]
        try:
            r = requests.request(
                method,
                url,
                headers={"Authorization": f"Bearer {token}", **(headers or {})},
                timeout=timeout,
                **kw,
            )
            try:
                body = r.json()
            except ValueError:
                body = {}
            item = (r.status_code, body if isinstance(body, dict) else {"list": body}, 0.0, "")
            item = (item[0], item[1], time.monotonic() - started, r.headers.get("Retry-After", ""))
        except requests.RequestException as exc:
            item = (None, {"error": f"{type(exc).__name__}: {exc}"}, time.monotonic() - started, "")
        with self.lock:
            self.items.append(item)
        return item
