"""API tokens: hashes under their own derived key (tokens of the old scheme keep working and are
upgraded on use), an optional expiry, and the last use recorded at most once a minute."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from licensesvc.config import Settings
from licensesvc.domain.errors import Unauthorized, ValidationFailed
from licensesvc.identity import tokens
from licensesvc.models import ApiToken, AuditRecord
from licensesvc.platform.context import ServiceContext
from tests.conftest import FakeClock, World


def stored(ctx: ServiceContext, token_id: int) -> ApiToken:
    rec = ctx.session.get(ApiToken, token_id)
    assert rec is not None
    ctx.session.refresh(rec)
    return rec


def count(ctx: ServiceContext, model: type) -> int:
    return ctx.session.scalar(select(func.count()).select_from(model)) or 0


def test_token_hashes_use_a_derived_key_not_the_raw_secret(
    world: World, analyst: ServiceContext, settings: Settings
) -> None:
    rec, token = tokens.create_token(analyst, customer_id=world.base_customer)
    assert rec.token_hash == tokens.token_hash(settings, token)
    assert rec.token_hash != tokens.legacy_token_hash(settings, token)


def test_a_token_stored_the_old_way_still_works_and_is_upgraded_on_use(
    world: World, analyst: ServiceContext, settings: Settings, clock: FakeClock
) -> None:
    rec, token = tokens.create_token(analyst, customer_id=world.base_customer)
    # as a token created before derived keys was stored: HMAC under the raw secret
    rec.token_hash = tokens.legacy_token_hash(settings, token)
    analyst.session.flush()

    actor = tokens.authenticate(analyst.session, settings, token, now=clock())
    assert actor.customer_id == world.base_customer
    upgraded = stored(analyst, rec.id)
    assert upgraded.token_hash == tokens.token_hash(settings, token)
    assert upgraded.last_used_at == clock()
    clock.advance(minutes=5)
    assert tokens.authenticate(analyst.session, settings, token, now=clock()) == actor


def test_the_legacy_fallback_does_not_accept_another_secret(
    world: World, analyst: ServiceContext, settings: Settings, clock: FakeClock
) -> None:
    rec, token = tokens.create_token(analyst, customer_id=world.base_customer)
    rec.token_hash = tokens.legacy_token_hash(settings, token + "x")
    analyst.session.flush()
    with pytest.raises(Unauthorized, match="^the API token is not valid$"):
        tokens.authenticate(analyst.session, settings, token, now=clock())


def test_an_expiring_token_works_until_its_expiry_then_says_it_expired(
    world: World, analyst: ServiceContext, settings: Settings, clock: FakeClock
) -> None:
    expires = clock() + timedelta(days=30)
    rec, token = tokens.create_token(analyst, analyst="carol", expires_at=expires)
    assert rec.expires_at == expires
    clock.set(expires)
    assert tokens.authenticate(analyst.session, settings, token, now=clock()).name == "carol"
    last_use = stored(analyst, rec.id).last_used_at
    clock.advance(seconds=1)
    with pytest.raises(Unauthorized) as caught:
        tokens.authenticate(analyst.session, settings, token, now=clock())
    assert caught.value.code == "unauthorized"
    assert caught.value.message == (
        "the API token expired at 2026-04-01T15:00:00+00:00; ask for a new one"
    )
    assert stored(analyst, rec.id).last_used_at == last_use  # a refused use is no use


@pytest.mark.parametrize(
    ("offset", "message"),
    [
        (timedelta(0), "is not in the future"),
        (timedelta(days=-1), "is not in the future"),
        (timedelta(days=3651), "at most ten years"),
    ],
)
def test_an_expiry_not_ahead_or_too_far_ahead_is_refused_and_nothing_is_made(
    world: World, analyst: ServiceContext, clock: FakeClock, offset: timedelta, message: str
) -> None:
    before = (count(analyst, ApiToken), count(analyst, AuditRecord))
    with pytest.raises(ValidationFailed, match=message):
        tokens.create_token(analyst, analyst="carol", expires_at=clock() + offset)
    assert (count(analyst, ApiToken), count(analyst, AuditRecord)) == before


def test_the_expiry_is_in_the_audit_trail(world: World, analyst: ServiceContext, clock: FakeClock):
    expires = clock() + timedelta(days=7)
    tokens.create_token(analyst, analyst="carol", expires_at=expires)
    record = analyst.session.scalars(
        select(AuditRecord).where(AuditRecord.action == "token.created")
    ).all()[-1]
    assert record.details["expires_at"] == expires.isoformat()


def test_last_use_is_written_once_a_minute_not_per_request(
    world: World, analyst: ServiceContext, settings: Settings, clock: FakeClock
) -> None:
    rec, token = tokens.create_token(analyst, customer_id=world.base_customer)
    assert rec.last_used_at is None
    first = tokens.check_token(analyst.session, settings, token, now=clock())
    assert first.use == tokens.TokenUse(rec.id, clock())
    tokens.record_token_use(analyst.session, first.use)
    assert stored(analyst, rec.id).last_used_at == clock()

    clock.advance(seconds=59)
    assert tokens.check_token(analyst.session, settings, token, now=clock()).use is None
    clock.advance(seconds=1)
    later = tokens.check_token(analyst.session, settings, token, now=clock())
    assert later.use == tokens.TokenUse(rec.id, clock())


def test_a_late_writer_never_moves_the_last_use_back(
    world: World, analyst: ServiceContext, clock: FakeClock
) -> None:
    rec, _ = tokens.create_token(analyst, customer_id=world.base_customer)
    tokens.record_token_use(analyst.session, tokens.TokenUse(rec.id, clock() + timedelta(hours=1)))
    tokens.record_token_use(analyst.session, tokens.TokenUse(rec.id, clock()))
    assert stored(analyst, rec.id).last_used_at == clock() + timedelta(hours=1)


def test_tokens_are_stored_only_as_keyed_hashes(world, analyst, session, settings):
    rec, token = tokens.create_token(analyst, customer_id=world.base_customer)
    assert token.startswith("lsc_cust_") and len(token) > 32
    stored = session.scalar(select(ApiToken).where(ApiToken.id == rec.id))
    assert token not in (stored.token_hash, stored.prefix)
    actor = tokens.authenticate(session, settings, token)
    assert actor.kind == "customer" and actor.customer_id == world.base_customer
    tokens.revoke_token(analyst, rec.id)
    with pytest.raises(Unauthorized):
        tokens.authenticate(session, settings, token)
    with pytest.raises(Unauthorized):
        tokens.authenticate(session, settings, token[:-1] + "x")


def test_analyst_token_acts_as_analyst(analyst, session, settings):
    _, token = tokens.create_token(analyst, analyst="carol")
    assert token.startswith("lsc_anl_")
    actor = tokens.authenticate(session, settings, token)
    assert actor.is_analyst and actor.name == "carol"
