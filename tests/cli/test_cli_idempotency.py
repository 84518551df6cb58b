"""`licensesvc idempotency purge`: stored answers older than 24 hours go, younger ones stay."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from licensesvc.models import IdempotencyKey
from licensesvc.runtime import Runtime
from tests.cli.cli_helpers import Cli


def test_purge_deletes_only_keys_older_than_24_hours(run: Cli, runtime: Runtime) -> None:
    now = runtime.clock()
    with runtime.sessions() as session:
        for key, age in (("old", timedelta(hours=24, minutes=1)), ("young", timedelta(hours=23))):
            session.add(
                IdempotencyKey(
                    caller="customer:1",
                    key=key,
                    fingerprint="f" * 64,
                    status="done",
                    response_status=201,
                    response_body="{}",
                    response_headers={},
                    created_at=now - age,
                )
            )
        session.commit()
    assert run.json("idempotency", "purge") == {"purged": 1}
    assert "purged 0 idempotency keys older than 24 hours" in run.ok("idempotency", "purge").output
    with runtime.sessions() as session:
        assert list(session.scalars(select(IdempotencyKey.key))) == ["young"]
