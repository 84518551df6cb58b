"""Portal users: customer administrators with argon2-hashed passwords."""

from __future__ import annotations

import functools
import hashlib
import re
import secrets
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session, selectinload

from licensesvc.accounts import get_customer
from licensesvc.domain.errors import (
    Conflict,
    InvalidState,
    NotFound,
    Unauthorized,
    ValidationFailed,
)
from licensesvc.models import PasswordResetToken, PortalSession, User
from licensesvc.platform import audit
from licensesvc.platform.context import Actor, ServiceContext
from licensesvc.platform.pagination import DEFAULT_PAGE_SIZE, Page, paginate

from . import tokens

#: argon2id at OWASP's recommended minimum (19 MiB, t=2, p=1); a stored hash made with
#: other parameters is rehashed at the next sign-in, so raising these upgrades every user
ARGON2_TIME_COST = 2
ARGON2_MEMORY_KIB = 19 * 1024
ARGON2_PARALLELISM = 1
_hasher = PasswordHasher(
    time_cost=ARGON2_TIME_COST, memory_cost=ARGON2_MEMORY_KIB, parallelism=ARGON2_PARALLELISM
)
#: how long a password-reset link works
RESET_TOKEN_LIFETIME = timedelta(hours=24)
_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MIN_PASSWORD_LENGTH = 12


@functools.cache
def _dummy_hash() -> str:
    """A hash to verify an unknown email against, so it is as slow as a wrong password. Made
    on first use (once per process), not at import: an argon2 hash costs 19 MiB and tens of
    milliseconds, which every CLI command and worker would otherwise pay at start."""
    return _hasher.hash("not-a-real-password")


def create_user(ctx: ServiceContext, customer_id: int, email: str, password: str) -> User:
    """Create a portal user for a customer. Raises NotFound, ValidationFailed (bad email, short
    password), Conflict (email taken)."""
    ctx.actor.require_analyst()
    get_customer(ctx, customer_id)
    email = email.strip().lower()
    if not _EMAIL_RE.match(email):
        raise ValidationFailed(f"{email!r} is not an email address")
    _check_password(password)
    if ctx.session.scalar(select(User.id).where(User.email == email)) is not None:
        raise Conflict(f"a user with email {email} already exists")
    user = User(
        customer_id=customer_id,
        email=email,
        password_hash=_hasher.hash(password),
        created_at=ctx.now(),
    )
    ctx.session.add(user)
    ctx.session.flush()
    audit.append(
        ctx, "user.created", "user", user.id, customer_id=customer_id, details={"email": email}
    )
    return user


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValidationFailed(f"the password needs at least {MIN_PASSWORD_LENGTH} characters")


def _verified_user(session: Session, email: str, password: str) -> User:
    user = session.scalar(select(User).where(User.email == email.strip().lower()))
    try:
        _hasher.verify(user.password_hash if user else _dummy_hash(), password)
    except (VerificationError, InvalidHashError):
        raise Unauthorized("wrong email or password") from None
    if user is None or user.disabled_at is not None:
        # a disabled user hears what a wrong password hears: no account enumeration
        raise Unauthorized("wrong email or password")
    return user


def actor_for(user: User) -> Actor:
    """The customer actor a portal user acts as."""
    return Actor.customer(user.customer_id, f"user:{user.email}")


def authenticate_user(session: Session, email: str, password: str) -> Actor:
    """Return the customer actor for a correct email and password. Raises Unauthorized."""
    return actor_for(_verified_user(session, email, password))


def sign_in_user(ctx: ServiceContext, email: str, password: str) -> User:
    """Check a portal sign-in and return the user. A hash made with other argon2 parameters
    than today's is replaced by a new one (the password is at hand only now). The sign-in is
    audited. Raises Unauthorized (the message does not say whether the email exists)."""
    user = _verified_user(ctx.session, email, password)
    rehashed = _hasher.check_needs_rehash(user.password_hash)
    if rehashed:
        user.password_hash = _hasher.hash(password)
    user.last_signed_in_at = ctx.now()
    ctx.session.flush()
    audit.append(
        ctx,
        "user.signed_in",
        "user",
        user.id,
        customer_id=user.customer_id,
        details={"email": user.email, "rehashed": rehashed},
    )
    return user


def get_user(session: Session, user_id: int) -> User | None:
    """The user with this id, or None."""
    return session.get(User, user_id)


def find_user(ctx: ServiceContext, ident: str) -> User:
    """The user named by an email or a numeric id (analysts only). Raises NotFound."""
    ctx.actor.require_analyst()
    ident = ident.strip()
    if ident.isdigit():
        user = ctx.session.get(User, int(ident))
    else:
        user = ctx.session.scalar(select(User).where(User.email == ident.lower()))
    if user is None:
        raise NotFound(f"user {ident} not found")
    return user


def page_users(
    ctx: ServiceContext,
    customer_id: int | None = None,
    *,
    page: int = 1,
    page_size: int = DEFAULT_PAGE_SIZE,
) -> Page[User]:
    """A page of the portal users (of one customer, if given), newest first, their customer
    loaded. Analysts only. Raises Forbidden, NotFound (unknown customer), ValidationFailed
    (a page outside the limits)."""
    ctx.actor.require_analyst()
    query = select(User).options(selectinload(User.customer))
    if customer_id is not None:
        get_customer(ctx, customer_id)
        query = query.where(User.customer_id == customer_id)
    return paginate(ctx.session, query, page, page_size)


def disable_user(ctx: ServiceContext, user_id: int, reason: str | None = None) -> User:
    """Disable a portal user: they can no longer sign in (the portal says "wrong email or
    password", as for anyone), their open portal sessions end now and the API tokens they made
    are revoked (each audited, in this transaction). Audited. Analysts only. Raises NotFound,
    InvalidState (already disabled)."""
    ctx.actor.require_analyst()
    user = ctx.session.get(User, user_id)
    if user is None:
        raise NotFound(f"user {user_id} not found")
    if user.disabled_at is not None:
        raise InvalidState(f"user {user_id} is already disabled")
    user.disabled_at = ctx.now()
    of_user = PortalSession.user_id == user.id
    ended = ctx.session.scalar(select(func.count()).select_from(PortalSession).where(of_user))
    ctx.session.execute(delete(PortalSession).where(of_user))
    revoked = tokens.revoke_tokens_made_by(
        ctx, user.id, f"the portal user who made it ({user.email}) was disabled"
    )
    ctx.session.flush()
    audit.append(
        ctx,
        "user.disabled",
        "user",
        user.id,
        customer_id=user.customer_id,
        reason=reason,
        details={
            "email": user.email,
            "sessions_ended": ended or 0,
            "tokens_revoked": [t.id for t in revoked],
        },
    )
    return user


def reset_token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start_password_reset(ctx: ServiceContext, user: User) -> tuple[PasswordResetToken, str]:
    """An analyst starts a password reset: returns (record, token). The token (256 random
    bits) is returned this once and stored only as its SHA-256; it works once, until
    RESET_TOKEN_LIFETIME has passed. Earlier unused tokens of the user stop working."""
    ctx.actor.require_analyst()
    now = ctx.now()
    for old in ctx.session.scalars(
        select(PasswordResetToken).where(
            PasswordResetToken.user_id == user.id, PasswordResetToken.used_at.is_(None)
        )
    ):
        old.used_at = now
    token = secrets.token_urlsafe(32)
    rec = PasswordResetToken(
        token_hash=reset_token_hash(token),
        user_id=user.id,
        created_at=now,
        expires_at=now + RESET_TOKEN_LIFETIME,
        created_by=ctx.actor.label,
    )
    ctx.session.add(rec)
    ctx.session.flush()
    audit.append(
        ctx,
        "user.password_reset_started",
        "user",
        user.id,
        customer_id=user.customer_id,
        details={"email": user.email, "expires_at": rec.expires_at},
    )
    return rec, token


def _usable_reset_token(session: Session, token: str, now: datetime) -> PasswordResetToken:
    rec = session.scalar(
        select(PasswordResetToken).where(PasswordResetToken.token_hash == reset_token_hash(token))
    )
    if rec is None or rec.used_at is not None or rec.expires_at <= now:
        raise NotFound("this password-reset link is not valid: it was used, replaced or expired")
    return rec


def check_reset_token(session: Session, token: str, now: datetime) -> User:
    """The user a usable reset token belongs to. Raises NotFound (unknown, used, expired)."""
    rec = _usable_reset_token(session, token, now)
    user = session.get(User, rec.user_id)
    if user is None:  # pragma: no cover - a foreign key keeps it
        raise NotFound("this password-reset link is not valid")
    return user


def finish_password_reset(ctx: ServiceContext, token: str, new_password: str) -> User:
    """Set a new password with a reset token, which is then used up. Raises NotFound (token
    unknown, used or expired), ValidationFailed (password too short)."""
    now = ctx.now()
    rec = _usable_reset_token(ctx.session, token, now)
    _check_password(new_password)
    user = check_reset_token(ctx.session, token, now)
    user.password_hash = _hasher.hash(new_password)
    rec.used_at = now
    ctx.session.flush()
    audit.append(
        ctx,
        "user.password_reset",
        "user",
        user.id,
        customer_id=user.customer_id,
        details={"email": user.email},
    )
    return user
