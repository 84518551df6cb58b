"""The change feed (licensesvc/platform/changefeed.py) on a database of its own: its stamp
moves within the poll interval when another connection commits to the audit trail, and when
this process commits; a feed that cannot read the head is lost within MAX_AGE (no stamp:
callers read the database), and its recovery gives a stamp no earlier one equals."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from licensesvc.db import make_engine
from licensesvc.migrate import upgrade
from licensesvc.platform import changefeed
from tests.conftest import fresh_database_url


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    for url in fresh_database_url(tmp_path, "feed"):
        eng = make_engine(url)
        upgrade(eng)
        try:
            yield eng
        finally:
            eng.dispose()


def append_record(engine: Engine, n: int) -> None:
    """An audit record committed on a connection of its own (as another server would)."""
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO audit_records (id, at, actor, action, entity_type, entity_id,"
                " details, prev_hash, hash) VALUES (:id, :at, 'system', 'test.appended',"
                " 'test', 'x', '{}', :prev, :hash)"
            ),
            {"id": n, "at": datetime.now(UTC), "prev": f"p{n}", "hash": f"h{n}"},
        )


def within(seconds: float, condition: Callable[[], bool]) -> float:
    """How long condition took to come true (fails after `seconds`)."""
    start = time.monotonic()
    while not condition():
        assert time.monotonic() - start < seconds, "not within the time"
        time.sleep(0.01)
    return time.monotonic() - start


def test_the_stamp_moves_when_the_trail_grows_anywhere(engine: Engine) -> None:
    feed = changefeed.ChangeFeed(engine)
    first = feed.state()
    assert first is not None
    time.sleep(changefeed.INTERVAL * 2)
    assert feed.state() == first  # nothing changed: the same stamp
    append_record(engine, 1)
    took = within(changefeed.MAX_AGE, lambda: feed.state() != first)
    assert took <= changefeed.MAX_AGE
    # a commit of this process that appended to the trail: stale at once, without a poll
    second = feed.state()
    with Session(engine) as session:
        session.execute(text("SELECT 1"))
        changefeed.changed_here(session)
        session.commit()
    assert feed.state() != second


def test_a_feed_that_cannot_read_the_head_is_lost_and_comes_back_in_a_new_epoch(
    engine: Engine,
) -> None:
    feed = changefeed.ChangeFeed(engine)
    before = feed.state()
    assert before is not None and feed.up
    with engine.begin() as conn:  # the head can no longer be read
        conn.execute(text("ALTER TABLE audit_records RENAME TO audit_records_cut"))
    try:
        within(changefeed.MAX_AGE + changefeed.INTERVAL * 3, lambda: feed.state() is None)
        assert not feed.up
    finally:
        with engine.begin() as conn:
            conn.execute(text("ALTER TABLE audit_records_cut RENAME TO audit_records"))
    within(changefeed.INTERVAL * 10, lambda: feed.state() is not None)
    assert feed.state() != before  # what happened while it was lost is unknown


def test_the_feed_knows_the_read_only_sessions_by_the_option_licensesvc_db_sets() -> None:
    from licensesvc import db

    assert changefeed.READ_ONLY_OPTION == db.READ_ONLY
