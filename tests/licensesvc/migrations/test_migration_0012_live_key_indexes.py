"""Migration 0012 (partial indexes of a license's live keys) on a database made by the
migration before it, with a license whose history holds superseded, revoked and active keys:
nothing is lost, the two indexes exist, the live keys read through them are exactly the active
ones and the superseded ones inside their overlap, and the way back drops only those indexes."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import Engine, inspect, text
from sqlalchemy.orm import Session

from licensesvc.config import Policy, Settings
from licensesvc.issuance.key_requests import live_keys
from licensesvc.migrate import alembic_config, current_revision, upgrade
from licensesvc.platform.context import Actor, ServiceContext
from tests.licensesvc.migrations.migration_helpers import database_at, previous_revision

NOW = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
#: whatever 0012 follows (the lead re-chains migrations at merge time)
PREVIOUS = previous_revision("0012")
NEW_INDEXES = {
    "ix_keys_active_license_id": ["license_id"],
    "ix_keys_superseded_license_id": ["license_id", "usable_until"],
}
#: superseded keys whose overlap has ended: the history a license piles up
HISTORY = 20
#: (serial, kind, status, usable_until, expires_at) besides the history
KEYS = [
    ("SN-ACTIVE", "replacement", "active", None, None),
    ("SN-OVERLAP", "standard", "superseded", NOW + timedelta(days=3), None),
    ("SN-TEMP", "temporary", "active", None, NOW + timedelta(days=2)),
    ("SN-TEMP-OLD", "temporary", "active", None, NOW - timedelta(days=1)),
    ("SN-REVOKED", "replacement", "revoked", None, None),
]


@pytest.fixture
def old_database(tmp_path: Path) -> Iterator[Engine]:
    with database_at(tmp_path, PREVIOUS, "m0012") as engine:
        with engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO customers (id, name, region, holidays, created_at)"
                    " VALUES (1, 'Acme', 'na', 'US', :t)"
                ),
                {"t": NOW},
            )
            conn.execute(
                text(
                    "INSERT INTO licenses (id, customer_id, product, agents, jobs, host,"
                    " created_at) VALUES (1, 1, 'JAMS Scheduler', 5, 50, 'h.example', :t)"
                ),
                {"t": NOW},
            )
            history = [
                (f"SN-OLD-{n}", "replacement", "superseded", NOW - timedelta(days=n), None)
                for n in range(1, HISTORY + 1)
            ]
            conn.execute(
                text(
                    "INSERT INTO keys (serial, license_id, customer_id, kind, status, key_text,"
                    " claims, signing_kid, issued_at, not_before, usable_until, expires_at)"
                    " VALUES (:serial, 1, 1, :kind, :status, :key_text, '{}', 'kid', :t, :t,"
                    " :until, :expires)"
                ),
                [
                    {
                        "serial": serial,
                        "key_text": f"text of {serial}",  # each key's text is its own
                        "kind": kind,
                        "status": status,
                        "until": until,
                        "expires": expires,
                        "t": NOW - timedelta(days=30),
                    }
                    for serial, kind, status, until, expires in history + KEYS
                ],
            )
        yield engine


def indexes(engine: Engine) -> dict[str, list[str]]:
    return {
        str(i["name"]): [str(c) for c in i["column_names"]]
        for i in inspect(engine).get_indexes("keys")
    }


def context(session: Session, tmp_path: Path) -> ServiceContext:
    settings = Settings(
        database_url="unused://",
        secret_key="test-secret",
        signing_key_passphrase="test-passphrase",
        data_dir=tmp_path,
        policy=Policy(),
    )
    return ServiceContext(session, settings, Actor.system(), clock=lambda: NOW)


def test_0012_adds_the_live_key_indexes_and_keeps_the_keys(
    old_database: Engine, tmp_path: Path
) -> None:
    before = indexes(old_database)
    upgrade(old_database, "0012")
    assert current_revision(old_database) == "0012"
    assert indexes(old_database) == {**before, **NEW_INDEXES}
    with Session(old_database) as session:
        assert session.scalar(text("SELECT count(*) FROM keys")) == HISTORY + len(KEYS)
    # the service reads keys with today's model: the later migrations first (they add columns)
    upgrade(old_database)
    assert set(NEW_INDEXES) <= set(indexes(old_database))
    with Session(old_database) as session:
        live = live_keys(context(session, tmp_path), [1])
    assert [k.serial for k in live[1]] == ["SN-ACTIVE", "SN-OVERLAP", "SN-TEMP"]


def test_live_keys_read_through_the_partial_indexes_on_sqlite(old_database: Engine) -> None:
    if old_database.dialect.name != "sqlite":
        pytest.skip("PostgreSQL plans a sequential scan over a table this small")
    upgrade(old_database, "0012")
    with old_database.connect() as conn:
        plans = [
            " ".join(str(row[-1]) for row in conn.execute(text("EXPLAIN QUERY PLAN " + sql)))
            for sql in (
                "SELECT id FROM keys WHERE license_id IN (1) AND status = 'active'",
                "SELECT id FROM keys WHERE license_id IN (1) AND status = 'superseded'"
                " AND usable_until > '2026-01-05'",
            )
        ]
    assert "ix_keys_active_license_id" in plans[0]
    assert "ix_keys_superseded_license_id" in plans[1]


def test_0012_downgrade_drops_only_its_indexes(old_database: Engine) -> None:
    before = indexes(old_database)
    upgrade(old_database, "0012")
    cfg = alembic_config(old_database)
    with old_database.begin() as connection:
        cfg.attributes["connection"] = connection
        command.downgrade(cfg, str(PREVIOUS))
    assert indexes(old_database) == before
    with old_database.connect() as conn:
        assert conn.scalar(text("SELECT count(*) FROM keys")) == HISTORY + len(KEYS)
