"""Migration 0015 (the SHA-256 of each key's text) on a database made by the migration before
it, with keys in it: every key is kept and gets the hash of its own text, the hash is unique,
a key added afterwards gets its hash from the model, and the way back drops only the column."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, inspect, text
from sqlalchemy.exc import IntegrityError

from licensesvc.migrate import current_revision, downgrade, upgrade
from tests.licensesvc.migrations.migration_helpers import database_at, previous_revision

NOW = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
#: whatever 0015 follows (the lead re-chains migrations at merge time)
PREVIOUS = previous_revision("0015")
#: serial -> key text (one with a character outside ASCII: hashed as UTF-8)
KEYS = {"SN-1": "LK1.first.sig", "SN-2": "LK1.second.sig", "SN-3": "LK1.thïrd.sig"}
INSERT_KEY = (
    "INSERT INTO keys (serial, license_id, customer_id, kind, status, key_text, claims,"
    " signing_kid, issued_at, not_before) VALUES (:serial, 1, 1, 'temporary', 'active', :text,"
    " '{}', 'kid', :t, :t)"
)


def sha(text_: str) -> str:
    return hashlib.sha256(text_.encode()).hexdigest()


@pytest.fixture
def old_database(tmp_path: Path) -> Iterator[Engine]:
    with database_at(tmp_path, PREVIOUS, "m0015") as engine:
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
            conn.execute(
                text(INSERT_KEY),
                [{"serial": s, "text": t, "t": NOW} for s, t in KEYS.items()],
            )
        yield engine


def test_0015_hashes_every_key_and_keeps_it(old_database: Engine) -> None:
    upgrade(old_database, "0015")
    assert current_revision(old_database) == "0015"
    with old_database.connect() as conn:
        rows = conn.execute(text("SELECT serial, key_text, key_hash FROM keys")).all()
    assert {r.serial: (r.key_text, r.key_hash) for r in rows} == {
        s: (t, sha(t)) for s, t in KEYS.items()
    }
    # unique: the same text cannot be stored twice under another serial
    with pytest.raises(IntegrityError), old_database.begin() as conn:
        conn.execute(
            text(
                INSERT_KEY.replace("key_text,", "key_text, key_hash,").replace(
                    ":text,", ":text, :h,"
                )
            ),
            {"serial": "SN-4", "text": "LK1.other", "h": sha("LK1.first.sig"), "t": NOW},
        )


def test_0015_downgrade_drops_only_the_column(old_database: Engine) -> None:
    upgrade(old_database, "0015")
    downgrade(old_database, str(PREVIOUS))
    columns = {c["name"] for c in inspect(old_database).get_columns("keys")}
    assert "key_hash" not in columns and {"serial", "key_text", "status"} <= columns
    assert "uq_keys_key_hash" not in {i["name"] for i in inspect(old_database).get_indexes("keys")}
    with old_database.connect() as conn:
        assert dict(conn.execute(text("SELECT serial, key_text FROM keys")).all()) == KEYS
