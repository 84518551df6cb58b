"""The server benchmark's data and words, without wrk or gunicorn: the readers' rows read a
customer the writers never touch, the report says what every endpoint row sends, and the
writers' licenses hold the same usable keys however many refreshes the rounds sent. No timing
is asserted."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench import server_bench as sb
from licensesvc.domain.policy import KeyRequestInput
from licensesvc.issuance import request_key
from licensesvc.platform.context import Actor
from licensesvc.runtime import Runtime


@pytest.fixture(scope="module")
def prepared(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path, sb.Prepared]:
    data_dir = tmp_path_factory.mktemp("server-bench")
    url = f"sqlite:///{data_dir / 'bench.sqlite3'}"
    return url, data_dir, sb.prepare(url, data_dir)


def test_the_readers_rows_read_a_customer_no_writer_touches(
    prepared: tuple[str, Path, sb.Prepared],
) -> None:
    _, _, made = prepared
    assert len(made.tokens) == len(made.licenses) == sb.CUSTOMERS
    loads = {load.name: load for load in sb.endpoint_loads(made)}
    reader = loads["GET /v1/entitlements"].lines[0].split("\t")[0]
    assert reader == made.reader_token and reader not in made.tokens
    assert made.key_text in loads["POST /v1/keys/verify"].lines[0]
    one = loads["POST /v1/key-requests (replacement)"].lines
    assert one == [f'{made.tokens[0]}\t{{"license_id": {made.licenses[0]}, "kind": "replacement"}}']


def test_the_report_says_what_every_endpoint_row_sends(
    prepared: tuple[str, Path, sb.Prepared],
) -> None:
    _, _, made = prepared
    loads = [*sb.endpoint_loads(made), sb.many_customers_load(made, 0)]
    rows = [sb.Row("SQLite", "2 workers", load.name, 1.0, 1.0, 1.0, 1.0) for load in loads]
    lines = sb.row_lines(rows).splitlines()
    assert [line.split(": ", 1)[0] for line in lines] == [f"* {load.name}" for load in loads]


def test_refreshes_leave_each_writer_license_its_key_and_the_one_it_superseded(
    prepared: tuple[str, Path, sb.Prepared],
) -> None:
    url, data_dir, made = prepared
    runtime = Runtime.from_settings(sb.settings_for(url, data_dir))
    try:
        for _ in range(6):
            with runtime.unit_of_work(Actor.system()) as ctx:
                outcome = request_key(ctx, KeyRequestInput(made.licenses[0], "replacement"))
                assert outcome.key is not None
    finally:
        runtime.engine.dispose()
    sb.count_live_keys("test", url, data_dir, made)
    assert sb.LIVE_KEYS.pop("test") == (2, 2)


def test_the_scaling_target_is_the_bare_apps_own_gain_in_the_same_run() -> None:
    """Issue 20: 64 customers' key requests gain at least as much from 4 workers over 2 as the
    bare app does in the same run (on 2 cores both gain little)."""

    def rows(bare4: float, many4: float) -> list[sb.Row]:
        many = f"POST /v1/key-requests ({sb.CUSTOMERS} customers)"
        return [
            sb.Row("PostgreSQL", "2 workers", "bare Flask", 1000.0, 1.0, 1.0, 1.0),
            sb.Row("PostgreSQL", "2 workers", many, 100.0, 0.1, 1.0, 1.0),
            sb.Row("PostgreSQL", "4 workers", "bare Flask", bare4, 1.0, 1.0, 1.0),
            sb.Row("PostgreSQL", "4 workers", many, many4, 0.1, 1.0, 1.0),
        ]

    met = [line for line in sb.targets(rows(930.0, 98.0)).splitlines() if "4 ÷ 2" in line]
    assert met == [
        "| 64 customers: 4 ÷ 2 workers ≥ the bare app's 4 ÷ 2 workers (0.93×) | PostgreSQL "
        "| 4 ÷ 2 workers | 0.98× | **met** |"
    ]
    missed = sb.targets(rows(1200.0, 90.0))
    assert "| 0.90× | **missed**: 1.3× off |" in missed


def test_the_cost_report_bounds_throughput_by_the_cpu_a_request_takes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(sb, "CORES", 2)
    costs = [
        sb.Cost("through the app", app_ms=6.0, database_ms=2.0, wall_ms=9.0, statements=4.0),
        sb.Cost("the service alone", 3.0, None, 5.0, 3.0, loaded=1_000_000, wal_kb=0.0),
    ]
    text = sb.cost_report(costs, bare_rps=2000.0, requests=100)
    # 2 cores ÷ 8 ms = 250 req/s, an eighth of the bare app's 2,000
    assert (
        "| 0 | through the app | 6.00 ms | 2.00 ms | 9.00 ms | 4.0 | 0.0 kB (0.0 full pages) "
        "| 250 req/s | 0.12× |" in text
    )
    assert (
        "| 1,000,000 | the service alone | 3.00 ms | not measured | 5.00 ms | 3.0 "
        "| 0.0 kB (0.0 full pages) |  |  |" in text
    )


def test_postgresql_cpu_counts_the_work_the_local_server_did() -> None:
    from sqlalchemy import create_engine, text
    from sqlalchemy.exc import OperationalError

    before = sb.postgres_cpu_seconds()
    if before is None:
        pytest.skip("no PostgreSQL server on this machine")
    engine = create_engine(sb.PG_ADMIN_URL)
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT sum(i) FROM generate_series(1, 3000000) AS i"))
            # read while its backend lives (an ended one counts once the postmaster reaps it)
            after = sb.postgres_cpu_seconds()
    except OperationalError:
        pytest.skip("the local PostgreSQL server does not accept the benchmark's connection")
    finally:
        engine.dispose()
    assert after is not None and after - before >= 0.05


def test_the_cost_report_compares_each_path_at_the_largest_size_with_the_smallest() -> None:
    costs = [
        sb.Cost("through the app", 6.0, 2.0, 9.0, 4.0, loaded=0),
        sb.Cost("through the app", 6.5, 2.5, 9.5, 4.0, loaded=1_000_000),
    ]
    text = sb.cost_report(costs, bare_rps=2000.0, requests=100)
    assert (
        "* through the app: app and PostgreSQL CPU with 1,000,000 keys bulk-loaded ÷ with 0: "
        "1.12×" in text
    )
