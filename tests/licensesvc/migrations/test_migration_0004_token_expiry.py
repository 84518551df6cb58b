"""Migration 0004 (token expiry and last use) on a database made by the migration before it,
with tokens in it: nothing is lost, old tokens keep working, and the way back keeps them."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from licensesvc.config import Settings
from licensesvc.db import make_engine
from licensesvc.domain.errors import Unauthorized
from licensesvc.identity import tokens
from licensesvc.migrate import MIGRATIONS, alembic_config, current_revision, upgrade
from licensesvc.models import ApiToken
from tests.conftest import fresh_database_url

CREATED = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
REVOKED = datetime(2026, 2, 1, 9, 0, tzinfo=UTC)
#: whatever 0004 follows (the lead re-chains migrations at merge time)
PREVIOUS = ScriptDirectory(str(MIGRATIONS)).get_revision("0004").down_revision


@pytest.fixture
def old_database(tmp_path: Path) -> Iterator[Engine]:
    for url in fresh_database_url(tmp_path, "m0004"):
        engine = make_engine(url)
        upgrade(engine, str(PREVIOUS))
        yield engine
        engine.dispose()


def settings(tmp_path: Path, engine: Engine) -> Settings:
    return Settings(
        database_url=str(engine.url),
        secret_key="the-secret-of-the-old-release",
        signing_key_passphrase="p",
        data_dir=tmp_path,
    )


def test_0004_keeps_every_token_and_old_tokens_keep_working(
    old_database: Engine, tmp_path: Path
) -> None:
    config = settings(tmp_path, old_database)
    live, revoked = "lsc_cust_live-token-of-the-old-release", "lsc_anl_revoked-one"
    with old_database.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO customers (id, name, region, holidays, created_at)"
                " VALUES (1, 'Acme', 'na', 'US', :t)"
            ),
            {"t": CREATED},
        )
        for id_, token, customer, analyst, revoked_at in (
            (1, live, 1, None, None),
            (2, revoked, None, "carol", REVOKED),
        ):
            conn.execute(
                text(
                    "INSERT INTO api_tokens (id, token_hash, prefix, customer_id, analyst_name,"
                    " created_at, revoked_at) VALUES (:id, :hash, :prefix, :customer, :analyst,"
                    " :created, :revoked)"
                ),
                {
                    "id": id_,
                    # how the release before 0004 stored tokens: HMAC under the raw secret
                    "hash": tokens.legacy_token_hash(config, token),
                    "prefix": token[:13],
                    "customer": customer,
                    "analyst": analyst,
                    "created": CREATED,
                    "revoked": revoked_at,
                },
            )

    upgrade(old_database, "0004")
    assert current_revision(old_database) == "0004"
    with old_database.connect() as conn:
        assert conn.execute(text("SELECT expires_at, last_used_at FROM api_tokens")).all() == [
            (None, None),
            (None, None),
        ]
    upgrade(old_database)  # the models and services describe the newest schema

    with Session(old_database) as session:
        rows = session.query(ApiToken).order_by(ApiToken.id).all()
        assert [
            (r.id, r.prefix, r.customer_id, r.analyst_name, r.created_at, r.revoked_at)
            for r in rows
        ] == [
            (1, live[:13], 1, None, CREATED, None),
            (2, revoked[:13], None, "carol", CREATED, REVOKED),
        ]
        assert [(r.expires_at, r.last_used_at) for r in rows] == [(None, None), (None, None)]

        now = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
        actor = tokens.authenticate(session, config, live, now=now)
        session.commit()
        assert actor.customer_id == 1
        with pytest.raises(Unauthorized):
            tokens.authenticate(session, config, revoked, now=now)
        upgraded = session.get(ApiToken, 1)
        assert upgraded is not None
        assert upgraded.token_hash == tokens.token_hash(config, live)
        assert upgraded.last_used_at == now


def test_0004_downgrade_keeps_the_tokens(old_database: Engine, tmp_path: Path) -> None:
    upgrade(old_database, "0004")
    with old_database.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO customers (id, name, region, holidays, created_at)"
                " VALUES (1, 'Acme', 'na', 'US', :t)"
            ),
            {"t": CREATED},
        )
        conn.execute(
            text(
                "INSERT INTO api_tokens (id, token_hash, prefix, customer_id, created_at,"
                " expires_at, last_used_at) VALUES (1, :h, 'lsc_cust_abcd', 1, :t, :t, :t)"
            ),
            {"h": "0" * 64, "t": CREATED},
        )
    cfg = alembic_config(old_database)
    with old_database.begin() as connection:
        cfg.attributes["connection"] = connection
        command.downgrade(cfg, str(PREVIOUS))
    with old_database.connect() as conn:
        assert conn.execute(text("SELECT id, prefix FROM api_tokens")).all() == [
            (1, "lsc_cust_abcd")
        ]
