"""Many transactions appending to the audit trail at once (PostgreSQL: each chains its records
on in the database function of migration 0021, under the chain's advisory lock) make one chain:
no fork, no gap, every record verifying, whatever the interleaving; a rolled-back transaction
leaves nothing."""

from __future__ import annotations

import functools
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from licensesvc.config import Settings
from licensesvc.db import make_engine
from licensesvc.migrate import upgrade
from licensesvc.models import AuditRecord
from licensesvc.platform import audit
from licensesvc.platform.context import Actor, ServiceContext
from licensesvc.platform.transactions import unit_of_work
from tests.conftest import fresh_database_url

SETTINGS = Settings(
    database_url="sqlite://",
    secret_key="m" * 32,
    signing_key_passphrase="p" * 32,
    data_dir=Path("/nonexistent"),
)
WRITERS = 6
TRANSACTIONS = 8


@pytest.fixture
def shared_engine(tmp_path: Path) -> Iterator[Engine]:
    for url in fresh_database_url(tmp_path, "chain"):
        if not url.startswith("postgresql"):
            pytest.skip("SQLite runs one writer at a time: no interleaving to test")
        engine = make_engine(url)
        upgrade(engine)
        yield engine
        engine.dispose()


def records_of(n: int, t: int) -> int:
    """How many records writer n appends in its transaction t: 1 to 3."""
    return 1 + (n + t) % 3


def rolled_back(n: int, t: int) -> bool:
    return t == TRANSACTIONS - 1 and n % 2 == 1


def write(engine: Engine, n: int, start: threading.Barrier, failures: list[BaseException]) -> None:
    try:
        start.wait()
        for t in range(TRANSACTIONS):
            with Session(engine, expire_on_commit=False) as session:
                ctx = ServiceContext(session, SETTINGS, Actor.analyst(f"w{n}"))
                try:
                    unit_of_work(session, functools.partial(append, ctx, n, t))
                except RuntimeError:
                    assert rolled_back(n, t)
    except BaseException as exc:  # pragma: no cover - reported by the test
        failures.append(exc)


def append(ctx: ServiceContext, n: int, t: int) -> None:
    for _ in range(records_of(n, t)):
        audit.append(ctx, "test.appended", "writer", n, details={"t": t})
    if rolled_back(n, t):
        raise RuntimeError("rolled back")


def test_concurrent_appends_make_one_chain_that_verifies(shared_engine: Engine) -> None:
    start = threading.Barrier(WRITERS)
    failures: list[BaseException] = []
    threads = [
        threading.Thread(target=write, args=(shared_engine, n, start, failures))
        for n in range(WRITERS)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    expected = sum(
        records_of(n, t)
        for n in range(WRITERS)
        for t in range(TRANSACTIONS)
        if not rolled_back(n, t)
    )
    with Session(shared_engine) as session:
        report = audit.verify_chain(session)
        assert report.ok, report
        assert report.records == expected
        distinct = session.scalar(select(func.count(func.distinct(AuditRecord.prev_hash))))
        assert distinct == expected
