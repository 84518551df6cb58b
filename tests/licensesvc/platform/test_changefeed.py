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


def append_record(engine: Engine, n: int, entity_type: str = "test") -> None:
    """An audit record committed on a connection of its own (as another server would)."""
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO audit_records (id, at, actor, action, entity_type, entity_id,"
                " details, prev_hash, hash) VALUES (:id, :at, 'system', 'test.appended',"
                " :entity_type, 'x', '{}', :prev, :hash)"
            ),
            {
                "id": n,
                "at": datetime.now(UTC),
                "entity_type": entity_type,
                "prev": f"p{n}",
                "hash": f"h{n}",
            },
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


def same_generations(stamp: object, other: object) -> bool:
    """Whether two topic stamps (epoch, generations...) differ in their epoch at most."""
    assert isinstance(stamp, tuple) and isinstance(other, tuple)
    return stamp[1:] == other[1:]


def test_a_topic_stamp_moves_only_with_the_records_of_its_entity_type(engine: Engine) -> None:
    feed = changefeed.ChangeFeed(engine)
    append_record(engine, 1, "key")
    feed.read_now()
    token = feed.state_of("token")
    whole = feed.state()
    assert token is not None and whole is not None
    append_record(engine, 2, "key")
    append_record(engine, 3, "case")
    within(changefeed.MAX_AGE, lambda: feed.state() != whole)  # the whole state moved
    # the tokens' did not (its generations: a busy machine that starves the poll thread past
    # MAX_AGE makes a loss, whose new epoch rightly moves every stamp)
    assert same_generations(feed.state_of("token"), token)
    append_record(engine, 4, "key")
    append_record(engine, 5, "token")
    append_record(engine, 6, "key")  # the topic's record is not the head: still seen
    took = within(changefeed.MAX_AGE, lambda: feed.state_of("token") != token)
    assert took <= changefeed.MAX_AGE
    # this process's own change of the topic: at once, once committed, not before
    second = feed.state_of("token")
    with Session(engine) as session:
        session.execute(text("SELECT 1"))
        changefeed.changed_here(session)  # any change: not the topic's
        changefeed.changed_here(session, "token")
        assert feed.state_of("token") == second
        session.commit()
    assert feed.state_of("token") != second


def test_a_trail_that_is_not_the_one_read_before_moves_every_topic(engine: Engine) -> None:
    feed = changefeed.ChangeFeed(engine)
    append_record(engine, 1, "key")
    feed.read_now()
    token = feed.state_of("token")
    with engine.begin() as conn:  # the trail replaced (a restore): the known head is other
        conn.execute(text("UPDATE audit_records SET hash = 'other' WHERE id = 1"))
    append_record(engine, 2, "key")
    within(changefeed.MAX_AGE, lambda: feed.state_of("token") != token)


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
        assert feed.state_of("token") is None
    finally:
        with engine.begin() as conn:
            conn.execute(text("ALTER TABLE audit_records_cut RENAME TO audit_records"))
    within(changefeed.INTERVAL * 10, lambda: feed.state() is not None)
    assert feed.state() != before  # what happened while it was lost is unknown


def test_the_feed_knows_the_read_only_sessions_by_the_option_licensesvc_db_sets() -> None:
    from licensesvc import db

    assert changefeed.READ_ONLY_OPTION == db.READ_ONLY


def test_the_read_only_sessions_share_the_feed_of_their_engine(engine: Engine) -> None:
    from licensesvc import db

    reading = engine.execution_options(**{db.READ_ONLY: True})
    assert changefeed.feed_for(reading) is changefeed.feed_for(engine)


@pytest.fixture
def own_url(tmp_path: Path) -> Iterator[str]:
    yield from fresh_database_url(tmp_path, "snap")


def test_a_verify_of_a_known_key_from_the_snapshot_runs_no_statement(
    own_url: str, tmp_path: Path
) -> None:
    """On an app whose sessions are its own (as in production), the second verify of a key
    is answered from the snapshot: no SQL statement on the request's thread; after a
    revocation through the app it is answered `revoked` at once."""
    import threading

    from sqlalchemy import event

    from licensesvc.app import create_app
    from licensesvc.runtime import Runtime
    from tests.e2e.e2e_helpers import e2e_settings, issue_standard_key, prepare

    settings = e2e_settings(own_url, tmp_path)
    data = prepare(settings, [("Acme", "base", "na", -30, 335, 335)])
    serial = issue_standard_key(settings, data.license["Acme"])
    runtime = Runtime.from_settings(settings)
    try:
        with runtime.engine.connect() as conn:
            key = conn.execute(
                text("SELECT key_text FROM keys WHERE serial = :s"), {"s": serial}
            ).scalar_one()
        client = create_app(runtime=runtime).test_client()
        here = threading.get_ident()
        statements: list[str] = []

        def count(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
            if threading.get_ident() == here:
                statements.append(statement)

        first = client.post("/v1/keys/verify", json={"key": key})
        assert first.get_json()["code"] == "valid"
        event.listen(runtime.engine, "before_cursor_execute", count)
        try:
            again = client.post("/v1/keys/verify", json={"key": key})
        finally:
            event.remove(runtime.engine, "before_cursor_execute", count)
        assert again.get_json()["code"] == "valid"
        assert statements == []
        revoked = client.post(
            f"/v1/keys/{serial}/revoke",
            json={"reason": "snapshot test"},
            headers={"Authorization": f"Bearer {data.token['analyst']}"},
        )
        assert revoked.status_code == 200, revoked.get_data(as_text=True)
        after = client.post("/v1/keys/verify", json={"key": key})
        assert after.get_json()["code"] == "revoked"
    finally:
        runtime.engine.dispose()
