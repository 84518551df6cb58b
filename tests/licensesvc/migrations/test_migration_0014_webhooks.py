"""Migration 0014 (webhook endpoints and deliveries) on a database made by the migration before
it, with a customer and an outbox message in it: both are kept, the new tables take an
endpoint and its delivery (one per dedupe key), and the way back drops only the new tables."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, inspect, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from licensesvc.migrate import current_revision, downgrade, upgrade
from licensesvc.models import Customer, WebhookDelivery, WebhookEndpoint
from licensesvc.models.outbox import OutboxMessage
from tests.licensesvc.migrations.migration_helpers import database_at, previous_revision

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
#: whatever 0014 follows (the lead re-chains migrations at merge time)
PREVIOUS = previous_revision("0014")


@pytest.fixture
def old_database(tmp_path: Path) -> Iterator[Engine]:
    with database_at(tmp_path, PREVIOUS, "m0014") as engine:
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
                    "INSERT INTO outbox (id, event, customer_id, subject_ref, dedupe_key, context,"
                    " status, attempts, next_attempt_at, created_at) VALUES (1, 'key_issued', 1,"
                    " 'key:K1', 'key_issued:key:K1', '{}', 'pending', 0, :t, :t)"
                ),
                {"t": T0},
            )
        yield engine


def delivery(endpoint_id: int, dedupe_key: str, message_id: str) -> WebhookDelivery:
    return WebhookDelivery(
        endpoint_id=endpoint_id,
        customer_id=1,
        event="key.issued",
        message_id=message_id,
        dedupe_key=dedupe_key,
        payload={"type": "key.issued", "timestamp": "2026-01-05T09:00:00Z", "data": {}},
        status="pending",
        attempts=0,
        next_attempt_at=T0,
        created_at=T0,
    )


def test_0014_keeps_every_row_and_takes_endpoints_and_deliveries(old_database: Engine) -> None:
    upgrade(old_database, "0014")
    assert current_revision(old_database) == "0014"
    with Session(old_database) as session:
        assert session.scalars(select(Customer.name)).all() == ["Acme"]
        assert session.scalars(select(OutboxMessage.dedupe_key)).all() == ["key_issued:key:K1"]
        endpoint = WebhookEndpoint(
            customer_id=1,
            url="https://hooks.acme.example/in",
            events=["key.issued"],
            secret="whsec_c2VjcmV0",
            status="active",
            created_by="analyst:alice",
            created_at=T0,
        )
        session.add(endpoint)
        session.flush()
        session.add(delivery(endpoint.id, "1:key.issued:key:K1", "msg_1"))
        session.commit()
        session.add(delivery(endpoint.id, "1:key.issued:key:K1", "msg_2"))
        with pytest.raises(IntegrityError):
            session.commit()
        session.rollback()
        (row,) = session.scalars(select(WebhookDelivery)).all()
        assert (row.message_id, row.payload["type"], row.next_attempt_at) == (
            "msg_1",
            "key.issued",
            T0,
        )


def test_0014_downgrade_drops_only_what_it_added(old_database: Engine) -> None:
    upgrade(old_database, "0014")
    downgrade(old_database, str(PREVIOUS))
    tables = set(inspect(old_database).get_table_names())
    assert "webhook_endpoints" not in tables and "webhook_deliveries" not in tables
    assert {"customers", "outbox"} <= tables
    with old_database.connect() as conn:
        assert conn.execute(text("SELECT dedupe_key FROM outbox")).scalars().all() == [
            "key_issued:key:K1"
        ]
