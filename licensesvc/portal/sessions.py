"""Server-side portal sessions. The Flask session cookie (signed, HttpOnly, SameSite=Lax,
Secure unless configured off for local HTTP) carries a random session id; the
`portal_sessions` table holds only its SHA-256, so signing out (deleting the row) ends the
session wherever the cookie was copied. Idle and absolute timeouts are checked on every
request against the runtime's clock."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app, g, session

from licensesvc import identity
from licensesvc.platform.context import Actor
from licensesvc.web import runtime_of

SESSION_KEY = "sid"
#: touch last_seen_at at most this often (a write per page view would serialize SQLite)
TOUCH_EVERY = timedelta(seconds=60)


@dataclass(frozen=True)
class SignedIn:
    user_id: int
    email: str
    customer_id: int

    @property
    def actor(self) -> Actor:
        return Actor.customer(self.customer_id, f"user:{self.email}")


def _hash(sid: str) -> str:
    return hashlib.sha256(sid.encode()).hexdigest()


def _now() -> datetime:
    return runtime_of().clock().replace(microsecond=0)


def start(user_id: int) -> None:
    """Begin a session for the user user_id: a fresh id (the old cookie's contents, CSRF
    token included, are dropped, so a fixated id is worthless), its hash stored server-side."""
    session.clear()
    sid = secrets.token_urlsafe(32)
    now = _now()
    with runtime_of().sessions() as db:
        identity.start_portal_session(db, _hash(sid), user_id, now)
        db.commit()
    session[SESSION_KEY] = sid
    session.permanent = False


def end() -> None:
    """Sign out: delete the server-side session and clear the cookie."""
    sid = session.get(SESSION_KEY)
    if sid:
        with runtime_of().sessions() as db:
            identity.end_portal_session(db, _hash(sid))
            db.commit()
    session.clear()


def end_all_for(user_id: int) -> None:
    """End every session of a user (after a password reset)."""
    with runtime_of().sessions() as db:
        identity.end_portal_sessions_of(db, user_id)
        db.commit()


def load() -> SignedIn | None:
    """The signed-in user of this request, or None. An expired session (idle or absolute
    timeout) is deleted and g.session_expired set, so the sign-in page can say why."""
    sid = session.get(SESSION_KEY)
    if not sid:
        return None
    cfg = current_app.config
    now = _now()
    digest = _hash(sid)
    # read on a reading session (on SQLite it never waits for the write lock), closed before
    # a writing one is opened, only to expire the session or to note activity
    with runtime_of().session_for(read_only=True) as db:
        row = identity.find_portal_session(db, digest)
    if row is None or row.user_disabled:
        session.clear()
        return None
    idle = now - row.last_seen_at > timedelta(minutes=cfg["PORTAL_IDLE_MINUTES"])
    too_old = now - row.created_at > timedelta(hours=cfg["PORTAL_ABSOLUTE_HOURS"])
    if idle or too_old:
        with runtime_of().sessions() as writer:
            identity.end_portal_session(writer, digest)
            writer.commit()
        session.clear()
        g.session_expired = True
        return None
    if now - row.last_seen_at >= TOUCH_EVERY:
        with runtime_of().sessions() as writer:
            identity.touch_portal_session(writer, digest, now)
            writer.commit()
    return SignedIn(row.user_id, row.email, row.customer_id)
