"""Migration 0018 (webhook signing secrets encrypted at rest) on a database made by the
migration before it, with two endpoints whose secrets are stored in the clear: afterwards no
secret is readable in the table, each opens with the passphrase to the very secret its receiver
holds, and a delivery is signed with it; without the passphrase the migration changes nothing;
the way back restores the secrets as they were."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from licensesvc import outreach
from licensesvc.migrate import Secrets, current_revision, downgrade, upgrade
from licensesvc.platform import sealed
from tests.licensesvc.migrations.migration_helpers import database_at, previous_revision

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
#: whatever 0018 follows (the lead re-chains migrations at merge time)
PREVIOUS = previous_revision("0018")
SECRETS = {1: outreach.new_secret(), 2: outreach.new_secret()}
KEYS = Secrets("migration-passphrase", kdf_rounds=1_000)


@pytest.fixture
def old_database(tmp_path: Path) -> Iterator[Engine]:
    with database_at(tmp_path, PREVIOUS, "m0018") as engine:
        with engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO customers (id, name, region, holidays, created_at)"
                    " VALUES (1, 'Acme', 'na', 'US', :t)"
                ),
                {"t": T0},
            )
            for endpoint_id, secret in SECRETS.items():
                conn.execute(
                    text(
                        "INSERT INTO webhook_endpoints (id, customer_id, url, events, secret,"
                        " status, created_by, created_at) VALUES (:id, 1, :url,"
                        " '[\"key.issued\"]', :secret, 'active', 'analyst:alice', :t)"
                    ),
                    {
                        "id": endpoint_id,
                        "url": f"https://h{endpoint_id}.example/in",
                        "secret": secret,
                        "t": T0,
                    },
                )
        yield engine


def stored(engine: Engine) -> dict[int, str]:
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT id, secret FROM webhook_endpoints")).all()
    return {endpoint_id: secret for endpoint_id, secret in rows}


def test_0018_seals_every_secret_and_keeps_each_one(old_database: Engine) -> None:
    upgrade(old_database, "0018", secrets=KEYS)
    assert current_revision(old_database) == "0018"
    after = stored(old_database)
    assert set(after) == set(SECRETS)
    for endpoint_id, secret in SECRETS.items():
        raw = base64.b64decode(secret.removeprefix("whsec_"))
        assert (
            secret not in after[endpoint_id]
            and base64.b64encode(raw).decode() not in after[endpoint_id]
        )
        assert sealed.unseal(after[endpoint_id], KEYS.passphrase) == raw
        # the receiver's secret still verifies what is signed with the opened one
        opened = (
            "whsec_" + base64.b64encode(sealed.unseal(after[endpoint_id], KEYS.passphrase)).decode()
        )
        assert outreach.sign(opened, "msg_1", 1, b"{}") == outreach.sign(secret, "msg_1", 1, b"{}")
    with pytest.raises(sealed.Unsealable):
        sealed.unseal(after[1], "another passphrase")


def test_0018_without_the_passphrase_changes_nothing(old_database: Engine) -> None:
    with pytest.raises(RuntimeError, match="LICENSESVC_SIGNING_KEY_PASSPHRASE"):
        upgrade(old_database, "0018")
    assert current_revision(old_database) == PREVIOUS
    assert stored(old_database) == SECRETS


def test_0018_downgrade_restores_the_secrets_as_they_were(old_database: Engine) -> None:
    upgrade(old_database, "0018", secrets=KEYS)
    downgrade(old_database, str(PREVIOUS), secrets=KEYS)
    assert current_revision(old_database) == PREVIOUS
    assert stored(old_database) == SECRETS
