"""platform/idempotency.py: a duplicate that arrives while the first request is in flight is
told so (PostgreSQL) and makes nothing; fingerprints ignore key order and spacing only."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, delete, select
from sqlalchemy.orm import Session

from licensesvc.domain.errors import IdempotencyInProgress
from licensesvc.models import IdempotencyKey
from licensesvc.platform import idempotency

NOW = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)


def test_fingerprints_ignore_order_and_spacing_but_not_content() -> None:
    a = idempotency.fingerprint("POST", "/v1/key-requests", b'{"a": 1, "b": [1, 2]}')
    assert a == idempotency.fingerprint("post", "/v1/key-requests", b'{"b":[1,2],"a":1}')
    assert a != idempotency.fingerprint("POST", "/v1/key-requests", b'{"a": 2, "b": [1, 2]}')
    assert a != idempotency.fingerprint("POST", "/v1/key-requests/X/escalate", b'{"a":1,"b":[1,2]}')
    assert idempotency.fingerprint("POST", "/p", b"not json") != idempotency.fingerprint(
        "POST", "/p", b"not json!"
    )


def test_a_duplicate_in_flight_is_refused_until_the_first_ends(engine: Engine) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite runs one writer at a time: the duplicate waits for the first")
    first, second = Session(engine), Session(engine)

    def claim(session: Session) -> idempotency.Claim | idempotency.Replay:
        return idempotency.claim(
            session, caller="customer:77", key="in-flight", fingerprint="f" * 64, now=NOW
        )

    try:
        row = claim(first)
        assert isinstance(row, idempotency.Claim)
        with pytest.raises(IdempotencyInProgress, match="still being handled"):
            claim(second)
        second.rollback()
        first.rollback()  # the first failed: nothing of it is left, the key is free again
        again = claim(second)
        assert isinstance(again, idempotency.Claim)
        second.rollback()
    finally:
        first.close()
        second.close()
        with engine.begin() as conn:
            conn.execute(delete(IdempotencyKey).where(IdempotencyKey.caller == "customer:77"))


def test_purge_takes_old_keys_in_batches_and_keeps_young_ones(session: Session) -> None:
    for i, hours in enumerate((25, 30, 48, 23)):
        session.add(
            IdempotencyKey(
                caller="analyst:bob",
                key=f"k{i}",
                fingerprint="f" * 64,
                status="done",
                created_at=NOW - timedelta(hours=hours),
            )
        )
    session.flush()
    assert idempotency.purge(session, NOW, batch=2) == 2
    assert idempotency.purge(session, NOW, batch=None) == 1
    assert idempotency.purge(session, NOW, batch=None) == 0
    assert list(session.scalars(select(IdempotencyKey.key))) == ["k3"]
