"""Migration 0020 (api tokens: a name for each one) on a database made by the migration before
it, with a customer and two of its tokens: both are kept and keep working, nameless; a token
made after the upgrade carries its name; the way back drops only the column 0020 added."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, inspect, select, text
from sqlalchemy.orm import Session

from licensesvc.config import Settings
from licensesvc.identity import tokens
from licensesvc.migrate import current_revision, downgrade, upgrade
from licensesvc.models import ApiToken
from licensesvc.platform.context import Actor, ServiceContext
from tests.licensesvc.migrations.migration_helpers import database_at, previous_revision

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
#: whatever 0020 follows (the lead re-chains migrations at merge time)
PREVIOUS = previous_revision("0020")
SETTINGS = Settings(
    database_url="sqlite://",
    secret_key="m" * 32,
    signing_key_passphrase="p" * 32,
    data_dir=Path("/nonexistent"),
)
TOKENS = ["lsc_cust_" + "a" * 32, "lsc_cust_" + "b" * 32]


@pytest.fixture
def old_database(tmp_path: Path) -> Iterator[Engine]:
    with database_at(tmp_path, PREVIOUS, "m0020") as engine:
        with engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO customers (id, name, region, holidays, created_at)"
                    " VALUES (1, 'Acme', 'na', 'US', :t)"
                ),
                {"t": T0},
            )
            for token in TOKENS:  # ids from the database (PostgreSQL's sequence moves on)
                conn.execute(
                    text(
                        "INSERT INTO api_tokens (token_hash, prefix, customer_id, created_at)"
                        " VALUES (:h, :p, 1, :t)"
                    ),
                    {"h": tokens.token_hash(SETTINGS, token), "p": token[:13], "t": T0},
                )
        yield engine


def test_0020_keeps_every_token_working_and_names_new_ones(old_database: Engine) -> None:
    upgrade(old_database, "0020")
    assert current_revision(old_database) == "0020"
    upgrade(old_database)  # the models describe the newest schema
    with Session(old_database) as session:
        rows = session.scalars(select(ApiToken).order_by(ApiToken.id)).all()
        assert [(t.prefix, t.name, t.revoked_at) for t in rows] == [
            (TOKENS[0][:13], None, None),
            (TOKENS[1][:13], None, None),
        ]
        for token in TOKENS:
            tokens.authenticate(session, SETTINGS, token, now=T0)
        analyst = ServiceContext(session, SETTINGS, Actor.analyst("alice"), clock=lambda: T0)
        made, _ = tokens.create_token(analyst, customer_id=1, name="nightly deploy")
        session.commit()
        assert session.get(ApiToken, made.id).name == "nightly deploy"


def test_0020_downgrade_drops_only_what_it_added(old_database: Engine) -> None:
    upgrade(old_database, "0020")
    downgrade(old_database, str(PREVIOUS))
    columns = {c["name"] for c in inspect(old_database).get_columns("api_tokens")}
    assert "name" not in columns
    assert {"id", "token_hash", "prefix", "customer_id", "created_by_user_id"} <= columns
    with old_database.connect() as conn:
        kept = conn.execute(text("SELECT prefix FROM api_tokens ORDER BY id")).scalars().all()
        assert kept == [t[:13] for t in TOKENS]
