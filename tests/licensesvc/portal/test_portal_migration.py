"""Migration 0003 on a database made by the previous migration, with data in it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import Engine, inspect, text

from licensesvc.db import make_engine
from licensesvc.migrate import alembic_config, upgrade
from tests.conftest import fresh_database_url


@pytest.fixture
def old_engine(tmp_path: Path) -> Iterator[Engine]:
    for url in fresh_database_url(tmp_path, "mig3"):
        eng = make_engine(url)
        yield eng
        eng.dispose()


def test_0003_adds_portal_tables_and_keeps_users(old_engine: Engine) -> None:
    upgrade(old_engine, "0001")
    with old_engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO customers (id, name, region, created_at) "
                "VALUES (1, 'Acme', 'na', '2026-01-01 00:00:00+00:00')"
            )
        )
        conn.execute(
            text(
                "INSERT INTO users (id, customer_id, email, password_hash, created_at) "
                "VALUES (1, 1, 'a@acme.example', '$argon2id$x', '2026-01-01 00:00:00+00:00')"
            )
        )
    upgrade(old_engine, "0003")
    tables = set(inspect(old_engine).get_table_names())
    assert {"portal_sessions", "password_reset_tokens", "portal_form_tokens"} <= tables
    with old_engine.begin() as conn:
        assert conn.execute(text("SELECT email FROM users")).scalar_one() == "a@acme.example"
        conn.execute(
            text(
                "INSERT INTO portal_sessions (id_hash, user_id, created_at, last_seen_at) "
                "VALUES ('h', 1, '2026-01-01 00:00:00+00:00', '2026-01-01 00:00:00+00:00')"
            )
        )
    cfg = alembic_config(old_engine)
    with old_engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0001")
    assert "portal_sessions" not in set(inspect(old_engine).get_table_names())
    with old_engine.begin() as conn:
        assert conn.execute(text("SELECT count(*) FROM users")).scalar_one() == 1
