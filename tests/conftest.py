"""Shared fixtures: a real database (SQLite file, or PostgreSQL when
LICENSESVC_TEST_DATABASE_URL names one), each test inside an outer transaction that is rolled
back, a controllable clock, and service contexts for analysts and customers."""

from __future__ import annotations

import inspect
import logging
import os
import re
import secrets
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.orm import Session

from licensesvc.config import Policy, Settings
from licensesvc.db import make_engine
from licensesvc.migrate import upgrade
from licensesvc.platform.context import Actor, ServiceContext
from tests.audit_guard import AuditGuard, ServiceCallGuard

if TYPE_CHECKING:
    from tests.support.apps import AppCache

PG_ENV = "LICENSESVC_TEST_DATABASE_URL"
START = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)  # a Monday, 10:00 in New York


class FakeClock:
    """A clock the test moves by hand."""

    def __init__(self, now: datetime = START) -> None:
        self.current = now

    def __call__(self) -> datetime:
        return self.current

    def advance(self, **kwargs: float) -> datetime:
        self.current += timedelta(**kwargs)
        return self.current

    def set(self, when: datetime) -> None:
        self.current = when

    @property
    def today(self) -> date:
        return self.current.date()


def fresh_database_url(tmp_path: Path, label: str = "db") -> Iterator[str]:
    """Yield the URL of an empty database of the kind under test, dropped afterwards."""
    if _running_db_independent:
        raise AssertionError(
            f"{_running_db_independent} is marked db_independent but makes a database: name "
            "fresh_database_url in its module or fixture (tests/conftest.py, DB_INDEPENDENT)"
        )
    base = os.environ.get(PG_ENV)
    if not base:
        yield f"sqlite:///{tmp_path / f'{label}.sqlite3'}"
        return
    name = f"lsvc_{label}_{uuid.uuid4().hex[:10]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = base.rsplit("/", 1)[0] + "/" + name
    try:
        yield url
    finally:
        with admin.connect() as conn:
            # FORCE ends the database's sessions and drops it in one step: a client that
            # reconnects at once (a change feed's listener) cannot slip in between
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    yield from fresh_database_url(tmp_path_factory.mktemp("db"), "suite")


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[Engine]:
    eng = make_engine(database_url)
    upgrade(eng)
    yield eng
    eng.dispose()


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    """A session whose every commit lands in a savepoint of an outer transaction that is rolled
    back after the test: each test starts from an empty database."""
    connection = engine.connect()
    outer = connection.begin()
    sess = Session(
        bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
    )
    try:
        # every commit of a change of state must carry its audit record (tests/audit_guard.py)
        with AuditGuard().watching(connection) as guard:
            sess.info["audit_guard"] = guard
            yield sess
    finally:
        sess.close()
        outer.rollback()
        connection.close()


@pytest.fixture(autouse=True)
def _service_calls_are_audited(request: pytest.FixtureRequest) -> None:
    """On the tests' own session, a domain package's function that changes state without
    appending an audit record fails (tests/audit_guard.py)."""
    if "session" not in request.fixturenames:
        return
    session = request.getfixturevalue("session")
    monkeypatch = request.getfixturevalue("monkeypatch")
    ServiceCallGuard(session, session.info["audit_guard"]).install(monkeypatch)


#: tests that share something no two may use at once run one at a time on one xdist worker
#: (scripts/test.sh runs `-n 2 --dist loadgroup`): the reliability scenarios kill workers,
#: cut connections and time answers against deadlines, each sized for the machine to itself
SERIAL_GROUPS = {"reliability": Path(__file__).parent / "reliability"}


# --- tests that reach no database run once ---------------------------------------------------

#: A test reaches the database of the run (SQLite, or PostgreSQL under PG_ENV) only through
#: fresh_database_url (the suite's `database_url`, `engine` and `session` fixtures use it, and
#: so do the fixtures and helpers that make a database of their own) or by reading PG_ENV. A
#: test whose module, fixtures and the test modules its module imports name neither is marked
#: `db_independent`: it does the same on either database, so scripts/test.sh runs it in the
#: SQLite run only (`-m "not db_independent"` on PostgreSQL). Should one reach a database
#: through a helper after all, fresh_database_url fails it (so the SQLite run finds it).
REACHES_A_DATABASE = re.compile(rf"fresh_database_url|\bPG_ENV\b|{PG_ENV}")
_running_db_independent: str | None = None
_source_cache: dict[object, bool] = {}
_module_cache: dict[ModuleType, bool] = {}


def _names_a_database(obj: object) -> bool:
    """Whether the source of a module or function names fresh_database_url or PG_ENV."""
    if obj not in _source_cache:
        try:
            source = inspect.getsource(obj)  # type: ignore[arg-type]
        except (OSError, TypeError):
            source = ""
        _source_cache[obj] = bool(REACHES_A_DATABASE.search(source))
    return _source_cache[obj]


def _test_modules_used_by(module: ModuleType) -> set[ModuleType]:
    """The module and the modules of tests/ it imports (or imports names from), but for the
    conftest modules: their fixtures count where a test uses them."""
    found = {module}
    for value in vars(module).values():
        home = value if isinstance(value, ModuleType) else inspect.getmodule(value)
        if (
            home is not None
            and home.__name__.startswith("tests.")
            and not home.__name__.endswith("conftest")
        ):
            found.add(home)
    return found


def reaches_a_database(item: pytest.Item) -> bool:
    module = getattr(item, "module", None)
    if module is None:
        return True
    if module not in _module_cache:
        _module_cache[module] = any(map(_names_a_database, _test_modules_used_by(module)))
    if _module_cache[module]:
        return True
    info = getattr(item, "_fixtureinfo", None)
    definitions = info.name2fixturedefs.values() if info is not None else ()
    return any(_names_a_database(d.func) for defs in definitions for d in defs)


@pytest.fixture(autouse=True)
def _db_independent_guard(request: pytest.FixtureRequest) -> Iterator[None]:
    """While a db_independent test runs, no database may be made (see above)."""
    global _running_db_independent
    if request.node.get_closest_marker("db_independent") is None:
        yield
        return
    _running_db_independent = request.node.nodeid
    try:
        yield
    finally:
        _running_db_independent = None


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        for group, folder in SERIAL_GROUPS.items():
            if folder in item.path.parents:
                item.add_marker(pytest.mark.xdist_group(group))
        if not reaches_a_database(item):
            item.add_marker(pytest.mark.db_independent)


@pytest.fixture(scope="session")
def app_cache() -> AppCache:
    """The apps of this process (of this worker, under pytest-xdist), made once per
    configuration and pointed at each test's runtime (tests/support/apps.py; imported here,
    so that tests without an app never import Flask)."""
    from tests.support.apps import AppCache

    return AppCache()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return Settings(
        database_url=database_url,
        secret_key="test-secret-" + secrets.token_hex(8),
        signing_key_passphrase="test-passphrase",
        data_dir=tmp_path,
        policy=Policy(),
        signing_key_kdf_rounds=1_000,  # ~140 throwaway keys; test_signing checks the real count
    )


@dataclass
class Contexts:
    """Builds service contexts that share one session, settings and clock."""

    session: Session
    settings: Settings
    clock: FakeClock

    def analyst(self, name: str = "alice") -> ServiceContext:
        return ServiceContext(self.session, self.settings, Actor.analyst(name), self.clock)

    def customer(self, customer_id: int) -> ServiceContext:
        return ServiceContext(self.session, self.settings, Actor.customer(customer_id), self.clock)

    def with_policy(self, **changes: object) -> Contexts:
        return Contexts(self.session, self.settings.with_policy(**changes), self.clock)


@pytest.fixture
def contexts(session: Session, settings: Settings, clock: FakeClock) -> Contexts:
    return Contexts(session, settings, clock)


@pytest.fixture
def analyst(contexts: Contexts) -> ServiceContext:
    """An analyst's context with a signing key in place."""
    from licensesvc.issuance.signing import generate_signing_key

    ctx = contexts.analyst()
    generate_signing_key(ctx)
    return ctx


@dataclass
class World:
    """A Base and a Premium customer, each with an active contract, paid maintenance and a
    license, as most stories start."""

    base_customer: int
    base_contract: int
    base_license: int
    premium_customer: int
    premium_contract: int
    premium_license: int


@pytest.fixture
def world(analyst: ServiceContext, clock: FakeClock) -> World:
    from licensesvc.accounts import customers

    today = clock.today
    ids: list[int] = []
    for name, plan, region in (("Acme", "base", "na"), ("Globex", "premium", "emea")):
        c = customers.create_customer(analyst, name, region)
        k = customers.create_contract(
            analyst,
            c.id,
            plan,
            today - timedelta(days=30),
            today + timedelta(days=335),
            today + timedelta(days=335),
        )
        lic = customers.create_license(
            analyst,
            c.id,
            "JAMS Scheduler",
            10,
            1000,
            f"sched.{name.lower()}.example",
            failover_host=f"dr.{name.lower()}.example",
        )
        ids += [c.id, k.id, lic.id]
    return World(*ids)


MakeCtx = Callable[[int], ServiceContext]


# --- the log scan: no secret in any log record of the whole suite ---------------------------

#: what must never appear in a log line: a whole API token (its type prefix and four characters
#: are fine: that is what the logs say about a presented token), a private key, a full license
#: key (the `LK1.` prefix and a short excerpt are fine), the test suite's signing passphrase, a
#: password-reset link's token (issue 24: the access log carried it)
SECRET_PATTERNS = {
    "password-reset token": re.compile(r"/reset-password/[A-Za-z0-9_-]{20,}"),
    "API token": re.compile(r"lsc_(?:cust|anl)_[A-Za-z0-9_-]{12,}"),
    "private key": re.compile(r"PRIVATE KEY"),
    "license key": re.compile(r"LK1\.[A-Za-z0-9_-]{40,}"),
    "signing passphrase": re.compile(re.escape("test-passphrase")),
}


class _Recorder(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.records: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = self.format(record)
        except Exception:  # a record that cannot be formatted still gets scanned raw
            line = f"{record.msg!r} {record.args!r}"
        for name, pattern in SECRET_PATTERNS.items():
            if pattern.search(line):
                self.records.append(
                    f"{name} in a {record.levelname} record of {record.name}: {line[:200]!r}"
                )


@pytest.fixture(scope="session", autouse=True)
def log_scan() -> Iterator[None]:
    """Capture every log record of the session (ours from DEBUG up, everything else as its
    loggers are configured) and fail the run if any carries a secret (SECRET_PATTERNS)."""
    recorder = _Recorder()
    recorder.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
    root = logging.getLogger()
    ours = logging.getLogger("licensesvc")
    previous = ours.level
    root.addHandler(recorder)
    ours.setLevel(logging.DEBUG)
    try:
        yield
    finally:
        root.removeHandler(recorder)
        ours.setLevel(previous)
    assert not recorder.records, "secrets in log records:\n" + "\n".join(recorder.records[:20])
