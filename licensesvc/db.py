"""Engines and sessions. SQLite gets WAL, foreign keys and BEGIN IMMEDIATE (one writer at a
time, so read-then-write decisions never race); PostgreSQL relies on row locks.

Every wait on the database has a deadline (`DatabaseDeadlines`, from `LICENSESVC_DB_*`
variables), all of them below gunicorn's worker timeout (30 s, `licensesvc/gunicorn_conf.py`):
connecting, waiting for a pooled connection, each statement (on the server and, for a network
that went silent, on the client), each lock, a transaction left idle by a dead instance, and
the whole request (`request_deadline`). Within a request every one of those waits also ends at
the request's deadline, whichever comes first: connecting, the pool's checkout, each answer of
the server, SQLite's wait for the write lock. `is_unavailable` tells the callers which failures
mean "the database is unreachable or too slow" (503 `service_unavailable`, one plain CLI line).
"""

from __future__ import annotations

import contextvars
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, fields
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import ConnectionPoolEntry, NullPool, QueuePool
from sqlalchemy.util import queue as sa_queue

from .config import ConfigurationError, private_sqlite_file

ENV_PREFIX = "LICENSESVC_DB_"


class DeadlineExceeded(Exception):
    """The request's time for database work is used up (or one wait ran past its deadline)."""


@dataclass(frozen=True)
class DatabaseDeadlines:
    """How long licensesvc waits for the database, in seconds. Each field is the variable
    `LICENSESVC_DB_<NAME>` (upper case); docs/reliability.md lists them with their defaults.
    The defaults keep connect + pool wait + request deadline (5 + 5 + 15) under gunicorn's
    30 s worker timeout, so a request answers 503 before gunicorn would kill its worker."""

    #: opening a connection (libpq connect_timeout; whole numbers, at least 2 on PostgreSQL)
    connect_timeout: float = 5.0
    #: one statement on the server (PostgreSQL statement_timeout)
    statement_timeout: float = 10.0
    #: waiting for one row or table lock (PostgreSQL lock_timeout)
    lock_timeout: float = 5.0
    #: a session idle inside a transaction is ended by the server, releasing its locks
    #: (PostgreSQL idle_in_transaction_session_timeout): a frozen instance blocks no one longer
    idle_in_transaction_timeout: float = 10.0
    #: waiting for a free connection of the pool
    pool_timeout: float = 5.0
    #: connections kept per process, and how many more may be opened under load
    pool_size: int = 5
    max_overflow: int = 5
    #: SQLite: waiting for another writer's lock (busy_timeout)
    busy_timeout: float = 10.0
    #: all database work of one HTTP request; past it, the request answers 503
    request_timeout: float = 15.0
    #: /readyz's own deadline for its probe
    readiness_timeout: float = 2.0
    #: what a 503 tells the client in Retry-After
    retry_after: int = 5

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> DatabaseDeadlines:
        """Read `LICENSESVC_DB_*`; raises ConfigurationError naming a malformed variable."""
        values: dict[str, Any] = {}
        for f in fields(cls):
            name = f"{ENV_PREFIX}{f.name.upper()}"
            raw = environ.get(name)
            if raw is None or raw == "":
                continue
            kind = int if f.type in ("int", int) else float
            try:
                number = kind(raw)
            except ValueError:
                raise ConfigurationError(f"{name} must be a number, not {raw!r}") from None
            if number < 0 or (number == 0 and f.name != "max_overflow"):
                raise ConfigurationError(f"{name} must be positive")
            values[f.name] = number
        return cls(**values)

    @property
    def client_timeout(self) -> float:
        """How long the client waits for any one answer of the server: the server's own
        statement deadline plus slack, so a silent network cannot hold a request forever."""
        return self.statement_timeout + 2.0


_request_deadline: contextvars.ContextVar[float | None] = contextvars.ContextVar(
    "licensesvc_request_deadline", default=None
)


@contextmanager
def request_deadline(seconds: float) -> Iterator[None]:
    """Within the block, database work ends (DeadlineExceeded, or OperationalError from the
    driver) once `seconds` have passed; nested blocks can only shorten the deadline."""
    token = set_request_deadline(seconds)
    try:
        yield
    finally:
        _request_deadline.reset(token)


def set_request_deadline(seconds: float) -> contextvars.Token[float | None]:
    """Start a deadline for the current thread's work; reset with the returned token."""
    limit = time.monotonic() + seconds
    current = _request_deadline.get()
    return _request_deadline.set(limit if current is None else min(current, limit))


def reset_request_deadline(token: contextvars.Token[float | None]) -> None:
    _request_deadline.reset(token)


def _remaining() -> float | None:
    limit = _request_deadline.get()
    return None if limit is None else limit - time.monotonic()


class DeadlineQueuePool(QueuePool):
    """QueuePool whose checkout waits no longer than the request's deadline (nor than its own
    `pool_timeout`): with every connection held by requests stuck on a silent database, the
    next request answers 503 at its deadline instead of pool_timeout later."""

    def _do_get(self) -> ConnectionPoolEntry:
        remaining = _remaining()
        if remaining is None:
            return super()._do_get()
        if remaining <= 0:
            raise DeadlineExceeded("the request's time for database work is used up")
        timeout = min(self._timeout, remaining)
        use_overflow = self._max_overflow > -1
        wait = use_overflow and self._overflow >= self._max_overflow
        try:
            return self._pool.get(wait, timeout)
        except sa_queue.Empty:
            pass
        if use_overflow and self._overflow >= self._max_overflow:
            if not wait:
                return self._do_get()
            raise sa_exc.TimeoutError(
                f"no free database connection within {timeout:.1f} s "
                f"(pool of {self.size()} + {self._max_overflow})"
            )
        if self._inc_overflow():
            try:
                return self._create_connection()
            except BaseException:
                self._dec_overflow()
                raise
        return self._do_get()


def make_engine(url: str, deadlines: DatabaseDeadlines | None = None, **kwargs: Any) -> Engine:
    """Return an engine for url with deadlines on every wait; creates the SQLite file's folder
    when needed. Bound parameters never appear in SQLAlchemy's errors or logs
    (hide_parameters): they carry customers' text and token hashes."""
    deadlines = deadlines or DatabaseDeadlines()
    kwargs.setdefault("hide_parameters", True)
    if url.startswith("sqlite"):
        path = url.split("///", 1)[1] if "///" in url else ""
        private_sqlite_file(path)  # folder 0700, database files 0600
        if path and path != ":memory:":
            kwargs.setdefault("poolclass", DeadlineQueuePool)
            kwargs.setdefault("pool_timeout", deadlines.pool_timeout)
        engine = create_engine(url, connect_args={"timeout": deadlines.busy_timeout}, **kwargs)
        _configure_sqlite(engine, deadlines)
        _check_request_deadline(engine)
        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    if kwargs.get("poolclass") is not NullPool:
        kwargs.setdefault("poolclass", DeadlineQueuePool)
        kwargs.setdefault("pool_pre_ping", True)
        kwargs.setdefault("pool_timeout", deadlines.pool_timeout)
        kwargs.setdefault("pool_size", deadlines.pool_size)
        kwargs.setdefault("max_overflow", deadlines.max_overflow)
    connect_args = dict(kwargs.pop("connect_args", {}))
    if make_url(url).get_backend_name() == "postgresql":
        connect_args.update(_postgresql_connect_args(url, deadlines))
    engine = create_engine(url, connect_args=connect_args, **kwargs)
    if engine.dialect.driver == "psycopg":
        _use_deadline_connections(engine, deadlines)
    if engine.dialect.name == "postgresql":
        _no_wait_on_postgresql(engine)
    _check_request_deadline(engine)
    return engine


def make_probe_engine(url: str, deadlines: DatabaseDeadlines) -> Engine:
    """An engine for /readyz: no pool (a probe never waits behind busy requests), and every
    wait bounded by the readiness deadline."""
    short = min(deadlines.readiness_timeout, deadlines.connect_timeout)
    probe = DatabaseDeadlines(
        connect_timeout=max(2.0, short),
        statement_timeout=short,
        lock_timeout=short,
        idle_in_transaction_timeout=deadlines.idle_in_transaction_timeout,
        busy_timeout=short,
        request_timeout=short,
        readiness_timeout=short,
        retry_after=deadlines.retry_after,
    )
    if url.startswith("sqlite"):
        # a probe only reads: it must not queue for the write lock (BEGIN IMMEDIATE)
        return make_engine(url, probe).execution_options(**{READ_ONLY: True})
    return make_engine(url, probe, poolclass=NullPool)


def _ms(seconds: float) -> int:
    return max(1, int(seconds * 1000))


def _postgresql_connect_args(url: str, deadlines: DatabaseDeadlines) -> dict[str, Any]:
    """libpq options: the connect timeout, TCP keepalives, and the server-side timeouts set for
    every session at connection time (no extra round trip)."""
    settings = (
        f"-c statement_timeout={_ms(deadlines.statement_timeout)} "
        f"-c lock_timeout={_ms(deadlines.lock_timeout)} "
        f"-c idle_in_transaction_session_timeout={_ms(deadlines.idle_in_transaction_timeout)}"
    )
    given = make_url(url).query.get("options")
    if given:
        settings = f"{given if isinstance(given, str) else ' '.join(given)} {settings}"
    return {
        # libpq takes whole seconds and treats values below 2 as 2
        "connect_timeout": max(2, int(round(deadlines.connect_timeout))),
        "options": settings,
        "keepalives": 1,
        "keepalives_idle": 10,
        "keepalives_interval": 5,
        "keepalives_count": 3,
        # data sent but not acknowledged this long (a silent network): the kernel drops the
        # connection, so even a wait no deadline covers (an idle pooled connection) ends
        "tcp_user_timeout": _ms(deadlines.client_timeout),
    }


def _use_deadline_connections(engine: Engine, deadlines: DatabaseDeadlines) -> None:
    """psycopg connections whose every wait for the server (connecting, statement, commit,
    rollback, the pool's ping) ends after `client_timeout` (connecting: `connect_timeout`) or
    at the request deadline, whichever is first. Without this a black-holed network (server
    alive, packets lost) holds a worker until gunicorn kills it: statement_timeout runs on the
    server and its answer never arrives."""
    import psycopg

    wait_timeout = getattr(psycopg.errors, "_WaitTimeout", None)

    class DeadlineConnection(psycopg.Connection[Any]):
        @classmethod
        def _connect_gen(cls, conninfo: str = "", **kwargs: Any) -> Any:
            # psycopg's connect loop resumes the generator at least every 0.1 s, waiting or
            # not: checking the deadline at each step ends the attempt on time
            limit = _request_deadline.get()
            gen = super()._connect_gen(conninfo, **kwargs)
            return gen if limit is None else _until(gen, limit)

        def wait(self, gen: Any, interval: float = 0.1, timeout: float | None = None) -> Any:
            limit = deadlines.client_timeout if timeout is None else timeout
            remaining = _remaining()
            if remaining is not None:
                if remaining <= 0:
                    self._give_up()
                    raise GaveUp("request deadline exceeded")
                limit = min(limit, remaining)
            try:
                return super().wait(gen, interval, limit)
            except Exception as exc:
                if wait_timeout is not None and isinstance(exc, wait_timeout):
                    self._give_up()
                    raise GaveUp(f"no answer from the database within {limit:.1f} s") from None
                raise

        def _give_up(self) -> None:
            # the protocol state is unknown: drop the connection (the pool replaces it)
            self.pgconn.finish()

    class GaveUp(psycopg.OperationalError):
        """The client stopped waiting for the server and dropped the connection."""

    if wait_timeout is None:  # an older psycopg: the server-side timeouts still apply
        return

    @event.listens_for(engine, "handle_error")
    def _dropped(context: Any) -> None:
        # a dropped connection is a disconnect: the pool discards it without a ROLLBACK
        # (which would fail, and log a traceback) and the next checkout opens a new one
        if isinstance(context.original_exception, GaveUp):
            context.is_disconnect = True

    @event.listens_for(engine, "do_connect")
    def _connect(_dialect: Any, _record: Any, cargs: Any, cparams: Any) -> Any:
        return DeadlineConnection.connect(*cargs, **cparams)


def _no_wait_on_postgresql(engine: Engine) -> None:
    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        if connection.get_execution_options().get(NO_WAIT, False):
            connection.exec_driver_sql(f"SET LOCAL lock_timeout = {NO_WAIT_MS}")


def _until(gen: Any, limit: float) -> Any:
    """Run the connect generator gen, raising OperationalError once `limit` (monotonic) has
    passed."""
    import psycopg

    value = next(gen)
    while True:
        if time.monotonic() >= limit:
            gen.close()
            raise psycopg.OperationalError("request deadline exceeded while connecting")
        sent = yield value
        try:
            value = gen.send(sent)
        except StopIteration as stop:
            return stop.value


def _check_request_deadline(engine: Engine) -> None:
    @event.listens_for(engine, "before_cursor_execute")
    def _before(*_args: Any) -> None:
        remaining = _remaining()
        if remaining is not None and remaining <= 0:
            raise DeadlineExceeded("the request's time for database work is used up")


def _configure_sqlite(engine: Engine, deadlines: DatabaseDeadlines) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, record: Any) -> None:
        # let SQLAlchemy, not pysqlite, decide when transactions begin
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={_ms(deadlines.busy_timeout)}")
        cursor.close()
        record.info["busy_ms"] = _ms(deadlines.busy_timeout)

    busy_ms = _ms(deadlines.busy_timeout)

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        # Writers take the write lock up front, so a read-then-write decision never meets a
        # concurrent writer halfway (SQLITE_BUSY). Readers (READ_ONLY) don't queue behind them.
        options = connection.get_execution_options()
        read_only = options.get(READ_ONLY, False)
        if not read_only:
            # the wait for the write lock ends at the request deadline too (NO_WAIT: at once)
            wait = NO_WAIT_MS if options.get(NO_WAIT, False) else busy_ms
            remaining = _remaining()
            if remaining is not None:
                wait = min(wait, _ms(remaining))
            info = connection.connection.info
            if info.get("busy_ms") != wait:
                connection.exec_driver_sql(f"PRAGMA busy_timeout={wait}")
                info["busy_ms"] = wait
        connection.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")


#: PostgreSQL SQLSTATEs (or their first two characters) that mean "unreachable, overloaded or
#: too slow; try again later": connection exceptions (08), insufficient resources (53),
#: operator intervention incl. statement_timeout (57), lock_timeout (55P03), serialization
#: failure and deadlock (40001, 40P01), idle-in-transaction timeout (25P03)
_UNAVAILABLE_SQLSTATES = ("08", "53", "57", "55P03", "40001", "40P01", "25P03")
_SQLITE_UNAVAILABLE = ("database is locked", "database is busy", "unable to open database")


def is_unavailable(exc: BaseException) -> bool:
    """Whether exc means the database is unreachable or too slow (answer 503 and retry later)
    rather than a defect (500)."""

    if isinstance(exc, DeadlineExceeded | sa_exc.TimeoutError):
        return True
    if isinstance(exc, sa_exc.DBAPIError):
        if exc.connection_invalidated:
            return True
        return exc.orig is not None and is_unavailable(exc.orig)
    sqlstate = getattr(exc, "sqlstate", None)
    module = type(exc).__module__
    if module.startswith("psycopg"):
        import psycopg

        if sqlstate is None:  # raised by the client: connect failed, connection lost, timeout
            return isinstance(exc, psycopg.OperationalError | psycopg.InterfaceError)
        return str(sqlstate).startswith(_UNAVAILABLE_SQLSTATES)
    if module == "sqlite3":
        return any(text in str(exc).lower() for text in _SQLITE_UNAVAILABLE)
    return False


#: execution option marking sessions that only read (SQLite then begins a deferred transaction)
READ_ONLY = "licensesvc_read_only"

#: execution option of bookkeeping writes made for a request that only reads (a token's last
#: use): they wait at most NO_WAIT_MS for a lock (PostgreSQL lock_timeout, SQLite busy_timeout)
#: and give up, so a read never queues behind a writer's locks
NO_WAIT = "licensesvc_no_wait"
NO_WAIT_MS = 50


def no_wait_options() -> dict[str, Any]:
    """Execution options for a short bookkeeping transaction that must not wait on locks:
    `session.connection(execution_options=no_wait_options())` before its first statement."""
    return {NO_WAIT: True}


def make_sessionmaker(engine: Engine, *, read_only: bool = False) -> sessionmaker[Session]:
    """Return a session factory; read_only sessions must not write (on SQLite they would fail
    with "database is locked" when a writer got there first)."""
    bind = engine.execution_options(**{READ_ONLY: True}) if read_only else engine
    return sessionmaker(bind=bind, expire_on_commit=False)
