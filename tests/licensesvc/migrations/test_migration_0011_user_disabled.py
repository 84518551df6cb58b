"""Migration 0011 (users: disabled state, last sign-in) on a database made by the migration
before it, with a customer, a user and a portal session in it: the user keeps everything, is
enabled and has no recorded sign-in, can be disabled, and the way back drops only the two
columns."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, inspect, select, text
from sqlalchemy.orm import Session

from licensesvc.migrate import current_revision, downgrade, upgrade
from licensesvc.models import PortalSession, User
from tests.licensesvc.migrations.migration_helpers import database_at, previous_revision

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
#: whatever 0011 follows (the lead re-chains migrations at merge time)
PREVIOUS = previous_revision("0011")


@pytest.fixture
def old_database(tmp_path: Path) -> Iterator[Engine]:
    with database_at(tmp_path, PREVIOUS, "m0011") as engine:
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
                    "INSERT INTO users (id, customer_id, email, password_hash, created_at)"
                    " VALUES (1, 1, 'admin@acme.example', 'argon2-hash', :t)"
                ),
                {"t": T0},
            )
            conn.execute(
                text(
                    "INSERT INTO portal_sessions (id, id_hash, user_id, created_at, last_seen_at)"
                    " VALUES (1, :h, 1, :t, :t)"
                ),
                {"t": T0, "h": "a" * 64},
            )
        yield engine


def test_0011_keeps_the_users_enabled_without_a_sign_in(old_database: Engine) -> None:
    upgrade(old_database, "0011")
    assert current_revision(old_database) == "0011"
    with Session(old_database) as session:
        user = session.scalars(select(User)).one()
        assert (user.email, user.password_hash, user.created_at) == (
            "admin@acme.example",
            "argon2-hash",
            T0,
        )
        assert user.disabled_at is None and user.last_signed_in_at is None
        assert session.scalars(select(PortalSession.user_id)).all() == [1]
        user.disabled_at = T0
        user.last_signed_in_at = T0
        session.commit()
    with Session(old_database) as session:
        user = session.scalars(select(User)).one()
        assert (user.disabled_at, user.last_signed_in_at) == (T0, T0)


def test_0011_downgrade_drops_only_what_it_added(old_database: Engine) -> None:
    upgrade(old_database, "0011")
    # migrate.downgrade: on SQLite the batch copy of `users` runs with foreign keys off (the
    # portal session refers to the user)
    downgrade(old_database, str(PREVIOUS))
    columns = {c["name"] for c in inspect(old_database).get_columns("users")}
    assert columns == {"id", "customer_id", "email", "password_hash", "created_at"}
    with old_database.connect() as conn:
        assert conn.execute(text("SELECT email FROM users")).scalars().all() == [
            "admin@acme.example"
        ]
        assert conn.execute(text("SELECT user_id FROM portal_sessions")).scalars().all() == [1]
