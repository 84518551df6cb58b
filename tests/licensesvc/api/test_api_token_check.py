"""The token check of an app whose sessions are its own (as in production, unlike the API
tests' sessions, which join a transaction the test holds): once a token has been checked, a
key request's check runs no SQL statement, though every key request changes the audit trail;
a token revoked through this process is refused at once; the last use is still written once
a minute; a revocation the change feed could not carry (made while the feed was lost) is not
served stale (licensesvc/identity/tokens.py: check_token_cached, platform/changefeed.py)."""

from __future__ import annotations

import time
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from licensesvc.identity import tokens
from licensesvc.platform import changefeed
from licensesvc.platform.context import Actor
from tests.licensesvc.own_app import OwnApp, counting, own_app_fixture  # noqa: F401 (fixture)


def test_a_key_requests_token_check_runs_no_statement_once_warm(own_app: OwnApp) -> None:
    assert own_app.ask_for_replacement().status_code == 201  # the token checked and kept
    assert own_app.ask_for_replacement().status_code == 201  # the last change: a key request
    feed = changefeed.feed_for(own_app.runtime.engine)
    for _ in range(3):  # a busy machine may starve the feed's thread: then the check reads
        with counting(own_app, "key-requests") as counted:
            granted = own_app.ask_for_replacement()
        assert granted.status_code == 201, granted.get_data(as_text=True)
        # the view's own work did run, on the same thread: the count sees the request
        assert any("INSERT INTO keys" in s for s in counted.statements)
        if feed.up:
            break
    assert counted.before_view == 0, counted.statements[: counted.before_view or 0]
    assert not any("api_tokens" in s for s in counted.statements)


def test_a_token_revoked_through_this_process_is_refused_at_once(own_app: OwnApp) -> None:
    assert own_app.ask_for_replacement().status_code == 201
    with own_app.runtime.unit_of_work(Actor.analyst("carol")) as ctx:
        tokens.revoke_token(ctx, own_app.token_id("Acme"))
    refused = own_app.ask_for_replacement()  # no wait for the feed's next poll
    assert refused.status_code == 401, refused.get_data(as_text=True)
    assert refused.get_json()["code"] == "unauthorized"
    # the analyst's token, kept too, still works: only the revoked one is refused
    analyst = own_app.ask_for_replacement(own_app.data.token["analyst"])
    assert analyst.status_code == 201, analyst.get_data(as_text=True)


def test_the_last_use_is_still_written_once_a_minute(own_app: OwnApp) -> None:
    def last_used() -> Any:
        with own_app.runtime.engine.connect() as conn:
            return conn.execute(
                text("SELECT last_used_at FROM api_tokens WHERE id = :i"),
                {"i": own_app.token_id("Acme")},
            ).scalar_one()

    assert own_app.ask_for_replacement().status_code == 201
    first = last_used()
    assert first is not None
    own_app.clock.advance(seconds=30)
    with counting(own_app, "key-requests") as counted:
        assert own_app.ask_for_replacement().status_code == 201
        assert not any("UPDATE api_tokens" in s for s in counted.statements)
    assert last_used() == first
    own_app.clock.advance(seconds=31)  # a minute after the recorded use
    with counting(own_app, "key-requests") as counted:
        assert own_app.ask_for_replacement().status_code == 201
        assert sum("UPDATE api_tokens" in s for s in counted.statements) == 1
    assert last_used() != first


def test_a_revocation_made_while_the_feed_was_lost_is_not_served_stale(
    own_app: OwnApp,
) -> None:
    if not own_app.url.startswith("postgresql"):
        pytest.skip("the feed is cut by locking the audit trail: PostgreSQL (SQLite locks all)")
    assert own_app.ask_for_replacement().status_code == 201  # kept under the feed's stamp
    feed = changefeed.feed_for(own_app.runtime.engine)
    engine = create_engine(own_app.url)
    try:
        with engine.connect() as cut:
            cut.execute(text("LOCK TABLE audit_records IN ACCESS EXCLUSIVE MODE"))
            with engine.begin() as conn:  # a revocation the feed cannot carry: no record
                conn.execute(
                    text("UPDATE api_tokens SET revoked_at = now() WHERE id = :i"),
                    {"i": own_app.token_id("Acme")},
                )
            start = time.monotonic()
            while feed.up:
                assert time.monotonic() - start < changefeed.MAX_AGE + 1.0, "never lost"
                time.sleep(0.02)
            cut.rollback()
        refused = own_app.ask_for_replacement()
        assert refused.status_code == 401, refused.get_data(as_text=True)
    finally:
        engine.dispose()
