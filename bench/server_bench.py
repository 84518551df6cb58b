"""Server benchmark: licensesvc under real gunicorn against a bare Flask app, with wrk.

Run from the repository root (wrk from Debian; `scripts/ensure-services.sh` installs it)::

    .venv/bin/python -m bench.server_bench            # full run, writes docs/performance.md
    .venv/bin/python -m bench.server_bench --quick    # short run, prints only
    .venv/bin/python -m bench.server_bench --growth   # at 10,000 and 1,000,000 keys, a chart
    .venv/bin/python -m bench.server_bench --profile  # pyinstrument, top frames to the doc
    .venv/bin/python -m bench.server_bench --tune     # threads per worker of gunicorn_conf.py
    .venv/bin/python -m bench.server_bench --servers  # gunicorn sync and gthread, Granian
    .venv/bin/python -m bench.server_bench --cost     # CPU and WAL per key request, in process

Each writes only its own marked section of docs/performance.md.

One run starts, on 127.0.0.1 and on free ports, gunicorn serving licensesvc (2 sync workers;
and the deployment doc's configuration, `licensesvc/gunicorn_conf.py`, when present) on a
fresh SQLite file and on a fresh PostgreSQL database, and the bare Flask app of
`bench/bare_app.py` under the same gunicorn as the baseline. wrk (16 connections, one thread)
drives each endpoint in rounds, each round a baseline run then an endpoint run; bounded by
count (`BENCH_MAX_REQUESTS` per wrk thread) and by time (`-d`). A ratio is the median over
rounds of (endpoint ÷ bare) from the same round; absolute figures are medians too.

Endpoints (`ROWS` says what each row sends, and the report prints it): `POST /v1/keys/verify`
and `GET /v1/entitlements` of a reader customer no load writes to (so a row finds the same data
in every round, setup and growth size), `POST /v1/key-requests` (replacement, one customer; and
replacements from 64 customers at once under 2 and under 4 workers) and `GET /v1/revocations`;
and the "parts" rows: the bare app doing only the cryptography of a verify, or one INSERT and
COMMIT (the least an endpoint could cost, see `bench/bare_app.py`). Rate limits stay on, raised
out of reach, so their cost is measured but they never answer 429.

The key-request rows write: each answer issues a key that supersedes the license's previous
one. Every round finds the same: the policy ends at once the overlap of a key the newer keys
make redundant (domain/policy.py `_overlaps_ended`), so a license holds its key and the one that
key superseded however many rounds refreshed it; the report prints how many usable keys the
licenses hold after the rows (`live_key_lines`).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from tests.support import servers
from tests.support.servers import Server

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUTPUT = REPO_ROOT / "docs" / "performance.md"
GROWTH_CHART = REPO_ROOT / "docs" / "performance-growth.png"
#: the gunicorn configuration docs/deployment.md recommends, when the repository has it
RECOMMENDED_MODULE = REPO_ROOT / "licensesvc" / "gunicorn_conf.py"
RECOMMENDED_CONFIG = "python:licensesvc.gunicorn_conf"
LUA = Path(__file__).with_name("wrk_requests.lua")
RERUN = ".venv/bin/python -m bench.server_bench"
PG_ADMIN_URL = os.environ.get(
    "LICENSESVC_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
SECRET_KEY = "bench-secret-key-0123456789abcdef0123"
PASSPHRASE = "bench-signing-passphrase"
CUSTOMERS = 64
MARK = "server-bench"
GROWTH_MARK = "server-bench-growth"
PROFILE_MARK = "server-profile"
UNREACHABLE = "100000000/minute"
VERIFY = "POST /v1/keys/verify"
#: issue 20: verify answers per second per core of the machine, wrk on the same machine
VERIFY_PER_CORE = 1500


# -- data --------------------------------------------------------------------------------------


@dataclass
class Prepared:
    #: the reader customer's standard key: what the verify row checks
    key_text: str
    #: the reader customer's token: whose entitlement report the entitlements row reads
    reader_token: str
    #: the CUSTOMERS writer customers' tokens and licenses (each with a standard key): the
    #: key-request rows refresh their keys
    tokens: list[str]
    licenses: list[int]


def settings_for(database_url: str, data_dir: Path) -> Any:
    from licensesvc.config import Settings

    return Settings(
        database_url=database_url,
        secret_key=SECRET_KEY,
        signing_key_passphrase=PASSPHRASE,
        data_dir=data_dir,
    )


def prepare(database_url: str, data_dir: Path, *, migrate: bool = True) -> Prepared:
    """Upgrade the schema (unless told not to), make a signing key if there is none and, through
    the services, CUSTOMERS Premium customers and one more, the reader, each with a contract, a
    license with a standard key, and a token. The key-request rows write to the CUSTOMERS
    customers' licenses; the reader's key and report, which the verify and entitlements rows
    read, stay as prepared, so those rows read the same whatever the writers did before."""
    from licensesvc import accounts, identity, issuance
    from licensesvc.domain.policy import KeyRequestInput
    from licensesvc.issuance import request_key
    from licensesvc.migrate import upgrade
    from licensesvc.platform.context import Actor
    from licensesvc.runtime import Runtime

    runtime = Runtime.from_settings(settings_for(database_url, data_dir))
    try:
        if migrate:
            upgrade(runtime.engine)
        made = Prepared("", "", [], [])
        with runtime.unit_of_work(Actor.system()) as ctx:
            if not issuance.list_signing_keys(ctx):
                issuance.generate_signing_key(ctx)
            today = ctx.now().date()
            tag = uuid.uuid4().hex[:6]
            for i in range(CUSTOMERS + 1):
                reader = i == CUSTOMERS
                name = f"Bench {tag} {'reader' if reader else i}"
                customer = accounts.create_customer(ctx, name, "na")
                accounts.create_contract(
                    ctx,
                    customer.id,
                    "premium",
                    today - timedelta(days=30),
                    today + timedelta(days=335),
                    today + timedelta(days=335),
                )
                lic = accounts.create_license(
                    ctx, customer.id, "JAMS Scheduler", 10, 1000, f"sched{i}.bench.example"
                )
                outcome = request_key(ctx, KeyRequestInput(license_id=lic.id, kind="standard"))
                assert outcome.key is not None
                token = identity.create_token(ctx, customer_id=customer.id)[1]
                if reader:
                    made.key_text, made.reader_token = outcome.key.key_text, token
                else:
                    made.tokens.append(token)
                    made.licenses.append(lic.id)
        return made
    finally:
        runtime.engine.dispose()


@contextmanager
def postgres_database(label: str) -> Iterator[str]:
    """A fresh PostgreSQL database, dropped afterwards."""
    from sqlalchemy import create_engine, text

    name = f"lsvc_bench_{label}_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    finally:
        with admin.connect() as conn:
            # FORCE ends its sessions and drops it in one step (none can reconnect between)
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


# -- servers -----------------------------------------------------------------------------------


@contextmanager
def gunicorn(
    app: str,
    env: dict[str, str],
    workdir: Path,
    *,
    workers: int = 2,
    config: str | None = None,
    ready_path: str = "/readyz",
) -> Iterator[Server]:
    """gunicorn serving app on a free port of 127.0.0.1 until the block ends (the tests' one
    launcher, tests/support/servers.py). It runs in workdir, so no gunicorn.conf.py is read
    unless config names one; each server counts its metrics in a directory of its own."""
    with servers.gunicorn(
        env,
        workdir,
        app=app,
        workers=None if config is not None else workers,
        config=config,
        options=() if config is not None else ("--timeout", "60"),
        cwd=workdir,
        metrics_dir=workdir,
        ready_path=ready_path,
        stop_within=20,
    ) as server:
        yield server


def licensesvc_env(database_url: str, data_dir: Path) -> dict[str, str]:
    return {
        "LICENSESVC_DATABASE_URL": database_url,
        "LICENSESVC_SECRET_KEY": SECRET_KEY,
        "LICENSESVC_SIGNING_KEY_PASSPHRASE": PASSPHRASE,
        "LICENSESVC_DATA_DIR": str(data_dir),
        "LICENSESVC_RATELIMIT_VERIFY": UNREACHABLE,
        "LICENSESVC_RATELIMIT_KEY_REQUESTS": UNREACHABLE,
        "LICENSESVC_RATELIMIT_FAILED_AUTH": UNREACHABLE,
    }


# -- wrk ---------------------------------------------------------------------------------------


@dataclass
class Load:
    name: str
    path: str
    method: str = "GET"
    #: lines "token<TAB>body", sent in turn
    lines: list[str] = field(default_factory=list)
    #: the size of the endpoint's answer: the bare app answers as many bytes
    bare_bytes: int = 600


@dataclass
class Result:
    rps: float
    p99_ms: float
    requests: int
    non_2xx: int


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}


def parse_wrk(output: str) -> Result:
    """Requests/sec, the 99th percentile latency (ms), requests and non-2xx answers."""
    rps = re.search(r"Requests/sec:\s+([\d.]+)", output)
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s|m)\b", output)
    total = re.search(r"(\d+) requests in", output)
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    if not (rps and p99 and total):
        raise RuntimeError(f"could not read wrk's output:\n{output}")
    return Result(
        float(rps.group(1)),
        float(p99.group(1)) * _UNITS[p99.group(2)],
        int(total.group(1)),
        int(bad.group(1)) if bad else 0,
    )


def run_wrk(
    base_url: str, load: Load, *, seconds: float, connections: int, max_requests: int
) -> Result:
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as fh:
        fh.write("\n".join(load.lines) + ("\n" if load.lines else ""))
        lines_file = fh.name
    try:
        env = {
            **os.environ,
            "BENCH_METHOD": load.method,
            "BENCH_REQUESTS_FILE": lines_file if load.lines else "",
            "BENCH_MAX_REQUESTS": str(max_requests),
        }
        out = subprocess.run(
            [
                "wrk",
                "-t1",
                f"-c{connections}",
                f"-d{max(1, round(seconds))}s",
                "--timeout",
                "10s",
                "--latency",
                "-s",
                str(LUA),
                base_url + load.path,
            ],
            env=env,
            capture_output=True,
            text=True,
            timeout=seconds + 60,
            check=True,
        )
        return parse_wrk(out.stdout)
    finally:
        os.unlink(lines_file)


# -- one configuration -------------------------------------------------------------------------


@dataclass
class Row:
    database: str
    setup: str
    endpoint: str
    rps: float
    ratio: float
    p99_ms: float
    p99_ratio: float
    non_2xx: int = 0


#: what each row sends (the report prints it)
ROWS = {
    "POST /v1/keys/verify": "the reader customer's standard key (active), no token",
    "GET /v1/entitlements": "the reader customer's token: its report",
    "GET /v1/revocations": (
        "the signed list, no token: every key revoked or superseded so far, the keys the "
        "key-request rows measured before it (earlier setups, earlier growth sizes and, in the "
        "growth run, its own size) superseded included"
    ),
    "POST /v1/key-requests (replacement)": (
        "one customer's license, kind replacement, no host: a refresh on the license's host; "
        "every request supersedes the previous key (all queue on the license's row lock)"
    ),
    f"POST /v1/key-requests ({CUSTOMERS} customers)": (
        f"the same refresh from {CUSTOMERS} customers in turn, one license each"
    ),
}


def endpoint_loads(made: Prepared) -> list[Load]:
    verify_body = json.dumps({"key": made.key_text})
    replacement = json.dumps({"license_id": made.licenses[0], "kind": "replacement"})
    return [
        Load("POST /v1/keys/verify", "/v1/keys/verify", "POST", [f"\t{verify_body}"]),
        Load("GET /v1/entitlements", "/v1/entitlements", "GET", [f"{made.reader_token}\t"]),
        Load("GET /v1/revocations", "/v1/revocations", "GET", []),
        # last: it writes (each answer issues a key and supersedes the previous one)
        Load(
            "POST /v1/key-requests (replacement)",
            "/v1/key-requests",
            "POST",
            [f"{made.tokens[0]}\t{replacement}"],
        ),
    ]


#: usable keys (active, or superseded inside their overlap) after the key-request rows, by the
#: run's label: (the one customer's license, the most of any writer's license)
LIVE_KEYS: dict[str, tuple[int, int]] = {}


def count_live_keys(label: str, database_url: str, data_dir: Path, made: Prepared) -> None:
    """Record, under `label`, how many keys the writers' licenses hold usable now, as a key
    request reads them (issuance `live_keys`): the same after every round when the rounds are
    equal."""
    from licensesvc.issuance import live_keys
    from licensesvc.platform.context import Actor
    from licensesvc.runtime import Runtime

    runtime = Runtime.from_settings(settings_for(database_url, data_dir))
    try:
        with runtime.unit_of_work(Actor.system()) as ctx:
            live = live_keys(ctx, made.licenses)
        counts = [len(live.get(lic, [])) for lic in made.licenses]
        LIVE_KEYS[label] = (counts[0], max(counts))
    finally:
        runtime.engine.dispose()


def live_key_lines() -> str:
    return "\n".join(
        f"* {label}: after the key-request rows the one customer's license holds {one} usable "
        f"keys, each of the {CUSTOMERS} customers' licenses at most {most} (its key and the one "
        "that key superseded: the rounds find the same)"
        for label, (one, most) in LIVE_KEYS.items()
    )


def row_lines(rows: list[Row]) -> str:
    """What each endpoint row of rows sends."""
    names = dict.fromkeys(r.endpoint for r in rows)
    return "\n".join(f"* {name}: {ROWS[name]}" for name in names if name in ROWS)


#: the rows of bench/bare_app.py's parts routes
PARTS_VERIFY = "parts: bare + Ed25519 verify + sign"
PARTS_INSERT = "parts: bare + one INSERT and COMMIT"


def parts_loads(database: str, endpoints: list[Load]) -> list[Load]:
    """The parts rows, each answering as many bytes as the endpoint it bounds."""
    size = {load.path: load.bare_bytes for load in endpoints}
    verify, request = size["/v1/keys/verify"], size["/v1/key-requests"]
    loads = [Load(PARTS_VERIFY, f"/parts/verify/{verify}", "POST", [], verify)]
    if database == "PostgreSQL":
        loads.append(Load(PARTS_INSERT, f"/parts/insert/{request}", "POST", [], request))
    return loads


def many_customers_load(made: Prepared, bare_bytes: int) -> Load:
    lines = [
        f"{tok}\t{json.dumps({'license_id': lic, 'kind': 'replacement'})}"
        for tok, lic in zip(made.tokens, made.licenses, strict=True)
    ]
    name = f"POST /v1/key-requests ({CUSTOMERS} customers)"
    return Load(name, "/v1/key-requests", "POST", lines, bare_bytes)


def response_size(base_url: str, load: Load) -> int:
    import urllib.request

    token, _, body = (load.lines[0] if load.lines else "\t").partition("\t")
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    if body:
        headers["Content-Type"] = "application/json"
    req = urllib.request.Request(
        base_url + load.path,
        data=body.encode() if body else None,
        headers=headers,
        method=load.method,
    )
    with urllib.request.urlopen(req, timeout=30) as r:
        return len(r.read())


@dataclass
class Options:
    seconds: float
    rounds: int
    connections: int
    max_requests: int


def bare_load(load: Load) -> Load:
    """The bare app's answer of the same size, by the same method (no body)."""
    return Load("bare Flask", f"/bare/{load.bare_bytes}", load.method, [])


def sized(base_url: str, loads: list[Load]) -> list[Load]:
    """loads, each told the size of its answer (asked once of the server)."""
    for load in loads:
        load.bare_bytes = response_size(base_url, load)
    return loads


def measure(
    database: str,
    setup: str,
    app_server: Server,
    bare_server: Server,
    loads: list[Load],
    opts: Options,
) -> list[Row]:
    """Per endpoint, rounds of (bare, endpoint) pairs back to back; medians of the absolute
    figures and of the ratios. Endpoints go one after the other (not round-robin), so that
    what a writing endpoint adds (superseded keys) cannot change an earlier one's figures:
    list the writers last."""
    samples: dict[str, list[tuple[Result, Result]]] = {load.name: [] for load in loads}
    for load in loads:
        # warm-up, not measured: every worker opens its connections and decrypts the signing
        # key (PBKDF2) before the rounds, for both servers
        for server, warm in (
            (bare_server, bare_load(load)),
            (app_server, load),
        ):
            run_wrk(
                server.base_url,
                warm,
                seconds=1,
                connections=opts.connections,
                max_requests=opts.max_requests,
            )
        for _ in range(opts.rounds):
            base = run_wrk(
                bare_server.base_url,
                bare_load(load),
                seconds=opts.seconds,
                connections=opts.connections,
                max_requests=opts.max_requests,
            )
            got = run_wrk(
                app_server.base_url,
                load,
                seconds=opts.seconds,
                connections=opts.connections,
                max_requests=opts.max_requests,
            )
            samples[load.name].append((base, got))
    rows = []
    all_bare = [b for pairs in samples.values() for b, _ in pairs]
    rows.append(
        Row(
            database,
            setup,
            "bare Flask",
            statistics.median(b.rps for b in all_bare),
            1.0,
            statistics.median(b.p99_ms for b in all_bare),
            1.0,
        )
    )
    for load in loads:
        pairs = samples[load.name]
        rows.append(
            Row(
                database,
                setup,
                load.name,
                statistics.median(g.rps for _, g in pairs),
                statistics.median(g.rps / b.rps for b, g in pairs),
                statistics.median(g.p99_ms for _, g in pairs),
                statistics.median(g.p99_ms / b.p99_ms for b, g in pairs),
                sum(g.non_2xx for _, g in pairs),
            )
        )
    return rows


def bench_database(
    database: str, database_url: str, workdir: Path, opts: Options, *, extra_setups: bool = True
) -> list[Row]:
    made = prepare(database_url, workdir)
    env = licensesvc_env(database_url, workdir)
    loads = endpoint_loads(made)
    rows: list[Row] = []
    LIMITS[database] = physical_limit()
    with gunicorn("wsgi:app", env, workdir, workers=2) as app_server:
        sized(app_server.base_url, loads)
        bare_env: dict[str, str] = {}
        request_bytes = next(x.bare_bytes for x in loads if x.path == "/v1/key-requests")
        if database == "PostgreSQL":
            bare_env["BENCH_PARTS_DATABASE_URL"] = database_url
        with gunicorn(
            "bench.bare_app:app", bare_env, workdir, workers=2, ready_path="/readyz"
        ) as bare_server:
            rows += measure(database, "2 workers", app_server, bare_server, loads, opts)
            # what the endpoints' unavoidable parts reach on their own (bench/bare_app.py)
            rows += measure(
                database, "2 workers", bare_server, bare_server, parts_loads(database, loads), opts
            )[1:]
            if extra_setups:
                rows += measure(
                    database,
                    "2 workers",
                    app_server,
                    bare_server,
                    [many_customers_load(made, request_bytes)],
                    opts,
                )[1:]
    if not extra_setups:
        count_live_keys(database, database_url, workdir, made)
        return rows
    with gunicorn("wsgi:app", env, workdir, workers=4) as app_server:
        with gunicorn(
            "bench.bare_app:app", bare_env, workdir, workers=4, ready_path="/readyz"
        ) as bare_server:
            rows += measure(
                database,
                "4 workers",
                app_server,
                bare_server,
                [many_customers_load(made, request_bytes)],
                opts,
            )
    if RECOMMENDED_MODULE.exists():
        with gunicorn("wsgi:app", env, workdir, config=RECOMMENDED_CONFIG) as app_server:
            with gunicorn(
                "bench.bare_app:app", bare_env, workdir, config=RECOMMENDED_CONFIG
            ) as bare_server:
                rows += measure(database, "gunicorn.conf.py", app_server, bare_server, loads, opts)
    count_live_keys(database, database_url, workdir, made)
    return rows


# -- the report --------------------------------------------------------------------------------


def table(rows: list[Row]) -> str:
    out = [
        "| database | server | endpoint | req/s | req/s per core | × bare | p99 | p99 × bare p99 |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        note = f" ({r.non_2xx} non-2xx)" if r.non_2xx else ""
        if r.rps == 0:
            out.append(
                f"| {r.database} | {r.setup} | {r.endpoint} | 0 | 0 | 0.00 | "
                "no answer within wrk's 10 s timeout | — |"
            )
            continue
        out.append(
            f"| {r.database} | {r.setup} | {r.endpoint}{note} | {r.rps:,.0f} | "
            f"{r.rps / CORES:,.0f} | {r.ratio:.2f} | {r.p99_ms:.1f} ms | {r.p99_ratio:.1f}× |"
        )
    return "\n".join(out)


# -- the physical limit ------------------------------------------------------------------------

#: the cores of this machine: the servers, wrk and the database share them all, so an absolute
#: figure per core is req/s ÷ CORES
CORES = os.cpu_count() or 1
#: raw Ed25519 verify + sign pairs a second on one core, by database run (measured in the run)
LIMITS: dict[str, float] = {}


def physical_limit(seconds: float = 0.5, batches: int = 7) -> float:
    """What one core does at most for an online verify: one raw Ed25519 verify (of a key's
    signed bytes) and one sign (of an answer's), in this process, no HTTP; the median rate of
    `batches` batches."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    signer = Ed25519PrivateKey.generate()
    public = signer.public_key()
    payload = b"licensesvc/key/v1\n" + b"p" * 420
    signature = signer.sign(payload)
    answer = b"a" * 300
    rates = []
    for _ in range(batches):
        done = 0
        start = time.perf_counter()
        while (elapsed := time.perf_counter() - start) < seconds:
            for _ in range(20):
                public.verify(signature, payload)
                signer.sign(answer)
            done += 20
        rates.append(done / elapsed)
    return statistics.median(rates)


def limit_lines(rows: list[Row]) -> str:
    """The physical-limit row of each database run against verify's answers per core."""
    lines = []
    for database, limit in LIMITS.items():
        verify = [
            r
            for r in rows
            if r.database == database and r.setup == "2 workers" and r.endpoint == VERIFY
        ]
        line = (
            f"* {database} run: physical limit (raw Ed25519 verify + sign, one core, in process, "
            f"no HTTP) {limit:,.0f} /s per core"
        )
        if verify:
            per_core = verify[0].rps / CORES
            line += (
                f"; `POST /v1/keys/verify` served {per_core:,.0f} /s per core (2 workers), "
                f"{per_core / limit:.0%} of it"
            )
        lines.append(line)
    return "\n".join(lines)


def scaling(rows: list[Row], database: str) -> tuple[float, float | None] | None:
    """On `database`: (the CUSTOMERS customers' key requests at 4 workers ÷ at 2, the bare
    app's 4 ÷ 2 in the same run or None without its rows), or None without both key-request
    rows."""

    def rps(setup: str, many: bool) -> float | None:
        found = [
            r.rps
            for r in rows
            if r.database == database
            and r.setup == setup
            and (("customers)" in r.endpoint) if many else r.endpoint == "bare Flask")
        ]
        return found[0] if found else None

    many2, many4 = rps("2 workers", True), rps("4 workers", True)
    if not many2 or many4 is None:
        return None
    bare2, bare4 = rps("2 workers", False), rps("4 workers", False)
    return many4 / many2, (bare4 / bare2 if bare2 and bare4 is not None else None)


def scaling_line(rows: list[Row]) -> str:
    lines = []
    for database in sorted({r.database for r in rows}):
        found = scaling(rows, database)
        if found is None:
            continue
        scale, bare_scale = found
        bare = "" if bare_scale is None else f"; the bare app in the same run: {bare_scale:.2f}×"
        lines.append(
            f"* {database}: key requests from {CUSTOMERS} customers, 4 workers ÷ 2 workers: "
            f"{scale:.2f}×{bare} (issue 20: at least the bare app's)"
        )
    return "\n".join(lines)


def parts_lines(rows: list[Row]) -> str:
    """What the parts rows say: the most an endpoint made of them could reach."""
    lines = []
    for r in rows:
        if r.endpoint == PARTS_VERIFY:
            lines.append(
                f"* {r.database}: the bare app plus the cryptography of one online verify (one "
                f"Ed25519 verify and one sign) reaches {r.ratio:.2f}× bare, p99 "
                f"{r.p99_ratio:.1f}× (verify's target: 0.6×, p99 2×)"
            )
        elif r.endpoint == PARTS_INSERT:
            lines.append(
                f"* {r.database}: the bare app plus one INSERT and COMMIT reaches {r.ratio:.2f}× "
                "bare (a key request writes a case, a key, audit records and the outbox: the "
                "target is 0.15×)"
            )
    return "\n".join(lines)


def _verdict(measured: float, target: float, *, at_most: bool = False) -> str:
    """met, or by what factor it misses."""
    if (measured <= target) if at_most else (measured >= target):
        return "**met**"
    factor = measured / target if at_most else target / measured if measured else float("inf")
    return f"**missed**: {factor:.1f}× off"


def targets(rows: list[Row]) -> str:
    """Each ratio target of issue 13 against the rows: met, or by how much it misses."""
    out = [
        "| target | database | server | measured | met? |",
        "|---|---|---|---|---|",
    ]
    for r in rows:
        if r.setup not in ("2 workers", "gunicorn.conf.py"):
            continue
        if r.endpoint == VERIFY:
            out.append(
                f"| verify ≥ 0.6× bare | {r.database} | {r.setup} | {r.ratio:.2f}× | "
                f"{_verdict(r.ratio, 0.6)} |"
            )
            out.append(
                f"| verify ≥ {VERIFY_PER_CORE:,} answers/s per core | {r.database} | {r.setup} | "
                f"{r.rps / CORES:,.0f} /s | {_verdict(r.rps / CORES, VERIFY_PER_CORE)} |"
            )
            out.append(
                f"| verify p99 ≤ 2× bare p99 | {r.database} | {r.setup} | {r.p99_ratio:.1f}× | "
                f"{_verdict(r.p99_ratio, 2.0, at_most=True)} |"
            )
        elif r.endpoint == "GET /v1/entitlements":
            out.append(
                f"| entitlements ≥ 0.5× bare | {r.database} | {r.setup} | {r.ratio:.2f}× | "
                f"{_verdict(r.ratio, 0.5)} |"
            )
        elif r.endpoint.startswith("POST /v1/key-requests") and r.database == "PostgreSQL":
            out.append(
                f"| key requests on PostgreSQL ≥ 0.15× bare ({r.endpoint.split('(')[1][:-1]}) "
                f"| {r.database} | {r.setup} | {r.ratio:.2f}× | {_verdict(r.ratio, 0.15)} |"
            )
    for database in sorted({r.database for r in rows}):
        found = scaling(rows, database)
        bare_scale = None if found is None else found[1]
        if found is not None and bare_scale is not None:
            scale = found[0]
            out.append(
                f"| {CUSTOMERS} customers: 4 ÷ 2 workers ≥ the bare app's 4 ÷ 2 workers "
                f"({bare_scale:.2f}×) | {database} | 4 ÷ 2 workers | {scale:.2f}× | "
                f"{_verdict(scale, bare_scale)} |"
            )
    return "\n".join(out)


def machine() -> str:
    load = os.getloadavg()[0]
    wrk = subprocess.run(["wrk", "--version"], capture_output=True, text=True).stdout.split("\n")[0]
    return "\n".join(
        [
            f"* platform: {platform.platform()}",
            f"* CPU count: {os.cpu_count()} (the load average below counts the benchmark's own "
            "servers, PostgreSQL and wrk)",
            f"* Python: {platform.python_version()}; {wrk.strip() or 'wrk'}",
            f"* date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; 1-minute load average {load:.2f}",
        ]
    )


def write_section(path: Path, mark: str, body: str) -> None:
    """Replace (or append) the section between `<!-- mark:start -->` and `<!-- mark:end -->`;
    the rest of the document is left as it is."""
    start, end = f"<!-- {mark}:start -->", f"<!-- {mark}:end -->"
    text = path.read_text() if path.exists() else ""
    block = f"{start}\n{body.strip()}\n{end}"
    if start in text and end in text:
        before, rest = text.split(start, 1)
        _, after = rest.split(end, 1)
        text = before + block + after
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    path.write_text(text)


def report(rows: list[Row], opts: Options, command: str) -> str:
    return f"""## Server throughput (`bench/server_bench.py`)

Generated by `{command}`; do not edit by hand. gunicorn (2 sync workers, and the
`licensesvc/gunicorn_conf.py` configuration: gthread workers) on 127.0.0.1, driven by
wrk ({opts.connections} connections, one thread, {opts.rounds} rounds of {opts.seconds:g} s per
endpoint, each wrk thread stopped after {opts.max_requests:,} answers), against a bare Flask app
answering JSON of the same size as the endpoint it is compared with, under the same gunicorn
(both warmed up by 1 s of the same load, not measured), measured just before the endpoint in
each round (endpoints one after the other, the writing one last); the bare row shows the
median over all rounds.
Ratios are medians over rounds of (endpoint ÷ bare) from the same round. What each row sends:

{row_lines(rows)}

The replacement rows issue a real key each; the policy ends the overlap of every key the newer
keys make redundant, so each round finds the licenses as the one before:

{live_key_lines()}

Rate limits are on, raised out of reach. Targets (issue 20): verify ≥ 0.6× bare with p99 ≤ 2×
bare p99 and ≥ {VERIFY_PER_CORE:,} answers a second per core; entitlements ≥ 0.5×; key
requests on PostgreSQL ≥ 0.15×; {CUSTOMERS} customers' key requests gain at least as much
from 4 workers over 2 as the bare app does in the same run. "req/s
per core" is req/s ÷ the machine's {CORES} cores (the servers, wrk and the database share
them).

{table(rows)}

{limit_lines(rows)}

{scaling_line(rows)}

The "parts" rows are the bare app doing only what the endpoint cannot avoid
(`bench/bare_app.py`): they bound from above what the endpoint can reach.

{parts_lines(rows)}

Each target against the table above (the section "Server: what the profiles showed, what
changed, and why the missed targets are missed" below explains the misses):

{targets(rows)}

{machine()}
"""


# -- growth ------------------------------------------------------------------------------------


#: (keys added, seconds) of each bulk load of the growth run
LOAD_TIMES: list[tuple[int, float]] = []


def growth(opts: Options, sizes: list[int], output: Path | None, workdir: Path) -> list[Row]:
    """The 2-worker figures on PostgreSQL at each size of bulk-loaded data, and a chart."""
    from bench.bulk_load import bulk_load

    rows: list[Row] = []
    with postgres_database("growth") as url:
        loaded = 0
        made = prepare(url, workdir)
        for size in sizes:
            t0 = time.monotonic()
            bulk_load(url, size - loaded)
            LOAD_TIMES.append((size - loaded, time.monotonic() - t0))
            loaded = size
            print(f"growth: {size:,} keys loaded in {time.monotonic() - t0:.0f} s", flush=True)
            env = licensesvc_env(url, workdir)
            # the writers last: the one-license refresh, then the fleet's (64 licenses in turn)
            loads = [*endpoint_loads(made), many_customers_load(made, 0)]
            # the revocation list grows with the data and may take longer than wrk waits:
            # it runs last, on servers of its own, so its backlog cannot slow the others
            slow = [load for load in loads if load.path == "/v1/revocations"]
            fast = [load for load in loads if load not in slow]
            setup = f"{size:,} keys"
            with gunicorn("wsgi:app", env, workdir, workers=2) as app_server:
                sized(app_server.base_url, fast)
                bare_env: dict[str, str] = {}
                with gunicorn("bench.bare_app:app", bare_env, workdir, workers=2) as bare_server:
                    got = measure("PostgreSQL", setup, app_server, bare_server, fast, opts)
            with gunicorn("wsgi:app", env, workdir, workers=2) as app_server:
                sized(app_server.base_url, slow)
                with gunicorn("bench.bare_app:app", bare_env, workdir, workers=2) as bare_server:
                    got += measure("PostgreSQL", setup, app_server, bare_server, slow, opts)[1:]
            count_live_keys(f"PostgreSQL, {setup}", url, workdir, made)
            rows += got
            print(table(got), flush=True)
    if output is not None:
        chart(rows, GROWTH_CHART)
    return rows


def chart(rows: list[Row], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    setups = list(dict.fromkeys(r.setup for r in rows))
    endpoints = [e for e in dict.fromkeys(r.endpoint for r in rows) if e != "bare Flask"]
    fig, ax = plt.subplots(figsize=(8, 4.5))
    width = 0.8 / len(setups)
    for i, setup in enumerate(setups):
        values = [
            next(r.ratio for r in rows if r.setup == setup and r.endpoint == e) for e in endpoints
        ]
        ax.bar([x + i * width for x in range(len(endpoints))], values, width, label=setup)
    ax.set_xticks([x + width * (len(setups) - 1) / 2 for x in range(len(endpoints))])
    ax.set_xticklabels([e.replace(" (", "\n(") for e in endpoints], fontsize=8)
    ax.set_ylabel("req/s ÷ bare Flask (same round)")
    ax.set_title("licensesvc on PostgreSQL, 2 gunicorn workers, as the data grows")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def growth_report(rows: list[Row], command: str) -> str:
    lines = []
    setups = list(dict.fromkeys(r.setup for r in rows))
    if len(setups) >= 2:
        first, last = setups[0], setups[-1]
        for e in dict.fromkeys(r.endpoint for r in rows):
            if e == "bare Flask":
                continue
            a = next(r for r in rows if r.setup == first and r.endpoint == e)
            b = next(r for r in rows if r.setup == last and r.endpoint == e)
            change = b.ratio / a.ratio - 1
            verdict = "yes" if abs(change) <= 0.15 else "no"
            lines.append(f"| {e} | {a.ratio:.2f} | {b.ratio:.2f} | {change:+.0%} | {verdict} |")
    comparison = (
        f"| endpoint | × bare at {setups[0]} | × bare at {setups[-1]} | change | within 15%? |\n"
        "|---|---|---|---|---|\n" + "\n".join(lines)
        if lines
        else ""
    )
    loads = "; ".join(f"{n:,} keys in {t:.0f} s" for n, t in LOAD_TIMES) or "none"
    return f"""## Growth (`bench/server_bench.py --growth`)

Generated by `{command}`; do not edit by hand. The same loads as above (2 workers,
PostgreSQL) after `bench/bulk_load.py` filled the database with keys and their matching
customers, contracts, licenses, cases and audit records (COPY). Target: each figure at the
largest size within 15% of the smallest. Bulk loads: {loads}. The customers the loads use are
made once, before the first size; what each row sends:

{row_lines(rows)}

The key-request rows write (the one-license refresh, then the same refresh from {CUSTOMERS}
customers in turn, as a fleet sends them), and each size continues from the one before; the
policy ends the overlap of every key the newer keys make redundant, so each size finds the
licenses as the one before did:

{live_key_lines()}

![throughput as the data grows](performance-growth.png)

{comparison}

{table(rows)}

{machine()}
"""


# -- profile -----------------------------------------------------------------------------------


def profile(workdir: Path, requests: int) -> str:
    """pyinstrument over `requests` calls of each endpoint in-process (Flask test client, SQLite
    file), the top frames of each."""
    from pyinstrument import Profiler

    from licensesvc.app import create_app
    from licensesvc.runtime import Runtime

    url = f"sqlite:///{workdir / 'profile.sqlite3'}"
    made = prepare(url, workdir)
    for name, value in licensesvc_env(url, workdir).items():
        os.environ[name] = value
    runtime = Runtime.from_settings(settings_for(url, workdir))
    client = create_app(runtime=runtime).test_client()
    sections = []
    for load in endpoint_loads(made):
        token, _, body = (load.lines[0] if load.lines else "\t").partition("\t")
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        kwargs: dict[str, Any] = {"headers": headers}
        if body:
            kwargs["data"] = body
            kwargs["content_type"] = "application/json"
        client.open(load.path, method=load.method, **kwargs)  # warm-up
        profiler = Profiler(interval=0.0005)
        profiler.start()
        for _ in range(requests):
            r = client.open(load.path, method=load.method, **kwargs)
            assert r.status_code < 300, r.get_data(as_text=True)
        session = profiler.stop()
        sections.append((load.name, session.duration / requests * 1000, top_frames(session)))
    runtime.engine.dispose()
    out = [
        "## Where the server spends its time (`bench/server_bench.py --profile`)",
        "",
        f"Generated by `{RERUN} --profile`; pyinstrument over {requests} in-process requests of "
        "each endpoint (Flask test client, SQLite file, no gunicorn or network), after one "
        "warm-up request. Left: the functions (any code) with the most time of their own; "
        "right: our functions (licensesvc/, keys/) with the most total time, what they call "
        "included; both as shares of the endpoint's time.",
        "",
    ]
    for name, ms, (own, ours) in sections:
        out += [
            f"### {name}: {ms:.2f} ms a request",
            "",
            "| own time | function (any code) | | total time | our function |",
            "|---|---|---|---|---|",
        ]
        for i in range(max(len(own), len(ours))):
            a = own[i] if i < len(own) else ("", 0.0)
            b = ours[i] if i < len(ours) else ("", 0.0)
            out.append(
                f"| {a[1]:.0%} | `{a[0]}` | | {b[1]:.0%} | `{b[0]}` |"
                if a[0]
                else f"| | | | {b[1]:.0%} | `{b[0]}` |"
            )
        out.append("")
    return "\n".join(out)


def top_frames(
    session: Any, count: int = 10
) -> tuple[list[tuple[str, float]], list[tuple[str, float]]]:
    """(functions by their own time, our functions by their total time): each as (name,
    share of the endpoint's time); a function is counted once per stack."""
    own: dict[str, float] = {}
    ours: dict[str, float] = {}
    root = session.root_frame()
    if root is None:
        return [], []
    total = root.time or 1.0

    def walk(frame: Any, seen: frozenset[str]) -> None:
        path = frame.file_path or ""
        name = f"{frame.function} ({_short(path)}:{frame.line_no})"
        if not frame.is_synthetic:
            own[name] = own.get(name, 0.0) + frame.total_self_time
            is_ours = str(REPO_ROOT / "licensesvc") in path or str(REPO_ROOT / "keys") in path
            if is_ours and name not in seen:
                ours[name] = ours.get(name, 0.0) + frame.time
                seen = seen | {name}
        for child in frame.children:
            walk(child, seen)

    walk(root, frozenset())

    def ranked(values: dict[str, float]) -> list[tuple[str, float]]:
        return [(k, v / total) for k, v in sorted(values.items(), key=lambda kv: -kv[1])][:count]

    return ranked(own), ranked(ours)


def _short(path: str) -> str:
    for marker in ("site-packages/", str(REPO_ROOT) + "/"):
        if marker in path:
            return path.split(marker, 1)[1]
    return Path(path).name


# -- cost --------------------------------------------------------------------------------------

COST_MARK = "server-bench-cost"


def postgres_cpu_seconds() -> float | None:
    """CPU seconds (user and system) used so far by this machine's PostgreSQL processes, its
    backends, WAL writer and checkpointer included, and by those that ended (counted in the
    postmaster's children's time), read from /proc; None where none is found (a server
    elsewhere, or no /proc)."""
    total, found = 0, False
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            comm, fields = stat.read_text().split(") ", 1)
            if not comm.endswith("(postgres"):
                continue
            # its own time and its ended children's (the postmaster's: backends that ended)
            times = fields.split()[11:15]
        except (OSError, ValueError):
            continue  # a process that ended while read
        total, found = total + sum(int(t) for t in times), True
    return total / os.sysconf("SC_CLK_TCK") if found else None


@dataclass
class Cost:
    """Per granted key request: the app's CPU, PostgreSQL's CPU (None: not measurable) and
    the statements sent (the COMMIT included), in ms and counts, with `loaded` keys
    bulk-loaded into the database."""

    path: str
    app_ms: float
    database_ms: float | None
    wall_ms: float
    statements: float
    loaded: int = 0
    #: the WAL written (kB) and the full-page images in it
    wal_kb: float = 0.0
    full_pages: float = 0.0


def _costs(label: str, requests: int, call: Any, engine: Any, loaded: int) -> Cost:
    from sqlalchemy import event

    sent = [0]

    def count(*_: Any) -> None:
        sent[0] += 1

    for i in range(CUSTOMERS):  # warm-up: every connection, statement cache and customer
        call(i)
    wal0 = _wal(engine)
    event.listen(engine, "before_cursor_execute", count)
    event.listen(engine, "commit", count)
    try:
        database0, wall0, cpu0 = postgres_cpu_seconds(), time.perf_counter(), time.process_time()
        for i in range(requests):
            call(i)
        cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
        # read while the pool's backends live (one that ended counts once it is reaped)
        database1 = postgres_cpu_seconds()
    finally:
        event.remove(engine, "before_cursor_execute", count)
        event.remove(engine, "commit", count)
    wal1 = _wal(engine)
    database = None if database0 is None or database1 is None else database1 - database0
    return Cost(
        label,
        cpu / requests * 1000,
        None if database is None else database / requests * 1000,
        wall / requests * 1000,
        sent[0] / requests,
        loaded,
        wal_kb=(wal1[0] - wal0[0]) / requests / 1024,
        full_pages=(wal1[1] - wal0[1]) / requests,
    )


def _wal(engine: Any) -> tuple[int, int]:
    """The server's WAL written so far: (bytes, full-page images), from pg_stat_wal."""
    from sqlalchemy import text

    with engine.connect() as conn:
        found = conn.execute(text("SELECT wal_bytes, wal_fpi FROM pg_stat_wal")).one()
    return int(found[0]), int(found[1])


def _costs_at(
    url: str, workdir: Path, made: Prepared, requests: int, loaded: int
) -> tuple[list[Cost], int]:
    """`_costs` through the app and through the service alone, on a new runtime, and the size
    of the app's answer (the bare app answers as many bytes)."""
    from sqlalchemy import select

    from licensesvc.app import create_app
    from licensesvc.domain.policy import KeyRequestInput
    from licensesvc.issuance import request_key
    from licensesvc.models import License
    from licensesvc.platform.context import Actor
    from licensesvc.runtime import Runtime

    runtime = Runtime.from_settings(settings_for(url, workdir))
    try:
        with runtime.engine.connect() as conn:
            owner = dict(
                conn.execute(
                    select(License.id, License.customer_id).where(License.id.in_(made.licenses))
                ).all()
            )
        client = create_app(runtime=runtime).test_client()
        bodies = [
            ({"Authorization": f"Bearer {token}"}, {"license_id": lic, "kind": "replacement"})
            for token, lic in zip(made.tokens, made.licenses, strict=True)
        ]
        answer_bytes = [0]

        def through_app(i: int) -> None:
            headers, body = bodies[i % CUSTOMERS]
            r = client.post("/v1/key-requests", json=body, headers=headers)
            assert r.status_code == 201, r.get_data(as_text=True)
            answer_bytes[0] = len(r.get_data())

        def service(i: int) -> None:
            lic = made.licenses[i % CUSTOMERS]
            with runtime.unit_of_work(Actor.customer(owner[lic])) as ctx:
                req = KeyRequestInput(license_id=lic, kind="replacement")
                assert request_key(ctx, req).key is not None

        found = []
        for label, call in (
            ("through the app (Flask test client)", through_app),
            ("the service alone (`issuance.request_key`)", service),
        ):
            found.append(_costs(label, requests, call, runtime.engine, loaded))
            print(found[-1], flush=True)
        return found, answer_bytes[0]
    finally:
        runtime.engine.dispose()


#: the sizes `--cost` measures at: none bulk-loaded, and a large fleet's
COST_SIZES = (0, 1_000_000)


def cost(opts: Options, workdir: Path, requests: int, sizes: Sequence[int] = COST_SIZES) -> str:
    """What one granted key request costs on PostgreSQL, in process (no HTTP server): the
    app's CPU and the database's, through the app (Flask test client) and through the service
    alone, with each of `sizes` keys bulk-loaded (growing: each size adds to the one
    before); then the most requests a second that CPU allows on this machine's cores, against
    the bare app under gunicorn in the same run."""
    from bench.bulk_load import bulk_load

    costs: list[Cost] = []
    with postgres_database("cost") as url:
        made = prepare(url, workdir)
        for name, value in licensesvc_env(url, workdir).items():
            os.environ[name] = value
        loaded, answer_bytes = 0, 0
        for size in sizes:
            if size > loaded:
                bulk_load(url, size - loaded)
                loaded = size
            found, answer_bytes = _costs_at(url, workdir, made, requests, loaded)
            costs += found
    bare = Load("bare Flask", f"/bare/{answer_bytes}", "POST", [])
    with gunicorn("bench.bare_app:app", {}, workdir, workers=2) as bare_server:
        for seconds in (1, opts.seconds):  # the first warms up
            bare_rps = run_wrk(
                bare_server.base_url,
                bare,
                seconds=seconds,
                connections=opts.connections,
                max_requests=opts.max_requests,
            ).rps
    return cost_report(costs, bare_rps, requests)


def cost_report(costs: list[Cost], bare_rps: float, requests: int) -> str:
    lines = [
        "| keys bulk-loaded | path | app CPU | PostgreSQL CPU | wall | statements | WAL "
        "| at most, CPU alone | × bare |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for c in costs:
        if c.database_ms is None:
            database, ceiling, ratio = "not measured", "", ""
        else:
            most = CORES / ((c.app_ms + c.database_ms) / 1000)
            database = f"{c.database_ms:.2f} ms"
            ceiling, ratio = f"{most:,.0f} req/s", f"{most / bare_rps:.2f}×"
        lines.append(
            f"| {c.loaded:,} | {c.path} | {c.app_ms:.2f} ms | {database} | {c.wall_ms:.2f} ms | "
            f"{c.statements:.1f} | {c.wal_kb:.1f} kB ({c.full_pages:.1f} full pages) | "
            f"{ceiling} | {ratio} |"
        )
    table_text = "\n".join(lines)
    growth_lines = []
    for path in dict.fromkeys(c.path for c in costs):
        at = [
            (c.loaded, c.app_ms + c.database_ms)
            for c in costs
            if c.path == path and c.database_ms is not None
        ]
        if len(at) >= 2:
            (first, before), (last, after) = at[0], at[-1]
            growth_lines.append(
                f"* {path}: app and PostgreSQL CPU with {last:,} keys bulk-loaded "
                f"÷ with {first:,}: {after / before:.2f}×"
            )
    if growth_lines:
        table_text += "\n\n" + "\n".join(growth_lines)
    return f"""## What a key request costs (`bench/server_bench.py --cost`)

Generated by `{RERUN} --cost`; do not edit by hand. {requests:,} granted replacement key
requests on PostgreSQL, in process (no HTTP server, no wrk), from the {CUSTOMERS} customers
in turn after one warm-up request each: through the app (token check, schema, unit of work,
the answer) and through the service alone (one unit of work each); first on the benchmark's
own data, then again after `bench/bulk_load.py` added keys (and their customers, contracts,
licenses, cases and audit records) as the growth run does. Per request: the app's CPU (this
process), PostgreSQL's CPU (every process of the local server: backends, WAL writer,
checkpointer; read from /proc), the wall time, the statements sent (COMMIT included) and
the WAL the server wrote (`pg_stat_wal`: bytes, and the full-page images among them, which
the first change of a page after a checkpoint writes; `bench/bulk_load.py` ends with one).
"At most, CPU alone" is what the {CORES} cores could serve if the request's CPU were all
they did: {CORES} ÷ (app + PostgreSQL CPU), with no HTTP server, no client and no waiting;
"× bare" divides it by the bare app's req/s under gunicorn (2 sync workers, wrk,
{bare_rps:,.0f} req/s, answers of the same size) in the same run. The key-request target
(issue 20: 0.15× bare) is out of reach while that ceiling is below it.

{table_text}

{machine()}
"""


# -- tune --------------------------------------------------------------------------------------

TUNE_MARK = "server-bench-tune"
TUNE_THREADS = (1, 2, 4, 8)


def tune(opts: Options, workdir: Path) -> list[Row]:
    """licensesvc/gunicorn_conf.py's configuration on PostgreSQL with LICENSESVC_WORKERS=2 (one
    per core here) and each of TUNE_THREADS threads a worker: verify, entitlements and key
    requests from many customers, each against the bare app under the same configuration."""
    rows: list[Row] = []
    with postgres_database("tune") as url:
        made = prepare(url, workdir)
        env = licensesvc_env(url, workdir)
        for threads in TUNE_THREADS:
            setup = f"2 workers × {threads} threads"
            tuned = {**env, "LICENSESVC_WORKERS": "2", "LICENSESVC_THREADS": str(threads)}
            with gunicorn("wsgi:app", tuned, workdir, config=RECOMMENDED_CONFIG) as app_server:
                loads = [
                    x
                    for x in sized(app_server.base_url, endpoint_loads(made))
                    if x.path in ("/v1/keys/verify", "/v1/entitlements")
                ]
                request_bytes = response_size(app_server.base_url, many_customers_load(made, 0))
                loads.append(many_customers_load(made, request_bytes))
                bare_env = {"LICENSESVC_WORKERS": "2", "LICENSESVC_THREADS": str(threads)}
                with gunicorn(
                    "bench.bare_app:app", bare_env, workdir, config=RECOMMENDED_CONFIG
                ) as bare_server:
                    got = measure("PostgreSQL", setup, app_server, bare_server, loads, opts)
            print(table(got), flush=True)
            rows += got
    return rows


def tune_report(rows: list[Row], command: str) -> str:
    endpoints = [r.endpoint for r in rows if r.endpoint != "bare Flask"]
    endpoints = list(dict.fromkeys(endpoints))
    setups = list(dict.fromkeys(r.setup for r in rows))
    by = {(r.setup, r.endpoint): r for r in rows}
    out = [
        "## Tuning the gunicorn configuration (`bench/server_bench.py --tune`)",
        "",
        f"Generated by `{command}`; do not edit by hand. `licensesvc/gunicorn_conf.py` on "
        "PostgreSQL with 2 workers (one per core of this machine) and 1, 2, 4 or 8 threads a "
        "worker (`LICENSESVC_THREADS`), the same loads and bare baseline as above; req/s, × "
        "bare in brackets; the highest ratio of each endpoint in bold.",
        "",
        "| threads | " + " | ".join(endpoints) + " |",
        "|---|" + "---|" * len(endpoints),
    ]
    best = {
        e: max((by[(s, e)] for s in setups if (s, e) in by), key=lambda r: r.ratio)
        for e in endpoints
    }
    for setup in setups:
        cells = []
        for e in endpoints:
            r = by.get((setup, e))
            if r is None:
                cells.append("—")
                continue
            text = f"{r.rps:,.0f} ({r.ratio:.2f}×)"
            cells.append(f"**{text}**" if best[e] is r else text)
        out.append(f"| {setup.split('× ')[1].split()[0]} | " + " | ".join(cells) + " |")
    out += ["", machine()]
    return "\n".join(out)


# -- the server under it: gunicorn sync, gunicorn gthread, Granian -----------------------------

SERVERS_MARK = "server-bench-servers"


@contextmanager
def granian(app: str, env: dict[str, str], workdir: Path, *, workers: int = 2) -> Iterator[Server]:
    """Granian serving app on a free port of 127.0.0.1 until the block ends, as the reliability
    checks run it (tests/support/servers.py: WSGI, `servers.GRANIAN_OPTIONS`)."""
    with servers.granian(
        env,
        workdir,
        app=app,
        workers=workers,
        cwd=workdir,
        metrics_dir=workdir,
        stop_within=20,
    ) as server:
        yield server


#: the servers compared; each serves licensesvc and the bare app alike (`served`)
SERVER_KINDS = (
    "gunicorn sync, 2 workers",
    "gunicorn gthread (gunicorn_conf.py)",
    "Granian, 2 workers",
)


@contextmanager
def served(kind: str, app: str, env: dict[str, str], workdir: Path) -> Iterator[Server]:
    if kind.startswith("Granian"):
        with granian(app, env, workdir, workers=2) as server:
            yield server
    elif "gthread" in kind:
        tuned = {**env, "LICENSESVC_WORKERS": "2"}
        with gunicorn(app, tuned, workdir, config=RECOMMENDED_CONFIG) as server:
            yield server
    else:
        with gunicorn(app, env, workdir, workers=2) as server:
            yield server


def compare_servers(opts: Options, workdir: Path) -> list[Row]:
    """verify and entitlements on PostgreSQL under each of SERVER_KINDS, each against the bare
    app under the same server."""
    rows: list[Row] = []
    with postgres_database("servers") as url:
        made = prepare(url, workdir)
        env = licensesvc_env(url, workdir)
        for kind in SERVER_KINDS:
            with served(kind, "wsgi:app", env, workdir) as app_server:
                loads = [
                    x
                    for x in sized(app_server.base_url, endpoint_loads(made))
                    if x.path in ("/v1/keys/verify", "/v1/entitlements")
                ]
                with served(kind, "bench.bare_app:app", {}, workdir) as bare_server:
                    got = measure("PostgreSQL", kind, app_server, bare_server, loads, opts)
            print(table(got), flush=True)
            rows += got
    return rows


def servers_report(rows: list[Row], command: str) -> str:
    return "\n".join(
        [
            "## The server under it: gunicorn against Granian (`bench/server_bench.py --servers`)",
            "",
            f"Generated by `{command}`; do not edit by hand. licensesvc and the bare app on "
            "PostgreSQL under gunicorn with 2 sync workers, under `licensesvc/gunicorn_conf.py` "
            "(gthread workers, LICENSESVC_WORKERS=2) and under Granian 2 (`--interface wsgi "
            "--workers 2` and the options `bench/server_checks.py` checks it with, "
            "tests/support/servers.py `GRANIAN_OPTIONS`; its thread counts are its defaults), "
            "the same loads as above; each ratio against the bare app under the same server, so "
            "the server's own cost shows in the absolute figures, not in the ratios. Which "
            "reliability properties each server keeps: the next section.",
            "",
            table(rows),
            "",
            machine(),
        ]
    )


# -- main --------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    # a SIGTERM unwinds like an exception, so every server and database started is removed
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="short run; prints only")
    parser.add_argument("--growth", action="store_true", help="the figures at growing data")
    parser.add_argument("--profile", action="store_true", help="pyinstrument profiles")
    parser.add_argument(
        "--tune", action="store_true", help="threads per worker of gunicorn_conf.py (PostgreSQL)"
    )
    parser.add_argument(
        "--cost",
        action="store_true",
        help="CPU per granted key request, app and PostgreSQL, in process",
    )
    parser.add_argument(
        "--servers", action="store_true", help="gunicorn sync and gthread against Granian"
    )
    parser.add_argument(
        "--sizes",
        default="10000,1000000",
        help="growth: keys in the database at each step (default 10000,1000000)",
    )
    parser.add_argument("--seconds", type=float, default=None, help="seconds per wrk run")
    parser.add_argument("--rounds", type=int, default=None, help="rounds per endpoint")
    parser.add_argument("--connections", type=int, default=16, help="wrk connections")
    parser.add_argument("--sqlite-only", action="store_true", help="skip PostgreSQL")
    parser.add_argument(
        "--output", type=Path, default=DEFAULT_OUTPUT, help="the document to write into"
    )
    args = parser.parse_args(argv)
    if shutil.which("wrk") is None and not args.profile:
        print("server_bench: wrk is missing (bash scripts/ensure-services.sh installs it)")
        return 2
    quick = args.quick
    opts = Options(
        seconds=args.seconds or (2 if quick else 5),
        rounds=args.rounds or (1 if quick else 3),
        connections=args.connections,
        max_requests=20_000 if quick else 200_000,
    )
    output: Path | None = None if quick else args.output
    given = sys.argv[1:] if argv is None else argv
    command = " ".join([RERUN, *given])  # exactly what was run
    with tempfile.TemporaryDirectory(prefix="lsvc-bench-") as tmp:
        workdir = Path(tmp)
        if args.profile:
            text = profile(workdir, 50 if quick else 300)
            print(text)
            if output is not None:
                write_section(output, PROFILE_MARK, text)
            return 0
        if args.cost:
            text = cost(opts, workdir, 200 if quick else 1000, (0, 10_000) if quick else COST_SIZES)
            print(text)
            if output is not None:
                write_section(output, COST_MARK, text)
            return 0
        if args.tune:
            text = tune_report(tune(opts, workdir), command)
            print(text)
            if output is not None:
                write_section(output, TUNE_MARK, text)
            return 0
        if args.servers:
            text = servers_report(compare_servers(opts, workdir), command)
            print(text)
            if output is not None:
                write_section(output, SERVERS_MARK, text)
            return 0
        if args.growth:
            sizes = [int(s) for s in args.sizes.split(",")]
            grown = growth(opts, sizes, output, workdir)
            text = growth_report(grown, command)
            print(text)
            if output is not None:
                write_section(output, GROWTH_MARK, text)
            return 0
        rows = []
        (workdir / "sqlite").mkdir()
        rows += bench_database(
            "SQLite",
            f"sqlite:///{workdir / 'sqlite' / 'bench.sqlite3'}",
            workdir / "sqlite",
            opts,
            extra_setups=not quick,
        )
        print(table(rows), flush=True)
        if not args.sqlite_only:
            (workdir / "pg").mkdir()
            with postgres_database("server") as url:
                rows += bench_database(
                    "PostgreSQL", url, workdir / "pg", opts, extra_setups=not quick
                )
        text = report(rows, opts, command)
        print(text)
        if output is not None:
            write_section(output, MARK, text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
