"""Whether this process can sign: checked once when create_app builds it, and by /readyz."""

from __future__ import annotations

from flask import Flask
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from licensesvc import issuance

from .config import Settings
from .web import runtime_of

NO_SCHEMA = "cannot check: the database has no licensesvc schema (`licensesvc db upgrade`)"


def signing_key_problem(session: Session, settings: Settings) -> str | None:
    """Why the active signing key cannot sign (`cannot decrypt: wrong
    LICENSESVC_SIGNING_KEY_PASSPHRASE?`), or None when it can or there is none yet. The
    decryption is paid once per process; later calls cost one query."""
    try:
        return issuance.active_key_problem(session, settings)
    except SQLAlchemyError:
        session.rollback()
        return NO_SCHEMA


def check_signing_key(app: Flask) -> None:
    """Decrypt the active signing key now, once per process: the first key request does not
    pay the 600,000 PBKDF2 rounds, and a wrong LICENSESVC_SIGNING_KEY_PASSPHRASE is logged at
    start-up (one line; /readyz then answers 503 and says why, key requests answer 503
    `service_unavailable`, until the passphrase is fixed and the server restarted). A database
    that is unreachable or not migrated yet is left for /readyz to report."""
    runtime = runtime_of(app)
    try:
        with runtime.session_for(read_only=True) as session:
            problem = issuance.active_key_problem(session, runtime.settings)
    except SQLAlchemyError:
        return
    if problem is not None:
        app.logger.error("signing key: %s", problem)
