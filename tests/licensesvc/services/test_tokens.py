"""services/tokens.py: API tokens are kept only as keyed hashes."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from licensesvc.models import ApiToken
from licensesvc.services import tokens
from licensesvc.services.errors import Unauthorized


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
