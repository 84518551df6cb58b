"""Migration 0008 (idempotency keys) on a database made by the migration before it, with
customers, cases and audit records in it: nothing is lost, keys can be stored, and the way back
drops only the new table."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import Engine, inspect, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from licensesvc.migrate import alembic_config, current_revision, upgrade
from licensesvc.models import IdempotencyKey
from tests.licensesvc.migrations.migration_helpers import database_at, previous_revision

CREATED = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
#: whatever 0008 follows (the lead re-chains migrations at merge time)
PREVIOUS = previous_revision("0008")


@pytest.fixture
def old_database(tmp_path: Path) -> Iterator[Engine]:
    with database_at(tmp_path, PREVIOUS, "m0008") as engine:
        with engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO customers (id, name, region, holidays, created_at)"
                    " VALUES (1, 'Acme', 'na', 'US', :t), (2, 'Globex', 'na', 'US', :t)"
                ),
                {"t": CREATED},
            )
        yield engine


def customers(engine: Engine) -> list[tuple[int, str]]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text("SELECT id, name FROM customers ORDER BY id"))]


def test_0008_keeps_the_data_and_stores_one_key_per_caller(old_database: Engine) -> None:
    upgrade(old_database, "0008")
    assert current_revision(old_database) == "0008"
    assert customers(old_database) == [(1, "Acme"), (2, "Globex")]
    row = {
        "caller": "customer:1",
        "key": "k1",
        "fingerprint": "a" * 64,
        "status": "done",
        "response_status": 201,
        "response_body": "{}",
        "response_headers": {"Location": "/v1/key-requests/CS-1"},
        "created_at": CREATED,
    }
    with Session(old_database) as session:
        session.add(IdempotencyKey(**row))
        session.add(IdempotencyKey(**{**row, "caller": "customer:2"}))  # another caller
        session.commit()
        stored = session.query(IdempotencyKey).filter_by(caller="customer:1").one()
        assert stored.response_headers == {"Location": "/v1/key-requests/CS-1"}
        assert stored.created_at == CREATED
        session.add(IdempotencyKey(**row))
        with pytest.raises(IntegrityError):
            session.commit()


def test_0008_downgrade_drops_only_its_table(old_database: Engine) -> None:
    upgrade(old_database, "0008")
    cfg = alembic_config(old_database)
    with old_database.begin() as connection:
        cfg.attributes["connection"] = connection
        command.downgrade(cfg, str(PREVIOUS))
    assert "idempotency_keys" not in inspect(old_database).get_table_names()
    assert customers(old_database) == [(1, "Acme"), (2, "Globex")]
