"""API tokens: random, shown once, stored only as a keyed hash (HMAC-SHA256 under a key derived
from the server's secret key for this one purpose), with a type prefix that says whose token it
is, an optional expiry, and the time of last use (to the minute)."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Select, or_, select, update
from sqlalchemy.orm import Session

from licensesvc.config import Settings
from licensesvc.models import ApiToken

from . import audit
from .context import Actor, ServiceContext, utcnow
from .customers import get_customer
from .errors import Forbidden, InvalidState, NotFound, Unauthorized, ValidationFailed
from .pagination import DEFAULT_PAGE_SIZE, Page, paginate

CUSTOMER_PREFIX = "lsc_cust_"
ANALYST_PREFIX = "lsc_anl_"
#: a use within this long of the recorded last use is not written again (reads stay reads)
LAST_USE_RESOLUTION = timedelta(minutes=1)
#: the longest lifetime a token may be given
MAX_LIFETIME = timedelta(days=3650)


def token_hash(settings: Settings, token: str) -> str:
    """The stored form of token: HMAC-SHA256 under the derived token-hash key, hex."""
    return hmac.new(settings.token_hash_key, token.encode(), hashlib.sha256).hexdigest()


def legacy_token_hash(settings: Settings, token: str) -> str:
    """How tokens created before derived keys were stored (HMAC under the raw secret key).
    Still recognised; replaced by token_hash on the token's next use."""
    return hmac.new(settings.secret_key.encode(), token.encode(), hashlib.sha256).hexdigest()


def create_token(
    ctx: ServiceContext,
    *,
    customer_id: int | None = None,
    analyst: str | None = None,
    expires_at: datetime | None = None,
) -> tuple[ApiToken, str]:
    """Create a token for a customer or an analyst and return (record, token). The token
    (192 random bits) is returned this once and never stored. With expires_at it stops working
    after that moment. A customer actor (the portal) may create tokens for its own customer
    only. Raises ValidationFailed (no owner or two, an expiry not in the future or more than
    ten years ahead), NotFound (no such customer), Forbidden (a customer asking for an analyst
    token)."""
    if ctx.actor.kind == "customer":
        if analyst is not None:
            raise Forbidden("analyst tokens are created by support analysts")
        customer_id = ctx.actor.customer_id
    else:
        ctx.actor.require_analyst()
    if (customer_id is None) == (analyst is None):
        raise ValidationFailed("a token belongs to exactly one customer or one analyst")
    if expires_at is not None:
        now = ctx.now()
        if expires_at <= now:
            raise ValidationFailed(f"the expiry {expires_at.isoformat()} is not in the future")
        if expires_at - now > MAX_LIFETIME:
            raise ValidationFailed("a token may live at most ten years; leave out the expiry")
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
        expires_at=expires_at,
    )
    ctx.session.add(rec)
    ctx.session.flush()
    audit.append(
        ctx,
        "token.created",
        "token",
        rec.id,
        customer_id=customer_id,
        details={
            "prefix": rec.prefix,
            "analyst": rec.analyst_name,
            "expires_at": expires_at.isoformat() if expires_at else None,
        },
    )
    return rec, token


def _tokens_query(ctx: ServiceContext) -> Select[ApiToken]:
    query = select(ApiToken)
    if ctx.actor.kind == "customer":
        query = query.where(ApiToken.customer_id == ctx.actor.customer_id)
    else:
        ctx.actor.require_analyst()
    return query


def list_tokens(ctx: ServiceContext) -> list[ApiToken]:
    """Every token (analysts), or a customer actor's own customer's tokens, oldest first."""
    return list(ctx.session.scalars(_tokens_query(ctx).order_by(ApiToken.id)))


def page_tokens(
    ctx: ServiceContext, *, page: int = 1, page_size: int = DEFAULT_PAGE_SIZE
) -> Page[ApiToken]:
    """A page of the tokens (analysts: every one; a customer actor: its customer's), newest
    first. Raises Forbidden, ValidationFailed for a page outside the limits."""
    return paginate(ctx.session, _tokens_query(ctx), page, page_size)


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


@dataclass(frozen=True)
class TokenUse:
    """What the stored token needs after a successful authentication: its last use moved to
    `at`, and (for a token stored the legacy way) its hash replaced by `new_hash`."""

    token_id: int
    at: datetime
    new_hash: str | None = None
    old_hash: str | None = None


@dataclass(frozen=True)
class Authentication:
    """The actor a token stands for, and the bookkeeping write it calls for (None when the
    recorded last use is less than a minute old: most requests write nothing)."""

    actor: Actor
    token_id: int
    use: TokenUse | None


def check_token(
    session: Session, settings: Settings, token: str | None, *, now: datetime
) -> Authentication:
    """Resolve a bearer token without writing anything. Raises Unauthorized: missing, unknown
    or revoked (the message does not say which), or expired (the message says so: only the
    token's holder can learn it)."""
    if not token:
        raise Unauthorized("send an API token: Authorization: Bearer <token>")
    current = token_hash(settings, token)
    rec = session.scalar(select(ApiToken).where(ApiToken.token_hash == current))
    legacy = None
    if rec is None:
        legacy = legacy_token_hash(settings, token)
        rec = session.scalar(select(ApiToken).where(ApiToken.token_hash == legacy))
    if rec is None or rec.revoked_at is not None:
        raise Unauthorized("the API token is not valid")
    if rec.expires_at is not None and now > rec.expires_at:
        raise Unauthorized(
            f"the API token expired at {rec.expires_at.isoformat()}; ask for a new one"
        )
    if rec.customer_id is not None:
        actor = Actor.customer(rec.customer_id, f"customer:{rec.customer_id}:token:{rec.id}")
    else:
        actor = Actor.analyst(rec.analyst_name or "analyst")
    use = None
    if legacy is not None:
        use = TokenUse(rec.id, now, new_hash=current, old_hash=legacy)
    elif rec.last_used_at is None or now - rec.last_used_at >= LAST_USE_RESOLUTION:
        use = TokenUse(rec.id, now)
    return Authentication(actor, rec.id, use)


def record_token_use(session: Session, use: TokenUse) -> None:
    """Write what check_token asked for: the last use (never moved back, so concurrent
    requests may write in any order) and the upgraded hash. Flushes; the caller commits (on
    its own short transaction: a reading request's session does not write)."""
    session.execute(
        update(ApiToken)
        .where(ApiToken.id == use.token_id)
        .where(or_(ApiToken.last_used_at.is_(None), ApiToken.last_used_at < use.at))
        .values(last_used_at=use.at)
    )
    if use.new_hash is not None:
        session.execute(
            update(ApiToken)
            .where(ApiToken.id == use.token_id, ApiToken.token_hash == use.old_hash)
            .values(token_hash=use.new_hash)
        )
    session.flush()


def authenticate(
    session: Session, settings: Settings, token: str | None, *, now: datetime | None = None
) -> Actor:
    """Return the actor a bearer token stands for, recording its use in session (flushed; the
    caller commits). Raises Unauthorized as check_token does."""
    result = check_token(session, settings, token, now=now or utcnow())
    if result.use is not None:
        record_token_use(session, result.use)
    return result.actor
