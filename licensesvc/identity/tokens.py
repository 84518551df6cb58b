"""API tokens: random, shown once, stored only as a keyed hash (HMAC-SHA256 under a key derived
from the server's secret key for this one purpose), with a type prefix that says whose token it
is, an optional expiry, and the time of last use (to the minute)."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from sqlalchemy import Select, or_, select, update
from sqlalchemy.orm import Session

from licensesvc.accounts import get_customer
from licensesvc.config import Settings
from licensesvc.domain.errors import (
    Forbidden,
    InvalidState,
    NotFound,
    Unauthorized,
    ValidationFailed,
)
from licensesvc.domain.text import text_problem
from licensesvc.models import TOKEN_NAME_MAX as TOKEN_NAME_MAX
from licensesvc.models import ApiToken, User
from licensesvc.platform import audit, changefeed
from licensesvc.platform.context import Actor, ServiceContext, utcnow
from licensesvc.platform.freshness import FreshnessCache
from licensesvc.platform.pagination import DEFAULT_PAGE_SIZE, Page, paginate

CUSTOMER_PREFIX = "lsc_cust_"
ANALYST_PREFIX = "lsc_anl_"
#: a use within this long of the recorded last use is not written again (reads stay reads)
LAST_USE_RESOLUTION = timedelta(minutes=1)
#: the longest lifetime a token may be given
MAX_LIFETIME = timedelta(days=3650)
#: the entity type of the tokens' audit records: the change feed's topic of the kept checks
TOKEN_TOPIC = "token"


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
    made_by_user_id: int | None = None,
    name: str | None = None,
) -> tuple[ApiToken, str]:
    """Create a token for a customer or an analyst and return (record, token). The token
    (192 random bits) is returned this once and never stored. With expires_at it stops working
    after that moment. A customer actor (the portal) may create tokens for its own customer
    only. Raises ValidationFailed (no owner or two, an expiry not in the future or more than
    ten years ahead), NotFound (no such customer), Forbidden (a customer asking for an analyst
    token, a portal user of another customer). The token records its maker: the actor's label,
    and made_by_user_id (the portal user making it; disabling that user revokes it). `name`
    tells it apart in lists (one line, at most TOKEN_NAME_MAX characters; ValidationFailed
    otherwise)."""
    if name is not None:
        problem = _name_problem(name)
        if problem is not None:
            raise ValidationFailed(f"name {problem}")
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
    if made_by_user_id is not None:
        maker = ctx.session.get(User, made_by_user_id)
        if maker is None or maker.customer_id != customer_id:
            raise Forbidden("a portal user makes tokens for its own customer only")
    token = prefix + secrets.token_urlsafe(24)
    rec = ApiToken(
        token_hash=token_hash(ctx.settings, token),
        prefix=token[: len(prefix) + 4],
        customer_id=customer_id,
        analyst_name=analyst.strip() if analyst else None,
        created_at=ctx.now(),
        expires_at=expires_at,
        created_by=ctx.actor.label,
        created_by_user_id=made_by_user_id,
        name=name,
    )
    ctx.session.add(rec)
    ctx.session.flush()
    audit.append(
        ctx,
        "token.created",
        TOKEN_TOPIC,
        rec.id,
        customer_id=customer_id,
        details={
            "prefix": rec.prefix,
            "name": rec.name,
            "analyst": rec.analyst_name,
            "expires_at": expires_at.isoformat() if expires_at else None,
        },
    )
    return rec, token


def _name_problem(name: str) -> str | None:
    if not name.strip():
        return "must not be empty"
    if len(name) > TOKEN_NAME_MAX:
        return f"must be at most {TOKEN_NAME_MAX} characters"
    return text_problem(name)


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
        TOKEN_TOPIC,
        rec.id,
        customer_id=rec.customer_id,
        details={"prefix": rec.prefix},
    )
    changefeed.changed_here(ctx.session, TOKEN_TOPIC)  # this process's kept checks: at once
    return rec


def revoke_tokens_made_by(ctx: ServiceContext, user_id: int, reason: str) -> list[ApiToken]:
    """Revoke every token the portal user user_id made that is not revoked yet (their user is
    being disabled), each audited as `token.revoked` with reason, in ctx's transaction; the
    audit records move the trail's head, so a kept token check is dropped on every server
    (check_token_cached). Returns the tokens revoked. Analysts only: raises Forbidden."""
    ctx.actor.require_analyst()
    now = ctx.now()
    live = list(
        ctx.session.scalars(
            select(ApiToken)
            .where(ApiToken.created_by_user_id == user_id, ApiToken.revoked_at.is_(None))
            .order_by(ApiToken.id)
        )
    )
    for rec in live:
        rec.revoked_at = now
        audit.append(
            ctx,
            "token.revoked",
            TOKEN_TOPIC,
            rec.id,
            customer_id=rec.customer_id,
            reason=reason,
            details={"prefix": rec.prefix, "made_by_user": user_id},
        )
    ctx.session.flush()
    if live:
        changefeed.changed_here(ctx.session, TOKEN_TOPIC)
    return live


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
    #: the stored token's expiry and last use (after the use asked for here)
    expires_at: datetime | None = None
    last_used_at: datetime | None = None


def _refuse_expired(expires_at: datetime | None, now: datetime) -> None:
    if expires_at is not None and now > expires_at:
        raise Unauthorized(f"the API token expired at {expires_at.isoformat()}; ask for a new one")


def _use_due(token_id: int, last_used_at: datetime | None, now: datetime) -> TokenUse | None:
    if last_used_at is None or now - last_used_at >= LAST_USE_RESOLUTION:
        return TokenUse(token_id, now)
    return None


#: this process's successful token checks by (settings, the token's hash): see check_token_cached
_CHECKED: FreshnessCache[Authentication] = FreshnessCache(4096)


def check_token_cached(
    session: Session, settings: Settings, token: str | None, *, now: datetime
) -> Authentication:
    """check_token, with what it read of a valid token kept in this process while no token
    changes (platform/changefeed.py, `topic_stamp`): on a session that has not begun its
    transaction (a request's, at preprocess time), the change feed's stamp of the tokens'
    audit records, so that a kept check costs no statement, on a POST too, and other changes
    of state (a key request) do not drop it; else (a feed lost, a session bound to a
    transaction held around it) the audit head read on the session. Creating or revoking a
    token appends an audit record (entity type TOKEN_TOPIC): a token revoked through this
    process is refused by it at once (revoke_token tells the feed), through any other within
    the feed's bound (changefeed.MAX_AGE, under a second). Expiry and the last use are
    checked against `now` on every call; the bookkeeping write is asked for as check_token
    would (a kept check counts the use it asked for as written, so it is asked for once a
    minute per token and process). Refusals are never kept."""
    if not token:
        return check_token(session, settings, token, now=now)
    key = (settings, token_hash(settings, token))
    # first: what is kept is at least as new as its stamp
    head = changefeed.topic_stamp(session, TOKEN_TOPIC)
    kept = _CHECKED.get(key, head)
    if kept is None:
        checked = check_token(session, settings, token, now=now)  # raises: nothing kept
        _CHECKED.put(key, head, checked)
        return checked
    _refuse_expired(kept.expires_at, now)
    use = _use_due(kept.token_id, kept.last_used_at, now)
    if use is not None:
        # counted as written from now on, so the next requests of the minute write nothing
        _CHECKED.put(key, head, replace(kept, last_used_at=now))
    return Authentication(kept.actor, kept.token_id, use, kept.expires_at, kept.last_used_at)


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
    _refuse_expired(rec.expires_at, now)
    if rec.customer_id is not None:
        actor = Actor.customer(rec.customer_id, f"customer:{rec.customer_id}:token:{rec.id}")
    else:
        actor = Actor.analyst(rec.analyst_name or "analyst")
    use = (
        TokenUse(rec.id, now, new_hash=current, old_hash=legacy)
        if legacy is not None
        else _use_due(rec.id, rec.last_used_at, now)
    )
    last_used = now if use is not None else rec.last_used_at
    return Authentication(actor, rec.id, use, rec.expires_at, last_used)


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
