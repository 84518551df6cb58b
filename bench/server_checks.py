"""The server's properties under gunicorn and under Granian: which of the reliability checks
hold under each, and why one fails (issue 20, point 4).

Run from the repository root, with PostgreSQL (`scripts/ensure-services.sh`)::

    .venv/bin/python -m bench.server_checks              # both servers, writes the section
    .venv/bin/python -m bench.server_checks --no-write   # prints only

For each server it runs the reliability tests that check a property of the server under the
app (tests/reliability/; quick size, the drain tests in full size: more bursts), with
`LICENSESVC_TEST_SERVER` naming the server (tests/support/servers.py: gunicorn with
licensesvc/gunicorn_conf.py, or Granian 2 with `servers.GRANIAN_OPTIONS`), on PostgreSQL
(`LICENSESVC_TEST_DATABASE_URL`, else the local `test` database), one test at a time; and
writes a table of property x server, each cell "held" or "failed" with the failing assertion,
into its marked section of docs/performance.md.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from bench.doc_sections import replace_section
from tests.support.runs import FULL_ENV
from tests.support.servers import SERVER_ENV

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUTPUT = REPO_ROOT / "docs" / "performance.md"
MARK = "server-checks"
DEFAULT_DATABASE = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
#: the servers checked: the value of SERVER_ENV, and the column's title
SERVERS = {
    "gunicorn": "gunicorn (licensesvc/gunicorn_conf.py)",
    "granian": "Granian 2 (servers.GRANIAN_OPTIONS)",
}
PROCESS_FAULTS = "tests/reliability/test_process_faults.py"
SLOW_CLIENTS = "tests/reliability/test_slow_clients.py"
DATABASE_FAULTS = "tests/reliability/test_database_faults.py"


@dataclass(frozen=True)
class Property:
    """A property the server under licensesvc must keep, and the tests that check it."""

    name: str
    tests: tuple[str, ...]
    #: run in full size (LICENSESVC_FULL_TESTS=1): one quick round can pass by luck
    full: bool = False


PROPERTIES = (
    Property(
        "graceful drain: SIGTERM 0.1 s into a burst of 50 requests (5 times), of 200 (3 "
        "times): every request the kernel accepted is answered (0 lost)",
        (
            f"{PROCESS_FAULTS}::test_sigterm_during_a_burst_answers_every_accepted_request",
            "tests/reliability/test_server_drain.py::"
            "test_sigterm_during_a_burst_of_200_answers_every_accepted_request",
        ),
        full=True,
    ),
    Property(
        "414/431 as problem+json: an oversized request line, an oversized header, too many headers",
        (
            "tests/reliability/test_gunicorn_limits.py::"
            "test_oversized_request_lines_and_headers_get_problem_json",
        ),
    ),
    Property(
        "multiprocess metrics: summed over the workers, an earlier run's samples not added, a "
        "dead worker's live gauges dropped",
        (
            "tests/reliability/test_server_metrics.py::"
            "test_metrics_add_up_across_workers_runs_and_a_dead_worker",
        ),
    ),
    Property(
        "a worker killed (SIGKILL) during key issuance, 4 times: replaced, nothing answered "
        "lost, the audit chain whole",
        (
            f"{PROCESS_FAULTS}::test_sigkill_during_issuance_loses_no_answered_key_and_no_audit_record",
        ),
    ),
    Property(
        "slow clients: 4 connections sending a header line a second do not stop /healthz, "
        "each is cut at the header deadline",
        (f"{SLOW_CLIENTS}::test_four_slow_headers_do_not_stop_healthz",),
    ),
    Property(
        "the in-memory rate limits are divided among the workers (20/minute lets at most 20 "
        "through)",
        (f"{SLOW_CLIENTS}::test_in_memory_limits_are_divided_among_the_workers",),
    ),
    Property(
        "the database refusing, a black hole, slow: every answer 2xx or 503 in time, /healthz "
        "under 100 ms throughout",
        (f"{DATABASE_FAULTS}::test_outage_and_slow_database_answer_503_or_success_in_time",),
    ),
    Property(
        "a stuck session holding row locks delays no read and no answer",
        (
            f"{DATABASE_FAULTS}::test_a_stuck_session_holding_row_locks_delays_no_read_and_no_answer",
        ),
    ),
)


@dataclass(frozen=True)
class Outcome:
    """One test's outcome under one server: "passed", "failed" or "skipped", and why."""

    state: str
    why: str = ""


def _node_id(case: ET.Element) -> str:
    """`path::name` of a junit testcase (classname is the dotted module path)."""
    path = case.get("classname", "").replace(".", "/") + ".py"
    return f"{path}::{case.get('name', '')}"


def _why(text: str) -> str:
    """What a failure message says, short: its first line (the assertion's own message), and
    pytest's `assert ...` line when the first is not already it."""
    lines = [x.strip() for x in text.splitlines() if x.strip()]
    if not lines:
        return ""
    first = lines[0].removeprefix("AssertionError: ")
    first = first if len(first) <= 160 else first[:159] + "…"
    compared = next((x for x in lines[1:] if x.startswith("assert ")), "")
    compared = compared if len(compared) <= 80 else compared[:79] + "…"
    return f"{first} ({compared})" if compared and compared != first else first


def run_checks(server: str, database_url: str, workdir: Path) -> dict[str, Outcome]:
    """Run every property's tests under `server` (the full-size ones in a run of their own);
    the outcome of each test by node id."""
    outcomes: dict[str, Outcome] = {}
    for full in (False, True):
        tests = [t for p in PROPERTIES if p.full is full for t in p.tests]
        if tests:
            outcomes.update(_run(server, database_url, workdir, tests, full=full))
    return outcomes


def _run(
    server: str, database_url: str, workdir: Path, tests: list[str], *, full: bool
) -> dict[str, Outcome]:
    report = workdir / f"junit-{server}-{'full' if full else 'quick'}.xml"
    env = {**os.environ, SERVER_ENV: server, "LICENSESVC_TEST_DATABASE_URL": database_url}
    env.pop(FULL_ENV, None)
    if full:
        env[FULL_ENV] = "1"
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
    command += [f"--junitxml={report}", "--show-capture=no", *tests]
    size = "full size" if full else "quick"
    print(f"{server}: {len(tests)} tests, {size}", flush=True)
    subprocess.run(command, cwd=REPO_ROOT, env=env, check=False, timeout=3600)
    outcomes: dict[str, Outcome] = {}
    if not report.exists():
        return outcomes
    for case in ET.parse(report).getroot().iter("testcase"):
        failed = case.find("failure")
        if failed is None:
            failed = case.find("error")
        skipped = case.find("skipped")
        if failed is not None:
            why = failed.get("message") or failed.text or ""
            outcomes[_node_id(case)] = Outcome("failed", _why(why))
        elif skipped is not None:
            outcomes[_node_id(case)] = Outcome("skipped", _why(skipped.get("message", "")))
        else:
            outcomes[_node_id(case)] = Outcome("passed")
    return outcomes


def cell(prop: Property, outcomes: dict[str, Outcome]) -> str:
    """ "held" when every test of the property passed, else what failed and why."""
    got = [outcomes.get(t, Outcome("failed", "not run (see the run's output)")) for t in prop.tests]
    bad = [o for o in got if o.state != "passed"]
    if not bad:
        return "held"
    state = "**failed**" if any(o.state == "failed" for o in bad) else "skipped"
    why = "; ".join(o.why for o in bad if o.why)
    return f"{state}: `{why.replace('|', '/').replace('`', '')}`" if why else state


def section(results: dict[str, dict[str, Outcome]], command: str, database_url: str) -> str:
    kinds = list(results)
    out = [
        f"<!-- {MARK}:start -->",
        "## The server's properties: gunicorn against Granian (`bench/server_checks.py`)",
        "",
        f"Generated by `{command}`; do not edit by hand. Each property is checked by the "
        "reliability tests named beside it (tests/reliability/), run once under each server with "
        f"`{SERVER_ENV}` naming it (tests/support/servers.py) on PostgreSQL, in quick size "
        f"but for the drain tests (full size, `{FULL_ENV}=1`, and a burst of 200: one burst of "
        "50 can pass by luck); a cell is held, or failed with the assertion that failed. "
        "Rerun one cell: "
        f"`{SERVER_ENV}=granian LICENSESVC_TEST_DATABASE_URL=postgresql+psycopg://... "
        ".venv/bin/python -m pytest tests/reliability/FILE::TEST`.",
        "",
        "| property | test | " + " | ".join(SERVERS[k] for k in kinds) + " |",
        "|---|---|" + "---|" * len(kinds),
    ]
    for prop in PROPERTIES:
        size = " (full size)" if prop.full else ""
        tests = "<br>".join(f"`{t.split('/')[-1]}`{size}" for t in prop.tests)
        cells = " | ".join(cell(prop, results[k]) for k in kinds)
        out.append(f"| {prop.name} | {tests} | {cells} |")
    load = os.getloadavg()[0]
    out += [
        "",
        f"* database: PostgreSQL ({database_url.rsplit('@', 1)[-1]})",
        f"* date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; 1-minute load average {load:.2f} "
        f"on {os.cpu_count()} CPUs (the machine is shared)",
        f"<!-- {MARK}:end -->",
        "",
    ]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--no-write", action="store_true", help="print the table only")
    parser.add_argument(
        "--servers", default=",".join(SERVERS), help="comma-separated: gunicorn, granian"
    )
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    opts = parser.parse_args(argv)
    database_url = os.environ.get("LICENSESVC_TEST_DATABASE_URL") or DEFAULT_DATABASE
    if not database_url.startswith("postgresql"):
        parser.error("the checks need PostgreSQL (LICENSESVC_TEST_DATABASE_URL)")
    kinds = [k.strip() for k in opts.servers.split(",") if k.strip()]
    if unknown := [k for k in kinds if k not in SERVERS]:
        parser.error(f"unknown servers: {', '.join(unknown)}")
    with tempfile.TemporaryDirectory(prefix="server-checks-") as tmp:
        results = {k: run_checks(k, database_url, Path(tmp)) for k in kinds}
    command = ".venv/bin/python -m bench.server_checks"
    if kinds != list(SERVERS):
        command += f" --servers {','.join(kinds)}"
    text = section(results, command, database_url)
    print(text)
    if not opts.no_write:
        replace_section(opts.output, text, f"<!-- {MARK}:start -->", f"<!-- {MARK}:end -->")
        print(f"wrote {opts.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
