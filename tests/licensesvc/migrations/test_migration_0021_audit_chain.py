"""Migration 0021 (version-2 audit hashes, chained by a database function on PostgreSQL) on a
database made by the migration before it, with a chain of audit records in it: the old records
keep their hashes and verify, records appended after the upgrade chain onto them (version 2)
and the whole trail verifies; the way back rehashes the version-2 records under version 1, so
the trail still verifies without the column, and drops the function."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, inspect, select, text
from sqlalchemy.orm import Session

from licensesvc.config import Settings
from licensesvc.migrate import current_revision, downgrade, upgrade
from licensesvc.models import AuditRecord
from licensesvc.platform import audit
from licensesvc.platform.context import Actor, ServiceContext
from tests.licensesvc.migrations.migration_helpers import database_at, previous_revision

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
#: whatever 0021 follows (the lead re-chains migrations at merge time)
PREVIOUS = previous_revision("0021")
SETTINGS = Settings(
    database_url="sqlite://",
    secret_key="m" * 32,
    signing_key_passphrase="p" * 32,
    data_dir=Path("/nonexistent"),
)
OLD_RECORDS = 3


def _v1_rows(count: int) -> list[dict[str, object]]:
    rows = []
    prev = audit.GENESIS
    for n in range(1, count + 1):
        fields = {
            "at": T0 + timedelta(minutes=n),
            "actor": "analyst:ann",
            "action": "customer.updated",
            "entity_type": "customer",
            "entity_id": "1",
            "customer_id": 1,
            "reason": None if n % 2 else "a reason",
            "details": {"n": n, "name": "Ächme"},
        }
        digest = audit.record_hash(id=n, prev_hash=prev, **fields)  # type: ignore[arg-type]
        rows.append(fields | {"id": n, "prev_hash": prev, "hash": digest})
        prev = digest
    return rows


@pytest.fixture
def old_database(tmp_path: Path) -> Iterator[Engine]:
    with database_at(tmp_path, PREVIOUS, "m0021") as engine:
        with engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO customers (id, name, region, holidays, created_at)"
                    " VALUES (1, 'Acme', 'na', 'US', :t)"
                ),
                {"t": T0},
            )
            for row in _v1_rows(OLD_RECORDS):
                conn.execute(
                    text(
                        "INSERT INTO audit_records (id, at, actor, action, entity_type,"
                        " entity_id, customer_id, reason, details, prev_hash, hash) VALUES"
                        " (:id, :at, :actor, :action, :entity_type, :entity_id, :customer_id,"
                        " :reason, :details, :prev_hash, :hash)"
                    ),
                    row | {"details": '{"n": ' + str(row["id"]) + ', "name": "Ächme"}'},
                )
        yield engine


def _append_two(engine: Engine) -> None:
    with Session(engine) as session:
        ctx = ServiceContext(
            session, SETTINGS, Actor.analyst("alice"), clock=lambda: T0 + timedelta(hours=1)
        )
        audit.append(ctx, "customer.updated", "customer", 1, customer_id=1, details={"x": "ü"})
        audit.append(ctx, "contract.created", "contract", 7, customer_id=None, reason="why")
        session.commit()


def test_0021_keeps_the_old_chain_and_chains_new_records_onto_it(old_database: Engine) -> None:
    upgrade(old_database, "0021")
    assert current_revision(old_database) == "0021"
    upgrade(old_database)  # the models describe the newest schema
    with Session(old_database) as session:
        before = audit.verify_chain(session)
        assert (before.ok, before.records) == (True, OLD_RECORDS)
    _append_two(old_database)
    with Session(old_database) as session:
        report = audit.verify_chain(session, expect_head=before.head)
        assert (report.ok, report.records) == (True, OLD_RECORDS + 2), report
        records = session.scalars(select(AuditRecord).order_by(AuditRecord.id)).all()
        assert [r.hash_version for r in records] == [1, 1, 1, 2, 2]
        assert records[3].prev_hash == before.head
        assert records[4].details == {} and records[4].reason == "why"
        # an edit of a version-2 record is caught like one of a version-1 record
        session.execute(text("UPDATE audit_records SET actor = 'analyst:eve' WHERE id = 4"))
        session.expire_all()
        edited = audit.verify_chain(session)
        assert (edited.ok, edited.first_bad_id) == (False, 4)


def test_0021_downgrade_rehashes_the_new_records_so_the_trail_still_verifies(
    old_database: Engine,
) -> None:
    upgrade(old_database, "0021")
    _append_two(old_database)
    downgrade(old_database, str(PREVIOUS))
    columns = {c["name"] for c in inspect(old_database).get_columns("audit_records")}
    assert "hash_version" not in columns
    with old_database.connect() as conn:
        rows = conn.execute(text("SELECT * FROM audit_records ORDER BY id")).mappings().all()
        if old_database.dialect.name == "postgresql":
            assert (
                conn.scalar(
                    text("SELECT count(*) FROM pg_proc WHERE proname = 'licensesvc_audit_append'")
                )
                == 0
            )
    assert len(rows) == OLD_RECORDS + 2
    prev = audit.GENESIS
    for row in rows:
        at = row["at"] if isinstance(row["at"], datetime) else datetime.fromisoformat(row["at"])
        at = at if at.tzinfo else at.replace(tzinfo=UTC)
        details = row["details"]
        if isinstance(details, str):
            details = json.loads(details)
        fields = {k: row[k] for k in ("actor", "action", "entity_type", "entity_id")}
        digest = audit.record_hash(
            id=row["id"],
            prev_hash=prev,
            at=at,
            customer_id=row["customer_id"],
            reason=row["reason"],
            details=details,
            **fields,
        )
        assert (row["prev_hash"], row["hash"]) == (prev, digest), row["id"]
        prev = digest
