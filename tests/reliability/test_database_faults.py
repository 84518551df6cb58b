"""A real gunicorn whose PostgreSQL connection runs through FaultProxy: while the database
refuses connections, goes silent, or answers slowly, every answer is a success or 503
`service_unavailable` with Retry-After within the deadline, /healthz keeps answering, the log
holds one line per failure (no tracebacks), and service comes back without a restart."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
from sqlalchemy.engine import make_url

from tests.e2e.e2e_helpers import e2e_settings, issue_standard_key, prepare
from tests.reliability.faultproxy import FaultProxy
from tests.reliability.rel_helpers import Answers, Figures, database_kind, gunicorn, worker_pids
from tests.support.runs import size
from tests.support.servers import Server

pytestmark = pytest.mark.e2e

#: the request deadline of these tests (the issue's: 5 s); the defaults are in
#: docs/reliability.md
DEADLINE = 5
DEADLINES = {
    "LICENSESVC_DB_CONNECT_TIMEOUT": "2",
    "LICENSESVC_DB_STATEMENT_TIMEOUT": "4",
    "LICENSESVC_DB_LOCK_TIMEOUT": "4",
    "LICENSESVC_DB_POOL_TIMEOUT": "2",
    "LICENSESVC_DB_BUSY_TIMEOUT": "4",
    "LICENSESVC_DB_REQUEST_TIMEOUT": str(DEADLINE),
    "LICENSESVC_DB_READINESS_TIMEOUT": "1",
}
#: issue 19 point 8: every answer within the request deadline + 1 s, whatever waits on the
#: database, connecting and the pool's checkout included
ANSWER_WITHIN = DEADLINE + 1
#: ... and /healthz within 100 ms throughout, however many requests wait on the database:
#: every probe, from the request's sending to the answer's arrival, less only the time the
#: answering worker's threads were kept from running by the machine (the kernel's run-queue
#: wait: the suite shares 2 cores with other work, at load averages up to 18). Queued behind
#: busy threads, as on main before issue 19, a probe took 2.9 s in this test's first calm
#: burst, and 45 s on the issue's slow database.
HEALTH_WITHIN = 0.1
#: ... and none, as the prober saw it (its own connecting and waking up included), over 1 s
HEALTH_OUTLIER = 1.0
#: a read while another session holds row locks: it never waits for them
READ_WITHIN = 1.0
#: requests in flight at once during a fault: more than the server's threads (2 workers x 2
#: for writes, as many for reads), so some queue
CLIENTS = 8
#: ... and while all is well (key requests of one customer queue for its row: a pile of them
#: on a busy machine can take longer than the deadline, rightly answered 503)
CALM_CLIENTS = 3


def _through(proxy: FaultProxy, url: str) -> str:
    return (
        make_url(url).set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    )


#: the /healthz prober, run in a process of its own (the test's client threads would delay
#: its measurements): GET /healthz on a raw socket every 50 ms until stdin closes, one line
#: "status seconds server machine" per probe. seconds: from before connecting to the whole
#: answer read, as a client sees it. server: from just before sending the request to the
#: kernel's receipt of the answer (SO_TIMESTAMPNS), without the prober's own connecting and
#: waking up. machine: the time the server was kept waiting for a CPU meanwhile, from the
#: kernel's per-thread run-queue wait (/proc/PID/task/TID/schedstat, second field): the event
#: loop's own (the worker's main thread) plus the longest of its other threads' (one of which
#: may hold the GIL the event loop waits for); of the two workers, the larger (either may
#: have answered, and the prober cannot tell which).
_PROBER = r"""
import os, select, socket, struct, sys, time
SO_TIMESTAMPNS = 35  # Linux: the kernel's time of receipt of each packet (CLOCK_REALTIME)
port, workers = int(sys.argv[1]), [int(pid) for pid in sys.argv[2:]]

def run_queue_waits():
    waits = {}
    for pid in workers:
        for tid in os.listdir(f"/proc/{pid}/task"):
            try:
                with open(f"/proc/{pid}/task/{tid}/schedstat") as fh:
                    waits[pid, int(tid)] = int(fh.read().split()[1]) / 1e9
            except (OSError, ValueError, IndexError):
                pass
    return waits

def machine(before, after):
    waited = {key: after[key] - before[key] for key in before.keys() & after.keys()}
    kept = []
    for pid in workers:
        others = [t for (p, tid), t in waited.items() if p == pid and tid != pid]
        kept.append(waited.get((pid, pid), 0.0) + max(others, default=0.0))
    return max(kept, default=0.0)

while not select.select([sys.stdin], [], [], 0.05)[0]:
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        before = run_queue_waits()
        sent = time.time()
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        answer, received, length = b"", None, None
        while length is None or len(answer) < length:
            chunk, extra, _, _ = sock.recvmsg(4096, socket.CMSG_SPACE(16))
            for level, kind, raw in extra:
                if (level, kind) == (socket.SOL_SOCKET, SO_TIMESTAMPNS):
                    sec, nsec = struct.unpack("qq", raw[:16])
                    received = sec + nsec / 1e9
            if not chunk:
                break
            answer += chunk
            head, end, _ = answer.partition(b"\r\n\r\n")
            if end and length is None:
                sizes = [h for h in head.split(b"\r\n") if h.lower().startswith(b"content-length:")]
                length = len(head) + 4 + int(sizes[0].split(b":")[1]) if sizes else None
        after = run_queue_waits()
    seconds = time.monotonic() - started
    line = answer.split(b"\r\n", 1)[0].split()
    status = int(line[1]) if len(line) > 1 else 0
    server = received - sent if received else seconds
    print(status, seconds, server, machine(before, after), flush=True)
"""


@dataclass
class Probe:
    """One /healthz probe (see _PROBER)."""

    status: int
    seconds: float
    server: float
    machine: float

    @property
    def own(self) -> float:
        """The server's own time: what it took, less what the machine kept it waiting."""
        return max(0.0, self.server - self.machine)


class HealthProber:
    """Probes /healthz (every 50 ms, its own process) while the block runs; `probes` then
    holds each probe."""

    def __init__(self, server: Server) -> None:
        self.port = int(server.base_url.rsplit(":", 1)[1])
        self.workers = worker_pids(server)
        self.probes: list[Probe] = []

    def __enter__(self) -> HealthProber:
        self.process = subprocess.Popen(
            [sys.executable, "-c", _PROBER, str(self.port), *map(str, self.workers)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        first = self.process.stdout.readline()  # probing has begun
        self._lines = [first]
        return self

    def __exit__(self, *_exc: object) -> None:
        out, _ = self.process.communicate(input="", timeout=60)
        for line in [*self._lines, *out.splitlines()]:
            status, seconds, server, machine = line.split()
            self.probes.append(Probe(int(status), float(seconds), float(server), float(machine)))


class Load:
    """Bursts of API requests (half GET /v1/keys, half POST /v1/key-requests, CLIENTS at
    once) while a prober asks /healthz every 50 ms; every answer's status and time is checked
    against the deadlines and counted in the current Figures row."""

    def __init__(self, server: Server, token: str, license_id: int, count: int) -> None:
        self.server = server
        self.token = token
        self.body = {"license_id": license_id, "kind": "replacement"}
        self.count = count
        self.slowest: dict[str, float] = {"answer": 0.0, "read": 0.0}
        self.health: list[Probe] = []

    def burst(
        self,
        figures: Figures,
        expect: str,
        *,
        reads_within: float | None = None,
        read_token: str | None = None,
    ) -> None:
        """expect: "success" (2xx only), "unavailable" (503 only) or "either"; with
        reads_within, every GET must be a 200 within that many seconds. read_token: the GETs'
        token (default: the POSTs')."""
        reads, writes = Answers(), Answers()
        clients = CALM_CLIENTS if expect == "success" else CLIENTS
        with HealthProber(self.server) as prober, ThreadPoolExecutor(max_workers=clients) as pool:
            for i in range(self.count):
                if i % 2:
                    url = self.server.url("/v1/key-requests")
                    pool.submit(writes.send, "POST", url, self.token, json=self.body)
                else:
                    url = self.server.url("/v1/keys")
                    pool.submit(reads.send, "GET", url, read_token or self.token)
        health = prober.probes
        for status, answer, seconds, retry_after in reads.items + writes.items:
            assert status is not None, (expect, answer)
            figures.count(status, answer)
            self.slowest["answer"] = max(self.slowest["answer"], seconds)
            assert seconds < ANSWER_WITHIN, (expect, status, seconds, answer)
            if expect == "success":
                assert status in (200, 201), (expect, status, answer)
            elif expect == "unavailable":
                assert status == 503, (expect, status, answer)
            else:
                assert status in (200, 201, 503), (expect, status, answer)
            if status == 503:
                assert answer["code"] == "service_unavailable", answer
                assert int(retry_after) > 0
        if reads_within is not None:
            assert all(status == 200 for status, *_ in reads.items), reads.items
            self.slowest["read"] = max(t for _, _, t, _ in reads.items)
            assert self.slowest["read"] < reads_within, sorted(t for *_, t, _ in reads.items)
        assert health and all(p.status == 200 for p in health), health
        self.health += health
        assert max(p.seconds for p in health) < HEALTH_OUTLIER, (expect, health)
        late = [p for p in health if p.own >= HEALTH_WITHIN]
        assert not late, (expect, late)

    def health_figures(self) -> str:
        """How the /healthz probes of every burst so far went (each checked in `burst`)."""
        probes = self.health
        server = sorted(p.server for p in probes)
        discounted = [p for p in probes if p.server >= HEALTH_WITHIN]
        machine = max((p.machine for p in discounted), default=0.0)
        return (
            f"/healthz: {len(probes)} probes, median {server[len(server) // 2] * 1000:.0f} ms, "
            f"slowest {server[-1] * 1000:.0f} ms "
            f"(own {max(p.own for p in probes) * 1000:.0f} ms), "
            f"{len(discounted)} over {HEALTH_WITHIN * 1000:.0f} ms while the machine kept "
            f"the server from a CPU (up to {machine * 1000:.0f} ms)"
        )


def test_outage_and_slow_database_answer_503_or_success_in_time(
    rel_database_url: str, tmp_path: Path
) -> None:
    """Issue 19 point 8: the database refusing, silent (a black hole: connections open,
    nothing flows) and slow (+0.3 s per message, CLIENTS requests piled on it): every answer is
    2xx or 503 problem+json within the deadline + 1 s, /healthz under 100 ms
    throughout (less the time the machine kept the server from a CPU, measured)."""
    if not rel_database_url.startswith("postgresql"):
        pytest.skip("the fault proxy sits between the app and PostgreSQL")
    settings = e2e_settings(rel_database_url, tmp_path)
    data = prepare(settings, [("Acme", "base", "na", -30, 335, 335)])
    issue_standard_key(settings, data.license["Acme"])
    target = make_url(rel_database_url)
    proxy = FaultProxy((target.host or "127.0.0.1", target.port or 5432)).start()
    per_phase = size(40, 8)
    #: one row per fault, each with the bursts before, during and after it
    phases = {
        name: Figures(f"{title} (fault proxy), then recovery without restart", "PostgreSQL")
        for name, title in (
            ("refuse", "database outage: connections refused"),
            ("blackhole", "silent database: black hole, nothing flows"),
            ("delay", f"slow database: +0.3 s per message, {CLIENTS} requests at once"),
        )
    }
    try:
        with gunicorn(_through(proxy, rel_database_url), tmp_path, env=DEADLINES) as server:
            load = Load(server, data.token["Acme"], data.license["Acme"], per_phase)

            def ready() -> int:
                return requests.get(server.url("/readyz"), timeout=ANSWER_WITHIN).status_code

            logged: dict[str, int] = {}
            slowest: dict[str, dict[str, float]] = {}
            health: dict[str, str] = {}

            def phase(name: str) -> Figures:
                phases[name].faults = -proxy.faults
                load.slowest = {"answer": 0.0, "read": 0.0}
                load.health = []
                return phases[name]

            def end(name: str) -> None:
                phases[name].faults += proxy.faults
                slowest[name] = dict(load.slowest)
                health[name] = load.health_figures()
                logged[name] = server.log.read_text().count("database unavailable") - sum(
                    logged.values()
                )

            row = phase("refuse")
            load.burst(row, "success")
            proxy.refuse()
            load.burst(row, "unavailable")
            assert ready() == 503
            proxy.heal()
            load.burst(row, "success")  # recovery, same server processes
            assert ready() == 200
            end("refuse")
            row = phase("blackhole")
            proxy.blackhole()
            started = time.monotonic()
            assert ready() == 503
            assert time.monotonic() - started < 4
            load.burst(row, "unavailable")
            load.burst(row, "unavailable")  # the pool now holds only dead connections
            proxy.heal()
            proxy.cut_all()  # the held connections are useless now; the pool replaces them
            load.burst(row, "success")
            end("blackhole")
            row = phase("delay")
            proxy.delay(0.3)
            load.burst(row, "either")
            proxy.heal()
            load.burst(row, "success")
            end("delay")
            log = server.log.read_text()
        assert "Traceback" not in log, _around_traceback(log)
        for name, row in phases.items():
            assert row.other_5xx == 0, (name, row)
            row.notes = (
                f"{logged[name]} log lines for {row.unavailable} answers 503, no traceback; "
                f"slowest answer {slowest[name]['answer']:.2f} s (deadline {DEADLINE} s); "
                f"{health[name]}"
            )
        assert phases["refuse"].unavailable > 0 and phases["blackhole"].unavailable > 0
    finally:
        proxy.stop()
    for row in phases.values():
        row.save()
        print(row)


def _hold_row_locks(database_url: str) -> Callable[[], None]:
    """Open a session of our own that locks every row a key request or a token's use touches
    and then sits idle in its transaction (a stuck client); returns its release."""
    if database_url.startswith("postgresql"):
        import psycopg

        url = make_url(database_url).set(drivername="postgresql")
        stuck = psycopg.connect(url.render_as_string(hide_password=False))
        for table in ("api_tokens", "customers", "contracts", "licenses", "keys"):
            stuck.execute(f"SELECT * FROM {table} FOR UPDATE")  # noqa: S608 - fixed names

        def release_pg() -> None:
            stuck.rollback()
            stuck.close()

        return release_pg
    path = database_url.split("///", 1)[1]
    # the server may be writing (a token's last use, the log integrator): wait for the lock
    writer = sqlite3.connect(path, isolation_level=None, timeout=30)
    writer.execute("BEGIN IMMEDIATE")  # SQLite: the one write lock
    writer.execute("UPDATE api_tokens SET last_used_at = last_used_at")

    def release_sqlite() -> None:
        writer.execute("ROLLBACK")
        writer.close()

    return release_sqlite


def test_a_stuck_session_holding_row_locks_delays_no_read_and_no_answer(
    rel_database_url: str, tmp_path: Path
) -> None:
    """Issue 19 point 8: one session stuck in a transaction holding the rows' locks (the
    write lock on SQLite): reads answer 200 at once (they never wait on a writer's locks;
    a token's last-use bookkeeping gives up instead), writes answer 201 or 503 within the
    deadline + 1 s, /healthz under 100 ms; and all is well once the session lets go."""
    kind = database_kind(rel_database_url)
    settings = e2e_settings(rel_database_url, tmp_path)
    data = prepare(settings, [("Acme", "base", "na", -30, 335, 335)])
    issue_standard_key(settings, data.license["Acme"])
    row = Figures("stuck session holding the rows' locks, then released", kind)
    with gunicorn(rel_database_url, tmp_path, env=DEADLINES) as server:
        load = Load(server, data.token["Acme"], data.license["Acme"], size(40, 8))
        load.burst(row, "success")
        release = _hold_row_locks(rel_database_url)
        try:
            # reads with a token never used yet: recording its use would wait for the lock
            reader = data.token["analyst"]
            load.burst(row, "either", reads_within=READ_WITHIN, read_token=reader)
        finally:
            release()
        load.burst(row, "success")
        log = server.log.read_text()
    assert "Traceback" not in log, _around_traceback(log)
    assert row.other_5xx == 0, row
    row.notes = (
        f"reads within {load.slowest['read']:.2f} s while the locks were held; slowest answer "
        f"{load.slowest['answer']:.2f} s (deadline {DEADLINE} s); {load.health_figures()}"
    )
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


def _around_traceback(log: str) -> str:
    """The server log from just before its first traceback (the assertion's message)."""
    at = log.find("Traceback")
    return log[max(0, at - 1500) : at + 4000]
