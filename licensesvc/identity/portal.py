"""The portal's server-side records of a browser: sign-in sessions (stored by the SHA-256 of
the cookie's random id, so a copy of the table lets nobody in) and the single-use tokens of
rendered request forms (a repeated submission finds the first one's case). Both are
bookkeeping, not state of the business: they carry no audit record of their own (the sign-in
and the case they go with are audited). The portal's web layer (licensesvc/portal/sessions.py)
owns the cookie and the clock; these functions own the rows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from licensesvc.models import PortalFormToken, PortalSession, User


@dataclass(frozen=True)
class PortalSessionState:
    """A stored portal session and the user it signs in."""

    user_id: int
    email: str
    customer_id: int
    user_disabled: bool
    created_at: datetime
    last_seen_at: datetime


@dataclass(frozen=True)
class FormTokenUse:
    """A request form's token already sent: by whom, and the case it made (None while the
    first submission has not recorded one)."""

    user_id: int
    case_number: str | None


def start_portal_session(db: Session, id_hash: str, user_id: int, now: datetime) -> None:
    """Store a new session of user_id under id_hash (not committed)."""
    db.add(PortalSession(id_hash=id_hash, user_id=user_id, created_at=now, last_seen_at=now))


def find_portal_session(db: Session, id_hash: str) -> PortalSessionState | None:
    """The session stored under id_hash with its user, or None (no such session, or its user
    is gone)."""
    row = db.scalar(select(PortalSession).where(PortalSession.id_hash == id_hash))
    if row is None:
        return None
    user = db.get(User, row.user_id)
    if user is None:
        return None
    return PortalSessionState(
        user_id=user.id,
        email=user.email,
        customer_id=user.customer_id,
        user_disabled=user.disabled_at is not None,
        created_at=row.created_at,
        last_seen_at=row.last_seen_at,
    )


def touch_portal_session(db: Session, id_hash: str, now: datetime) -> None:
    """Note activity on the session stored under id_hash (not committed)."""
    db.execute(
        update(PortalSession).where(PortalSession.id_hash == id_hash).values(last_seen_at=now)
    )


def end_portal_session(db: Session, id_hash: str) -> None:
    """Delete the session stored under id_hash (not committed)."""
    db.execute(delete(PortalSession).where(PortalSession.id_hash == id_hash))


def end_portal_sessions_of(db: Session, user_id: int) -> None:
    """Delete every session of user_id (not committed)."""
    db.execute(delete(PortalSession).where(PortalSession.user_id == user_id))


def find_form_token(db: Session, token_hash: str) -> FormTokenUse | None:
    """The use of the request form whose token hashes to token_hash, or None if it was never
    sent."""
    row = db.scalar(select(PortalFormToken).where(PortalFormToken.token_hash == token_hash))
    return None if row is None else FormTokenUse(row.user_id, row.case_number)


def claim_form_token(db: Session, token_hash: str, user_id: int, now: datetime) -> bool:
    """Record that user_id sends the form whose token hashes to token_hash, in the caller's
    transaction. False when another submission of the same form recorded it first (the
    transaction is then rolled back: PostgreSQL waited for the other one to commit)."""
    db.add(PortalFormToken(token_hash=token_hash, user_id=user_id, created_at=now))
    try:
        db.flush()
    except IntegrityError:
        db.rollback()
        return False
    return True


def record_form_case(db: Session, token_hash: str, case_number: str) -> None:
    """Note the case a claimed form made, in the same transaction as the case."""
    db.execute(
        update(PortalFormToken)
        .where(PortalFormToken.token_hash == token_hash)
        .values(case_number=case_number)
    )
