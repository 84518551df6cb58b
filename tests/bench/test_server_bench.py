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
