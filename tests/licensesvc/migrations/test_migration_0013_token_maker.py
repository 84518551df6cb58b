"""Migration 0013 (api tokens: who made each one) on a database made by the migration before
it, with a customer, two portal users, an analyst's token and tokens two portal users made
(their `token.created` audit records name them): each token keeps working, learns its maker
from the audit trail, a token of the user disabled after the upgrade is revoked with them, and
the way back drops only what 0013 added."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, inspect, select, text
from sqlalchemy.orm import Session

from licensesvc.config import Settings
from licensesvc.domain.errors import Unauthorized
from licensesvc.identity import tokens, users
from licensesvc.migrate import current_revision, downgrade, upgrade
from licensesvc.models import ApiToken
from licensesvc.platform.context import Actor, ServiceContext
from tests.licensesvc.migrations.migration_helpers import database_at, previous_revision

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
#: whatever 0013 follows (the lead re-chains migrations at merge time)
PREVIOUS = previous_revision("0013")
SETTINGS = Settings(
    database_url="sqlite://",
    secret_key="m" * 32,
    signing_key_passphrase="p" * 32,
    data_dir=Path("/nonexistent"),
)
#: (id, token, owner customer or analyst, the actor of its token.created record)
TOKENS = [
    (1, "lsc_cust_" + "a" * 32, 1, "user:admin@acme.example"),
    (2, "lsc_cust_" + "b" * 32, 1, "user:ops@acme.example"),
    (3, "lsc_anl_" + "c" * 32, None, "analyst:carol"),
    (4, "lsc_cust_" + "d" * 32, 1, None),  # older than the audit trail
]


@pytest.fixture
def old_database(tmp_path: Path) -> Iterator[Engine]:
    with database_at(tmp_path, PREVIOUS, "m0013") as engine:
        with engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO customers (id, name, region, holidays, created_at)"
                    " VALUES (1, 'Acme', 'na', 'US', :t)"
                ),
                {"t": T0},
            )
            for uid, email in ((1, "admin@acme.example"), (2, "ops@acme.example")):
                conn.execute(
                    text(
                        "INSERT INTO users (id, customer_id, email, password_hash, created_at)"
                        " VALUES (:id, 1, :e, 'argon2-hash', :t)"
                    ),
                    {"id": uid, "e": email, "t": T0},
                )
            for n, (tid, token, customer, maker) in enumerate(TOKENS):
                conn.execute(
                    text(
                        "INSERT INTO api_tokens (id, token_hash, prefix, customer_id,"
                        " analyst_name, created_at) VALUES (:id, :h, :p, :c, :a, :t)"
                    ),
                    {
                        "id": tid,
                        "h": tokens.token_hash(SETTINGS, token),
                        "p": token[:13],
                        "c": customer,
                        "a": None if customer else "carol",
                        "t": T0,
                    },
                )
                if maker is not None:
                    conn.execute(
                        text(
                            "INSERT INTO audit_records (id, at, actor, action, entity_type,"
                            " entity_id, customer_id, details, prev_hash, hash)"
                            " VALUES (:id, :t, :actor, 'token.created', 'token', :eid, :c,"
                            " '{}', :prev, :hash)"
                        ),
                        {
                            "id": n + 1,
                            "t": T0,
                            "actor": maker,
                            "eid": str(tid),
                            "c": customer,
                            "prev": f"{n:064x}",
                            "hash": f"{n + 1:064x}",
                        },
                    )
        yield engine


def test_0013_names_each_tokens_maker_and_disabling_revokes_theirs(old_database: Engine) -> None:
    upgrade(old_database, "0013")
    assert current_revision(old_database) == "0013"
    upgrade(old_database)  # the models describe the newest schema
    with Session(old_database) as session:
        rows = session.scalars(select(ApiToken).order_by(ApiToken.id)).all()
        assert [(t.id, t.created_by, t.created_by_user_id, t.revoked_at) for t in rows] == [
            (1, "user:admin@acme.example", 1, None),
            (2, "user:ops@acme.example", 2, None),
            (3, "analyst:carol", None, None),
            (4, None, None, None),
        ]
        for _, token, _, _ in TOKENS:  # every token still works
            tokens.authenticate(session, SETTINGS, token, now=T0)
        analyst = ServiceContext(session, SETTINGS, Actor.analyst("alice"), clock=lambda: T0)
        users.disable_user(analyst, 1, "left the company")
        session.commit()
        with pytest.raises(Unauthorized):
            tokens.authenticate(session, SETTINGS, TOKENS[0][1], now=T0)
        for _, token, _, _ in TOKENS[1:]:
            tokens.authenticate(session, SETTINGS, token, now=T0)


def test_0013_downgrade_drops_only_what_it_added(old_database: Engine) -> None:
    upgrade(old_database, "0013")
    downgrade(old_database, str(PREVIOUS))
    columns = {c["name"] for c in inspect(old_database).get_columns("api_tokens")}
    assert "created_by" not in columns and "created_by_user_id" not in columns
    assert {"id", "token_hash", "prefix", "customer_id", "expires_at"} <= columns
    with old_database.connect() as conn:
        assert conn.execute(text("SELECT id FROM api_tokens ORDER BY id")).scalars().all() == [
            1,
            2,
            3,
            4,
        ]
