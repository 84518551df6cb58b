"""API tokens: random, shown once, stored only as a keyed hash (HMAC-SHA256 under the
server's secret key), with a type prefix that says whose token it is."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session

from licensesvc.config import Settings
from licensesvc.models import ApiToken

from . import audit
from .context import Actor, ServiceContext
from .customers import get_customer
from .errors import Forbidden, InvalidState, NotFound, Unauthorized, ValidationFailed

CUSTOMER_PREFIX = "lsc_cust_"
ANALYST_PREFIX = "lsc_anl_"


def token_hash(settings: Settings, token: str) -> str:
    return hmac.new(settings.secret_key.encode(), token.encode(), hashlib.sha256).hexdigest()


def create_token(
    ctx: ServiceContext, *, customer_id: int | None = None, analyst: str | None = None
) -> tuple[ApiToken, str]:
    """Create a token for a customer or an analyst and return (record, token). The token
    (192 random bits) is returned this once and never stored. A customer actor (the portal)
    may create tokens for its own customer only. Raises ValidationFailed, NotFound, Forbidden."""
    if ctx.actor.kind == "customer":
        if analyst is not None:
            raise Forbidden("analyst tokens are created by support analysts")
        customer_id = ctx.actor.customer_id
    else:
        ctx.actor.require_analyst()
    if (customer_id is None) == (analyst is None):
        raise ValidationFailed("a token belongs to exactly one customer or one analyst")
    if customer_id is not None:
        get_customer(ctx, customer_id)
        prefix = CUSTOMER_PREFIX
    else:
        if not analyst or not analyst.strip():
            raise ValidationFailed("an analyst token needs the analyst's name")
        prefix = ANALYST_PREFIX
    token = prefix + secrets.token_urlsafe(24)
    rec = ApiToken(
        token_hash=token_hash(ctx.settings, token),
        prefix=token[: len(prefix) + 4],
        customer_id=customer_id,
        analyst_name=analyst.strip() if analyst else None,
        created_at=ctx.now(),
    )
    ctx.session.add(rec)
    ctx.session.flush()
    audit.append(
        ctx,
        "token.created",
        "token",
        rec.id,
        customer_id=customer_id,
        details={"prefix": rec.prefix, "analyst": rec.analyst_name},
    )
    return rec, token


def list_tokens(ctx: ServiceContext) -> list[ApiToken]:
    """Every token (analysts), or a customer actor's own customer's tokens."""
    query = select(ApiToken).order_by(ApiToken.id)
    if ctx.actor.kind == "customer":
        query = query.where(ApiToken.customer_id == ctx.actor.customer_id)
    else:
        ctx.actor.require_analyst()
    return list(ctx.session.scalars(query))


def revoke_token(ctx: ServiceContext, token_id: int) -> ApiToken:
    """Revoke a token; it stops working at once. A customer actor may revoke its own
    customer's tokens only. Raises NotFound, InvalidState, Forbidden."""
    if ctx.actor.kind != "customer":
        ctx.actor.require_analyst()
    rec = ctx.session.get(ApiToken, token_id)
    if rec is None or (ctx.actor.kind == "customer" and rec.customer_id != ctx.actor.customer_id):
        raise NotFound(f"token {token_id} not found")
    if rec.revoked_at is not None:
        raise InvalidState(f"token {token_id} was already revoked")
    rec.revoked_at = ctx.now()
    ctx.session.flush()
    audit.append(
        ctx,
        "token.revoked",
        "token",
        rec.id,
        customer_id=rec.customer_id,
        details={"prefix": rec.prefix},
    )
    return rec


def authenticate(session: Session, settings: Settings, token: str | None) -> Actor:
    """Return the actor a bearer token stands for. Raises Unauthorized (missing, unknown or
    revoked token; the message does not say which)."""
    if not token:
        raise Unauthorized("send an API token: Authorization: Bearer <token>")
    rec = session.scalar(select(ApiToken).where(ApiToken.token_hash == token_hash(settings, token)))
    if rec is None or rec.revoked_at is not None:
        raise Unauthorized("the API token is not valid")
    if rec.customer_id is not None:
        return Actor.customer(rec.customer_id, f"customer:{rec.customer_id}:token:{rec.id}")
    return Actor.analyst(rec.analyst_name or "analyst")
