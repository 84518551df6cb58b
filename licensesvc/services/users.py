"""Portal users: customer administrators with argon2-hashed passwords."""

from __future__ import annotations

import re

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from licensesvc.models import User

from . import audit
from .context import Actor, ServiceContext
from .customers import get_customer
from .errors import Conflict, Unauthorized, ValidationFailed

_hasher = PasswordHasher()
_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MIN_PASSWORD_LENGTH = 12
# verifying against this keeps an unknown email as slow as a wrong password
_DUMMY_HASH = _hasher.hash("not-a-real-password")


def create_user(ctx: ServiceContext, customer_id: int, email: str, password: str) -> User:
    """Create a portal user for a customer. Raises NotFound, ValidationFailed (bad email, short
    password), Conflict (email taken)."""
    ctx.actor.require_analyst()
    get_customer(ctx, customer_id)
    email = email.strip().lower()
    if not _EMAIL_RE.match(email):
        raise ValidationFailed(f"{email!r} is not an email address")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValidationFailed(f"the password needs at least {MIN_PASSWORD_LENGTH} characters")
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


def authenticate_user(session: Session, email: str, password: str) -> Actor:
    """Return the customer actor for a correct email and password. Raises Unauthorized."""
    user = session.scalar(select(User).where(User.email == email.strip().lower()))
    try:
        _hasher.verify(user.password_hash if user else _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        raise Unauthorized("wrong email or password") from None
    if user is None:
        raise Unauthorized("wrong email or password")
    return Actor.customer(user.customer_id, f"user:{user.email}")
