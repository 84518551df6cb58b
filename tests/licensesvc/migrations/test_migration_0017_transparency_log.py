"""Migration 0017 (the transparency log) on a database made by the migration before it, with a
customer, a license and an issued key in it: every row is kept, the log starts empty with its
state row at size 0 and takes leaves (one index per leaf), and the way back drops only the
`tlog_*` tables."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, inspect, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from licensesvc.migrate import current_revision, downgrade, upgrade
from licensesvc.models import Customer, LogLeaf, LogState
from tests.licensesvc.migrations.migration_helpers import database_at, previous_revision

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
#: whatever 0017 follows (the lead re-chains migrations at merge time)
PREVIOUS = previous_revision("0017")


@pytest.fixture
def old_database(tmp_path: Path) -> Iterator[Engine]:
    with database_at(tmp_path, PREVIOUS, "m0017") as engine:
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
                    "INSERT INTO signing_keys (id, kid, public_key_pem, private_key_encrypted,"
                    " status, created_at) VALUES (1, 'k1', 'pem', :secret, 'active', :t)"
                ),
                {"t": T0, "secret": b"\x00"},
            )
        yield engine


def leaf(idx: int | None, serial: str) -> LogLeaf:
    return LogLeaf(
        idx=idx,
        serial=serial,
        event="issue",
        commitment="ab" * 32,
        leaf=b'{"serial":"' + serial.encode() + b'"}',
        leaf_hash=bytes(32),
        created_at=T0,
    )


def test_0017_keeps_every_row_and_starts_an_empty_log(old_database: Engine) -> None:
    upgrade(old_database, "0017")
    assert current_revision(old_database) == "0017"
    with Session(old_database) as session:
        assert session.scalars(select(Customer.name)).all() == ["Acme"]
        assert session.execute(text("SELECT kid FROM signing_keys")).scalars().all() == ["k1"]
        (state,) = session.scalars(select(LogState)).all()
        assert (state.id, state.tree_size) == (1, 0)
        session.add_all([leaf(None, "SN-1"), leaf(None, "SN-2"), leaf(0, "SN-3")])
        session.commit()
        session.add(leaf(0, "SN-4"))  # one leaf per index
        with pytest.raises(IntegrityError):
            session.commit()
        session.rollback()
        assert session.scalars(select(LogLeaf.serial).order_by(LogLeaf.id)).all() == [
            "SN-1",
            "SN-2",
            "SN-3",
        ]


def test_0017_downgrade_drops_only_what_it_added(old_database: Engine) -> None:
    upgrade(old_database, "0017")
    downgrade(old_database, str(PREVIOUS))
    tables = set(inspect(old_database).get_table_names())
    assert not {t for t in tables if t.startswith("tlog_")}
    assert {"customers", "signing_keys", "keys"} <= tables
    with old_database.connect() as conn:
        assert conn.execute(text("SELECT name FROM customers")).scalars().all() == ["Acme"]
