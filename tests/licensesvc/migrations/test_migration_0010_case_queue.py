"""Migration 0010 (case queue) on a database made by the migration before it, with a customer,
a license and an escalated case in it: the case keeps everything and has no owner, notes can be
added, and the way back drops only what 0010 added."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import Engine, inspect, select, text
from sqlalchemy.orm import Session

from licensesvc.migrate import alembic_config, current_revision, upgrade
from licensesvc.models import CaseNote, KeyRequest
from tests.licensesvc.migrations.migration_helpers import database_at, previous_revision

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
#: whatever 0010 follows (the lead re-chains migrations at merge time)
PREVIOUS = previous_revision("0010")


@pytest.fixture
def old_database(tmp_path: Path) -> Iterator[Engine]:
    with database_at(tmp_path, PREVIOUS, "m0010") as engine:
        with engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO customers (id, name, region, holidays, created_at)"
                    " VALUES (1, 'Acme', 'na', 'US', :t)"
                ),
                {"t": T0},
            )
            conn.execute(
                text(
                    "INSERT INTO licenses (id, customer_id, product, agents, jobs, host, "
                    "failover_host, expires_on, created_at) VALUES (1, 1, 'JAMS', 10, 100, "
                    "'h.example', NULL, NULL, :t)"
                ),
                {"t": T0},
            )
            conn.execute(
                text(
                    "INSERT INTO key_requests (id, case_number, customer_id, license_id, kind,"
                    " severity, requested_by, status, refusal_code, created_at, escalated_at,"
                    " respond_by) VALUES (1, 'CS-1', 1, 1, 'temporary', 2, 'customer:1',"
                    " 'escalated', 'plan_not_eligible', :t, :t, :t)"
                ),
                {"t": T0},
            )
        yield engine


def test_0010_keeps_the_cases_without_an_owner_and_takes_notes(old_database: Engine) -> None:
    upgrade(old_database, "0010")
    assert current_revision(old_database) == "0010"
    with Session(old_database) as session:
        case = session.scalars(select(KeyRequest)).one()
        assert (case.case_number, case.status, case.severity) == ("CS-1", "escalated", 2)
        assert case.respond_by == T0 and case.refusal_code == "plan_not_eligible"
        assert case.owner is None and case.notes == []
        case.owner = "bob"
        case.notes.append(CaseNote(at=T0, author="analyst:bob", text="called them"))
        session.commit()
    with Session(old_database) as session:
        case = session.scalars(select(KeyRequest)).one()
        assert case.owner == "bob" and [n.text for n in case.notes] == ["called them"]
    indexes = {ix["name"] for ix in inspect(old_database).get_indexes("key_requests")}
    assert "ix_key_requests_status_respond_by" in indexes


def test_0010_downgrade_drops_only_what_it_added(old_database: Engine) -> None:
    upgrade(old_database, "0010")
    cfg = alembic_config(old_database)
    with old_database.begin() as connection:
        cfg.attributes["connection"] = connection
        command.downgrade(cfg, str(PREVIOUS))
    assert "case_notes" not in inspect(old_database).get_table_names()
    columns = {c["name"] for c in inspect(old_database).get_columns("key_requests")}
    assert "owner" not in columns
    with old_database.connect() as conn:
        assert conn.execute(text("SELECT case_number FROM key_requests")).scalars().all() == [
            "CS-1"
        ]
