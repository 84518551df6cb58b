"""Migration 0009 (indexes of the paginated lists) on a database made by the migration before
it, with customers and audit records in it: nothing is lost, the lists' indexes exist and a
page reads through them, and the way back drops only those indexes."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import Engine, inspect, text
from sqlalchemy.orm import Session

from licensesvc.migrate import alembic_config, current_revision, upgrade
from licensesvc.platform import audit
from tests.licensesvc.migrations.migration_helpers import database_at, previous_revision

CREATED = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
#: whatever 0009 follows (the lead re-chains migrations at merge time)
PREVIOUS = previous_revision("0009")
NEW_INDEXES = {
    "keys": {"ix_keys_customer_id_id": ["customer_id", "id"]},
    "key_requests": {
        "ix_key_requests_customer_id_id": ["customer_id", "id"],
        "ix_key_requests_status_id": ["status", "id"],
    },
    "audit_records": {
        "ix_audit_records_customer_id_id": ["customer_id", "id"],
        "ix_audit_records_entity_id": ["entity_type", "entity_id", "id"],
    },
}
RECORDS = 30


@pytest.fixture
def old_database(tmp_path: Path) -> Iterator[Engine]:
    with database_at(tmp_path, PREVIOUS, "m0009") as engine:
        with engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO customers (id, name, region, holidays, created_at)"
                    " VALUES (1, 'Acme', 'na', 'US', :t), (2, 'Globex', 'na', 'US', :t)"
                ),
                {"t": CREATED},
            )
            conn.execute(
                text(
                    "INSERT INTO audit_records (id, at, actor, action, entity_type, entity_id,"
                    " customer_id, details, prev_hash, hash)"
                    " VALUES (:id, :t, 'analyst:ann', 'customer.updated', 'customer', :c,"
                    " :c, '{}', :prev, :hash)"
                ),
                [
                    {
                        "id": n,
                        "t": CREATED,
                        "c": 1 + n % 2,
                        "prev": f"{n - 1:064d}",
                        "hash": f"{n:064d}",
                    }
                    for n in range(1, RECORDS + 1)
                ],
            )
        yield engine


def indexes(engine: Engine) -> dict[str, dict[str, list[str]]]:
    found = inspect(engine)
    return {
        table: {
            str(i["name"]): [str(c) for c in i["column_names"]] for i in found.get_indexes(table)
        }
        for table in NEW_INDEXES
    }


def test_0009_adds_the_list_indexes_and_keeps_the_data(old_database: Engine) -> None:
    before = indexes(old_database)
    upgrade(old_database, "0009")
    assert current_revision(old_database) == "0009"
    after = indexes(old_database)
    for table, added in NEW_INDEXES.items():
        assert after[table] == {**before[table], **added}
    upgrade(old_database)  # today's code reads today's schema (0021 adds a column to the trail)
    with Session(old_database) as session:
        page = audit.page_records(session, customer_id=2, page=1, page_size=10)
        assert page.total == RECORDS // 2
        assert [r.id for r in page.items] == list(range(RECORDS - 1, RECORDS - 21, -2))  # odd ids
        whole = audit.page_records(session, entity="customer:1", page=2, page_size=10)
        assert (whole.total, [r.id for r in whole.items]) == (15, [10, 8, 6, 4, 2])


def test_a_customers_page_reads_through_the_index_on_sqlite(old_database: Engine) -> None:
    if old_database.dialect.name != "sqlite":
        pytest.skip("PostgreSQL plans a sequential scan over a table this small")
    upgrade(old_database, "0009")
    with old_database.connect() as conn:
        plan = " ".join(
            str(row[-1])
            for row in conn.execute(
                text(
                    "EXPLAIN QUERY PLAN SELECT * FROM key_requests WHERE customer_id = 1"
                    " ORDER BY id DESC LIMIT 50"
                )
            )
        )
    assert "ix_key_requests_customer_id_id" in plan and "TEMP B-TREE" not in plan


def test_0009_downgrade_drops_only_its_indexes(old_database: Engine) -> None:
    before = indexes(old_database)
    upgrade(old_database, "0009")
    cfg = alembic_config(old_database)
    with old_database.begin() as connection:
        cfg.attributes["connection"] = connection
        command.downgrade(cfg, str(PREVIOUS))
    assert indexes(old_database) == before
    with old_database.connect() as conn:
        assert conn.scalar(text("SELECT count(*) FROM audit_records")) == RECORDS
