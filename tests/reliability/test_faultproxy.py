"""The fault proxy itself, on PostgreSQL: each fault does what the other tests rely on, in
particular `cut_after(is_commit)`, the hook for the retry-after-a-lost-COMMIT-reply test."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from licensesvc.db import DatabaseDeadlines, is_unavailable, make_engine
from tests.reliability.faultproxy import FaultProxy, is_commit


@pytest.fixture
def proxied(database_url: str) -> Iterator[tuple[FaultProxy, Engine, Engine]]:
    if not database_url.startswith("postgresql"):
        pytest.skip("the fault proxy sits between the app and PostgreSQL")
    url = make_url(database_url)
    proxy = FaultProxy((url.host or "127.0.0.1", url.port or 5432)).start()
    through = url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    deadlines = DatabaseDeadlines(connect_timeout=2, statement_timeout=1)
    app, direct = make_engine(through, deadlines), make_engine(database_url)
    with direct.begin() as conn:
        conn.execute(text("CREATE TABLE IF NOT EXISTS proxy_probe (n integer)"))
        conn.execute(text("DELETE FROM proxy_probe"))
    try:
        yield proxy, app, direct
    finally:
        proxy.stop()
        with direct.begin() as conn:
            conn.execute(text("DROP TABLE proxy_probe"))
        app.dispose()
        direct.dispose()


def test_cut_after_commit_applies_the_commit_and_loses_its_reply(
    proxied: tuple[FaultProxy, Engine, Engine],
) -> None:
    proxy, app, direct = proxied
    conn = app.connect()
    conn.execute(text("INSERT INTO proxy_probe VALUES (1)"))
    proxy.cut_after(is_commit)
    with pytest.raises(DBAPIError) as lost:
        conn.commit()
    conn.close()
    assert is_unavailable(lost.value)
    assert proxy.faults == 1
    with direct.connect() as check:
        assert check.execute(text("SELECT count(*) FROM proxy_probe")).scalar() == 1
    with app.connect() as again:  # the proxy passes again afterwards
        assert again.execute(text("SELECT 1")).scalar() == 1


@pytest.mark.parametrize("fault", ["refuse", "blackhole"])
def test_refused_and_silent_connections_fail_within_the_deadline(
    proxied: tuple[FaultProxy, Engine, Engine], fault: str
) -> None:
    proxy, app, _ = proxied
    with app.connect() as warm:
        warm.execute(text("SELECT 1"))
    getattr(proxy, fault)()
    started = time.monotonic()
    with pytest.raises(DBAPIError) as failed, app.connect() as conn:
        conn.execute(text("SELECT 1"))
    assert is_unavailable(failed.value)
    assert time.monotonic() - started < 6  # pre-ping (3 s) then a connect (2 s)
    proxy.heal()
    proxy.cut_all()
    with app.connect() as conn:
        assert conn.execute(text("SELECT 1")).scalar() == 1


def test_delay_slows_every_round_trip(proxied: tuple[FaultProxy, Engine, Engine]) -> None:
    proxy, app, _ = proxied
    with app.connect() as conn:
        conn.execute(text("SELECT 1"))
        proxy.delay(0.2)
        started = time.monotonic()
        for _ in range(3):
            conn.execute(text("SELECT 1"))
        assert time.monotonic() - started >= 0.6
