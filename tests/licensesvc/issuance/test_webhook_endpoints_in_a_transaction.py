"""A key request reads the customer's active webhook endpoints with its lock and keeps them for
the rest of its transaction (platform/outbox.py: `prime_endpoints`): an endpoint added or
disabled later in the same transaction is heeded by the events published after it."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from licensesvc import outreach
from licensesvc.issuance import issued_keys
from licensesvc.issuance.key_requests import KeyRequestInput, request_key
from licensesvc.models import WebhookDelivery
from tests.conftest import Contexts, World


def _public(_host: str, _port: int) -> list[str]:
    return ["93.184.216.34"]


def test_an_endpoint_added_or_disabled_in_the_transaction_is_heeded_by_later_events(
    contexts: Contexts, world: World, session: Session
) -> None:
    analyst = contexts.analyst()
    # the request reads the endpoints (none yet) with its lock and keeps them
    first = request_key(analyst, KeyRequestInput(license_id=world.base_license, kind="standard"))
    assert first.key is not None
    added = outreach.add_endpoint(
        analyst, "https://hooks.example.com/in", ["key.revoked"], resolve=_public
    )

    def events() -> list[tuple[str, str]]:
        rows = session.scalars(
            select(WebhookDelivery)
            .where(WebhookDelivery.endpoint_id == added.endpoint.id)
            .order_by(WebhookDelivery.id)
        )
        return [(d.event, str(d.payload["data"]["serial"])) for d in rows]

    issued_keys.revoke_key(analyst, first.key.serial, "the endpoint hears of it")
    assert events() == [("key.revoked", first.key.serial)]

    second = request_key(analyst, KeyRequestInput(license_id=world.base_license, kind="standard"))
    assert second.key is not None
    outreach.disable_endpoint(analyst, added.endpoint.id)
    issued_keys.revoke_key(analyst, second.key.serial, "a disabled endpoint hears nothing")
    assert events() == [("key.revoked", first.key.serial)]
