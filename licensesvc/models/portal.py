"""Tables of the customer portal: server-side sign-in sessions, one-time password-reset
tokens and the single-use tokens of request forms. Secrets are stored only as SHA-256 hashes;
the browser (or the reset link) carries the secret itself."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, intpk


class PortalSession(Base):
    """A signed-in browser. The Flask cookie carries the random session id; only its hash is
    here, so a copy of the table lets nobody in. Signing out deletes the row."""

    __tablename__ = "portal_sessions"

    id: Mapped[intpk]
    id_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]


class PasswordResetToken(Base):
    """A one-time link an analyst prints (`licensesvc user reset-password`) and sends."""

    __tablename__ = "password_reset_tokens"

    id: Mapped[intpk]
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    created_by: Mapped[str] = mapped_column(String(200))


class PortalFormToken(Base):
    """The hidden single-use token of one rendered request form: the first submission records
    its case here, a repeated submission (double click, reload) finds it and issues nothing."""

    __tablename__ = "portal_form_tokens"

    id: Mapped[intpk]
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    case_number: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[datetime]
