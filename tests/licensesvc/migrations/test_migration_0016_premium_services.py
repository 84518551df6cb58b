"""Migration 0016 (Premium service records) on a database made by the migration before it, with
a customer and a Premium contract in it: both are kept, the new table takes a held health check
and refuses a request without its planned day, and the way back drops only the new table."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, inspect, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from licensesvc.migrate import current_revision, downgrade, upgrade
from licensesvc.models import Contract, Customer, ServiceRecord
from tests.licensesvc.migrations.migration_helpers import database_at, previous_revision

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
#: whatever 0016 follows (the lead re-chains migrations at merge time)
PREVIOUS = previous_revision("0016")


@pytest.fixture
def old_database(tmp_path: Path) -> Iterator[Engine]:
    with database_at(tmp_path, PREVIOUS, "m0016") as engine:
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
                    "INSERT INTO contracts (id, customer_id, plan, start_date, end_date,"
                    " created_at) VALUES (1, 1, 'premium', '2026-01-01', '2026-12-31', :t)"
                ),
                {"t": T0},
            )
        yield engine


def record(**kw: object) -> ServiceRecord:
    values: dict[str, object] = {
        "customer_id": 1,
        "contract_id": 1,
        "service": "health_check",
        "status": "held",
        "held_on": date(2026, 1, 4),
        "contract_year_start": date(2026, 1, 1),
        "recorded_by": "analyst:alice",
        "created_at": T0,
    }
    return ServiceRecord(**(values | kw))


def test_0016_keeps_every_row_and_takes_service_records(old_database: Engine) -> None:
    upgrade(old_database, "0016")
    assert current_revision(old_database) == "0016"
    with Session(old_database) as session:
        assert session.scalars(select(Customer.name)).all() == ["Acme"]
        assert session.scalars(select(Contract.plan)).all() == ["premium"]
        session.add(record())
        session.commit()
        session.add(record(service="upgrade", status="requested", held_on=None))
        with pytest.raises(IntegrityError):  # a request names its planned day
            session.commit()
        session.rollback()
        session.add(record(service="coffee"))
        with pytest.raises(IntegrityError):
            session.commit()
        session.rollback()
        (row,) = session.scalars(select(ServiceRecord)).all()
        assert (row.service, row.status, row.held_on) == ("health_check", "held", date(2026, 1, 4))


def test_0016_downgrade_drops_only_what_it_added(old_database: Engine) -> None:
    upgrade(old_database, "0016")
    downgrade(old_database, str(PREVIOUS))
    tables = set(inspect(old_database).get_table_names())
    assert "premium_service_records" not in tables
    assert {"customers", "contracts"} <= tables
    with old_database.connect() as conn:
        assert conn.execute(text("SELECT plan FROM contracts")).scalars().all() == ["premium"]
