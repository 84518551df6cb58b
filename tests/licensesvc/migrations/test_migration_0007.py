"""Migration 0007 on a database made by the migration before it (PREVIOUS) with data in it
(SQLite, and PostgreSQL when LICENSESVC_TEST_DATABASE_URL names one): every key survives,
revoked keys get the code the server used to publish for them (key_compromise) and keep their
reason, other keys get none; the stored-list row exists; a code outside the vocabulary is
refused by the database; and the downgrade removes both again."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import Engine, inspect, text
from sqlalchemy.exc import IntegrityError

from licensesvc.db import make_engine
from licensesvc.migrate import alembic_config, current_revision, upgrade
from tests.conftest import fresh_database_url

#: the migration 0007 follows (the lead re-chains it at merge time)
PREVIOUS = "0006"
T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


@pytest.fixture
def engine_at_0001(tmp_path: Path) -> Iterator[Engine]:
    for url in fresh_database_url(tmp_path, "mig7"):
        engine = make_engine(url)
        try:
            upgrade(engine, PREVIOUS)
            _fill(engine)
            yield engine
        finally:
            engine.dispose()


def _fill(engine: Engine) -> None:
    with engine.begin() as c:
        c.execute(
            text(
                "INSERT INTO customers (id, name, region, created_at) VALUES (1, 'Acme', 'na', :t)"
            ),
            {"t": T0},
        )
        c.execute(
            text(
                "INSERT INTO licenses (id, customer_id, product, agents, jobs, host, "
                "failover_host, expires_on, created_at) VALUES (1, 1, 'JAMS', 10, 100, "
                "'h.example', NULL, NULL, :t)"
            ),
            {"t": T0},
        )
        for i, (status, reason) in enumerate(
            [
                ("active", None),
                ("revoked", "Acme: chargeback on invoice 4471\nsuspected fraud"),
                ("superseded", None),
                ("revoked", "x" * 10_000),
            ],
            1,
        ):
            c.execute(
                text(
                    "INSERT INTO keys (id, serial, license_id, customer_id, kind, status, "
                    "key_text, claims, signing_kid, issued_at, not_before, revoked_at, "
                    "revoked_reason) VALUES (:i, :s, 1, 1, 'dr_test', :st, 'LK1.x', '{}', "
                    "'kid', :t, :t, :r, :why)"
                ),
                {
                    "i": i,
                    "s": f"SN-{i}",
                    "st": status,
                    "t": T0,
                    "r": T0 if status == "revoked" else None,
                    "why": reason,
                },
            )


def test_revoked_keys_get_a_code_and_keep_their_reason(engine_at_0001: Engine) -> None:
    upgrade(engine_at_0001, "0007")
    assert current_revision(engine_at_0001) == "0007"
    with engine_at_0001.connect() as c:
        rows = c.execute(
            text("SELECT serial, status, revocation_code, revoked_reason FROM keys ORDER BY id")
        ).all()
        stored = c.execute(text("SELECT id, generation, signed_text FROM revocation_lists")).all()
    assert [(r.serial, r.status, r.revocation_code) for r in rows] == [
        ("SN-1", "active", None),
        ("SN-2", "revoked", "key_compromise"),
        ("SN-3", "superseded", None),
        ("SN-4", "revoked", "key_compromise"),
    ]
    assert (
        rows[1].revoked_reason.endswith("suspected fraud") and len(rows[3].revoked_reason) == 10_000
    )
    assert stored == [(1, 0, None)]


def test_the_database_refuses_a_code_outside_the_vocabulary(engine_at_0001: Engine) -> None:
    upgrade(engine_at_0001, "0007")
    with pytest.raises(IntegrityError), engine_at_0001.begin() as c:
        c.execute(text("UPDATE keys SET revocation_code = 'fraud' WHERE id = 2"))


def test_downgrade_removes_the_code_and_the_stored_list(engine_at_0001: Engine) -> None:
    upgrade(engine_at_0001, "0007")
    cfg = alembic_config(engine_at_0001)
    with engine_at_0001.begin() as connection:
        cfg.attributes["connection"] = connection
        command.downgrade(cfg, PREVIOUS)
    inspector = inspect(engine_at_0001)
    assert "revocation_lists" not in inspector.get_table_names()
    assert "revocation_code" not in {col["name"] for col in inspector.get_columns("keys")}
    with engine_at_0001.connect() as c:
        assert c.execute(text("SELECT count(*) FROM keys")).scalar() == 4
