"""A webhook endpoint's signing secret is stored sealed under LICENSESVC_SIGNING_KEY_PASSPHRASE:
the table never holds the secret shown to the customer, the sender opens it to sign, and with
another passphrase the sender refuses (not_configured) rather than sign with a wrong key."""

from __future__ import annotations

import base64
from dataclasses import replace

import pytest
from sqlalchemy import select

from licensesvc import outreach
from licensesvc.domain.errors import NotConfigured
from licensesvc.models import WebhookDelivery, WebhookEndpoint
from licensesvc.platform import outbox
from licensesvc.platform.context import ServiceContext

PUBLIC = ["93.184.216.34"]


def add(ctx: ServiceContext) -> outreach.EndpointWithSecret:
    return outreach.add_endpoint(
        ctx, "https://hooks.example/in", ["key.issued"], resolve=lambda host, port: PUBLIC
    )


def stored_secret(ctx: ServiceContext, endpoint_id: int) -> str:
    return ctx.session.scalars(
        select(WebhookEndpoint.secret).where(WebhookEndpoint.id == endpoint_id)
    ).one()


def in_the_clear(secret: str, stored: str) -> bool:
    raw = base64.b64decode(secret.removeprefix("whsec_"))
    return secret in stored or secret.removeprefix("whsec_") in stored or raw.hex() in stored


def test_the_table_never_holds_the_secret_made_or_rotated(contexts, world) -> None:
    analyst = contexts.analyst()
    made = add(analyst)
    assert not in_the_clear(made.secret, stored_secret(analyst, made.endpoint.id))
    rotated = outreach.rotate_secret(analyst, made.endpoint.id)
    assert rotated.secret != made.secret
    assert not in_the_clear(rotated.secret, stored_secret(analyst, made.endpoint.id))


def test_the_sender_opens_the_secret_the_customer_was_shown(contexts, world) -> None:
    analyst = contexts.analyst()
    made = add(analyst)
    outbox.publish(analyst, outbox.WebhookEvent.KEY_ISSUED, world.base_customer, "key:K1", {})
    (claimed,) = outreach.claim_due_deliveries(analyst, "worker-1", 10)
    assert claimed.secret == made.secret


def test_another_passphrase_claims_nothing_and_says_why(contexts, world, session) -> None:
    analyst = contexts.analyst()
    add(analyst)
    outbox.publish(analyst, outbox.WebhookEvent.KEY_ISSUED, world.base_customer, "key:K1", {})
    wrong = ServiceContext(
        analyst.session,
        replace(analyst.settings, signing_key_passphrase="another passphrase"),
        analyst.actor,
        analyst.clock,
    )
    savepoint = session.begin_nested()
    with pytest.raises(NotConfigured, match="LICENSESVC_SIGNING_KEY_PASSPHRASE"):
        outreach.claim_due_deliveries(wrong, "worker-1", 10)
    savepoint.rollback()
    (delivery,) = session.scalars(select(WebhookDelivery)).all()
    assert (delivery.status, delivery.claimed_by) == ("pending", None)
