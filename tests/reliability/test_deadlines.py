"""The database deadlines of licensesvc/db.py on a real database: which failures count as
"unavailable", that PostgreSQL sessions carry the timeouts, that a transaction left idle by a
frozen instance releases its locks, and that the API answers 503 with Retry-After."""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from licensesvc.app import create_app
from licensesvc.config import ConfigurationError, Settings
from licensesvc.db import (
    DatabaseDeadlines,
    DeadlineExceeded,
    is_unavailable,
    make_engine,
    request_deadline,
)
from licensesvc.migrate import upgrade

PG = bool(os.environ.get("LICENSESVC_TEST_DATABASE_URL"))
needs_pg = pytest.mark.skipif(not PG, reason="PostgreSQL timeouts")
needs_sqlite = pytest.mark.skipif(PG, reason="SQLite locking")


def test_deadlines_come_from_the_environment_and_bad_values_name_the_variable() -> None:
    read = DatabaseDeadlines.from_env(
        {"LICENSESVC_DB_STATEMENT_TIMEOUT": "2.5", "LICENSESVC_DB_POOL_SIZE": "3"}
    )
    assert (read.statement_timeout, read.pool_size) == (2.5, 3)
    assert read.lock_timeout == DatabaseDeadlines().lock_timeout
    with pytest.raises(ConfigurationError, match="LICENSESVC_DB_LOCK_TIMEOUT must be a number"):
        DatabaseDeadlines.from_env({"LICENSESVC_DB_LOCK_TIMEOUT": "soon"})
    with pytest.raises(ConfigurationError, match="LICENSESVC_DB_POOL_TIMEOUT must be positive"):
        DatabaseDeadlines.from_env({"LICENSESVC_DB_POOL_TIMEOUT": "0"})


def test_defaults_stay_below_the_gunicorn_worker_timeout() -> None:
    from licensesvc import gunicorn_conf

    d = DatabaseDeadlines()
    assert d.connect_timeout + d.pool_timeout + d.request_timeout < gunicorn_conf.timeout
    assert d.client_timeout < d.request_timeout < gunicorn_conf.timeout
    assert d.lock_timeout < d.statement_timeout


@needs_pg
def test_postgresql_sessions_carry_the_timeouts_and_slow_statements_are_unavailable(
    database_url: str,
) -> None:
    engine = make_engine(database_url, DatabaseDeadlines(statement_timeout=0.5, lock_timeout=0.3))
    try:
        with engine.connect() as conn:
            shown = [
                conn.execute(text(f"SHOW {name}")).scalar()
                for name in ("statement_timeout", "lock_timeout")
            ]
            assert shown == ["500ms", "300ms"]
            with pytest.raises(DBAPIError) as slow:
                conn.execute(text("SELECT pg_sleep(2)"))
            assert is_unavailable(slow.value)
            conn.rollback()
            with pytest.raises(DBAPIError) as broken:
                conn.execute(text("SELEC 1"))
            assert not is_unavailable(broken.value)  # a defect stays a 500
    finally:
        engine.dispose()


@needs_pg
def test_a_request_deadline_ends_a_wait_on_the_client(database_url: str) -> None:
    engine = make_engine(database_url, DatabaseDeadlines(statement_timeout=30))
    try:
        with engine.connect() as conn:
            started = time.monotonic()
            with request_deadline(0.5), pytest.raises(DBAPIError) as late:
                conn.execute(text("SELECT pg_sleep(5)"))
            assert time.monotonic() - started < 2
            assert is_unavailable(late.value)
            # the dropped connection counts as a disconnect: no ROLLBACK is tried on it (its
            # failure logged a traceback), and the pool opens a new one
            assert late.value.connection_invalidated
            conn.rollback()
            assert conn.execute(text("SELECT 1")).scalar() == 1
        with engine.connect() as conn, request_deadline(0.2):
            time.sleep(0.3)
            with pytest.raises(DeadlineExceeded):
                conn.execute(text("SELECT 1"))
    finally:
        engine.dispose()


@needs_pg
def test_a_transaction_left_idle_releases_its_locks(database_url: str) -> None:
    """A frozen instance (here: a connection that stops talking mid-transaction) holds the
    audit chain's kind of lock only until idle_in_transaction_session_timeout."""
    frozen = make_engine(database_url, DatabaseDeadlines(idle_in_transaction_timeout=1))
    other = make_engine(database_url, DatabaseDeadlines(lock_timeout=5))
    try:
        with frozen.connect() as stuck, other.connect() as waiting:
            stuck.execute(text("SELECT pg_advisory_xact_lock(4242)"))
            started = time.monotonic()
            waiting.execute(text("SELECT pg_advisory_xact_lock(4242)"))  # waits for the timeout
            assert 0.5 < time.monotonic() - started < 4
            with pytest.raises(DBAPIError) as ended:
                stuck.execute(text("SELECT 1"))
            assert is_unavailable(ended.value)
    finally:
        frozen.dispose()
        other.dispose()


@needs_sqlite
def test_a_locked_sqlite_database_answers_503_with_retry_after_and_one_log_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    db = tmp_path / "lock.db"
    url = f"sqlite:///{db}"
    upgrade(make_engine(url))
    monkeypatch.setenv("LICENSESVC_DB_BUSY_TIMEOUT", "0.5")
    monkeypatch.setenv("LICENSESVC_DB_RETRY_AFTER", "7")
    app = create_app(
        Settings(database_url=url, secret_key="s", signing_key_passphrase="p", data_dir=tmp_path)
    )
    writer = sqlite3.connect(db, isolation_level=None, timeout=0)
    writer.execute("BEGIN IMMEDIATE")
    try:
        started = time.monotonic()
        with caplog.at_level(logging.WARNING):
            response = app.test_client().post(
                "/v1/key-requests",
                json={"license_id": 1, "kind": "standard"},
                headers={"Authorization": "Bearer nope"},
            )
        assert time.monotonic() - started < 5
        assert response.status_code == 503
        assert response.mimetype == "application/problem+json"
        assert response.json is not None and response.json["code"] == "service_unavailable"
        assert response.headers["Retry-After"] == "7"
        lines = [r for r in caplog.records if "database unavailable" in r.getMessage()]
        assert len(lines) == 1 and lines[0].exc_info is None
        assert "database is locked" in lines[0].getMessage()
    finally:
        writer.execute("ROLLBACK")
        writer.close()
    assert app.test_client().get("/healthz").status_code == 200


def test_an_unreachable_database_fails_readiness_within_its_deadline(tmp_path: Path) -> None:
    from tests.e2e.e2e_helpers import free_port

    url = f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/none"
    app = create_app(
        Settings(database_url=url, secret_key="s", signing_key_passphrase="p", data_dir=tmp_path)
    )
    started = time.monotonic()
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.json == {"status": "unavailable", "database": "unreachable"}
    assert time.monotonic() - started < 4
    api = app.test_client().get("/v1/keys", headers={"Authorization": "Bearer x"})
    assert api.status_code == 503 and api.json is not None
    assert api.json["code"] == "service_unavailable"


@needs_pg
def test_the_pool_checkout_ends_at_the_request_deadline(database_url: str) -> None:
    """Every connection held (by requests stuck on a silent database): the next checkout
    gives up at the request deadline, not pool_timeout later."""
    engine = make_engine(
        database_url, DatabaseDeadlines(pool_timeout=10, pool_size=1, max_overflow=0)
    )
    try:
        with engine.connect():
            started = time.monotonic()
            with request_deadline(0.5), pytest.raises(Exception) as waited:
                engine.connect()
            assert time.monotonic() - started < 1.0
            assert is_unavailable(waited.value)
    finally:
        engine.dispose()


@needs_pg
def test_connecting_to_a_silent_server_ends_at_the_request_deadline(database_url: str) -> None:
    """A server that accepts the TCP connection and then says nothing (a black hole):
    connecting gives up at the request deadline, not connect_timeout later."""
    import socket

    from sqlalchemy.engine import make_url

    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)  # the kernel completes the handshake; nothing is ever answered
    url = make_url(database_url).set(host="127.0.0.1", port=silent.getsockname()[1])
    engine = make_engine(
        url.render_as_string(hide_password=False), DatabaseDeadlines(connect_timeout=10)
    )
    try:
        started = time.monotonic()
        with request_deadline(0.5), pytest.raises(DBAPIError) as waited:
            engine.connect()
        assert time.monotonic() - started < 1.0
        assert is_unavailable(waited.value)
    finally:
        engine.dispose()
        silent.close()


@needs_sqlite
def test_waiting_for_the_sqlite_write_lock_ends_at_the_request_deadline(tmp_path: Path) -> None:
    db = tmp_path / "wait.db"
    engine = make_engine(f"sqlite:///{db}", DatabaseDeadlines(busy_timeout=10))
    with engine.begin() as conn:  # the file exists, in WAL mode, before the writer locks it
        conn.execute(text("CREATE TABLE t (x INTEGER)"))
    writer = sqlite3.connect(db, isolation_level=None, timeout=0, check_same_thread=False)
    writer.execute("BEGIN IMMEDIATE")
    try:
        started = time.monotonic()
        with request_deadline(0.5), pytest.raises(DBAPIError) as waited, engine.begin() as conn:
            conn.execute(text("SELECT 1"))
        assert 0.4 < time.monotonic() - started < 1.0
        assert is_unavailable(waited.value)
        # outside a request the whole busy_timeout applies again: this waits for the writer
        threading.Timer(1.0, writer.execute, args=("ROLLBACK",)).start()
        started = time.monotonic()
        with engine.begin() as conn:
            conn.execute(text("SELECT 1"))
        assert time.monotonic() - started >= 0.9
    finally:
        writer.close()
        engine.dispose()


@needs_sqlite
def test_an_error_escaping_the_request_handlers_is_problem_json(tmp_path: Path) -> None:
    """Issue 19 point 8: an exception raised while the request is torn down (after the view
    answered) is a problem+json 500, and one meaning "database unavailable" a 503 with
    Retry-After, never the server's plain 500."""
    url = f"sqlite:///{tmp_path / 'teardown.db'}"
    upgrade(make_engine(url))
    app = create_app(
        Settings(database_url=url, secret_key="s", signing_key_passphrase="p", data_dir=tmp_path)
    )
    failure: list[Exception] = []

    @app.teardown_appcontext
    def _fail(_exc: BaseException | None = None) -> None:
        if failure:
            raise failure[0]

    client = app.test_client()
    failure.append(RuntimeError("teardown broke"))
    answer = client.get("/healthz")
    assert answer.status_code == 500
    assert answer.mimetype == "application/problem+json"
    assert answer.json is not None and answer.json["code"] == "internal_error"
    failure[0] = DeadlineExceeded("too late")
    answer = client.get("/v1/keys", headers={"Authorization": "Bearer x"})
    assert answer.status_code == 503 and answer.headers["Retry-After"]
    assert answer.json is not None and answer.json["code"] == "service_unavailable"
    failure.clear()
    assert client.get("/healthz").status_code == 200
