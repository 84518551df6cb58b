"""Migration 0019 (the stored revocation cascade) on a database made by the migration before
it, with a customer and the stored revocation list in it: both are kept, the new table has
its one row, takes a signed base, and the way back drops only that table."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, inspect, select, text
from sqlalchemy.orm import Session

from licensesvc.migrate import current_revision, downgrade, upgrade
from licensesvc.models import Customer, RevocationCascadeCopy, RevocationListCopy
from tests.licensesvc.migrations.migration_helpers import database_at, previous_revision

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
#: whatever 0019 follows (the lead re-chains migrations at merge time)
PREVIOUS = previous_revision("0019")


@pytest.fixture
def old_database(tmp_path: Path) -> Iterator[Engine]:
    with database_at(tmp_path, PREVIOUS, "m0019") as engine:
        with engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO customers (id, name, region, holidays, created_at)"
                    " VALUES (1, 'Acme', 'na', 'US', :t)"
                ),
                {"t": T0},
            )
            conn.execute(
                text("UPDATE revocation_lists SET generation = 5, signed_text = 'LRL2.x.y'")
            )
        yield engine


def test_0019_keeps_every_row_and_stores_a_signed_base(old_database: Engine) -> None:
    upgrade(old_database, "0019")
    assert current_revision(old_database) == "0019"
    with Session(old_database) as session:
        assert session.scalars(select(Customer.name)).all() == ["Acme"]
        (listed,) = session.scalars(select(RevocationListCopy)).all()
        assert (listed.generation, listed.signed_text) == (5, "LRL2.x.y")
        (row,) = session.scalars(select(RevocationCascadeCopy)).all()
        assert (row.id, row.generation, row.signed) == (1, 0, None)
        row.generation = 1_796_601_600  # generations are Unix seconds: past 32 bits by 2106
        row.signed = b"LRC1\x00\xff" * 4000
        row.issued_at = row.next_update = row.covered_through = T0
        row.covered_count = 1_000_000
        session.commit()
        session.expire_all()
        again = session.get(RevocationCascadeCopy, 1)
        assert again is not None and again.signed == b"LRC1\x00\xff" * 4000
        assert (again.generation, again.issued_at, again.covered_count) == (
            1_796_601_600,
            T0,
            1_000_000,
        )


def test_0019_downgrade_drops_only_what_it_added(old_database: Engine) -> None:
    upgrade(old_database, "0019")
    downgrade(old_database, str(PREVIOUS))
    tables = set(inspect(old_database).get_table_names())
    assert "revocation_cascades" not in tables
    assert {"customers", "revocation_lists"} <= tables
    with old_database.connect() as conn:
        assert conn.execute(text("SELECT generation FROM revocation_lists")).scalars().all() == [5]
