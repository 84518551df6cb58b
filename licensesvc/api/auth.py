"""Who is calling: `Authorization: Bearer <token>` resolved by the tokens service, once per
request, before the body is parsed (so an anonymous caller learns nothing about the schema)."""

from __future__ import annotations

from flask import current_app, g, request
from sqlalchemy.exc import SQLAlchemyError

from licensesvc import identity
from licensesvc.db import no_wait_options
from licensesvc.platform.context import Actor, ServiceContext
from licensesvc.web import close_db_session, db_session, runtime_of, service_context

#: the actor of the public endpoints (verify, signing keys, revocations): not an analyst, not a
#: customer; services that check the actor refuse it
PUBLIC = Actor("public", "anonymous")


def bearer_token() -> str | None:
    """The token of an `Authorization: Bearer <token>` header, or None."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer":
        return None
    return token.strip() or None


def require_token() -> None:
    """before_request of the authenticated blueprints. Raises Unauthorized (401).

    A use worth recording (the first in a minute, or a token stored the old way: most requests
    have none) is committed in a short transaction of its own, after the request's session
    so far is closed (so a reading request stays a read, and on SQLite a writing one does not
    wait for its own write lock); the view then opens a fresh session. That transaction does
    not wait for locks (`no_wait_options`): when another session holds the token's row, or
    SQLite's write lock, the use is left unrecorded rather than the request kept waiting."""
    rt = runtime_of()
    result = identity.check_token_cached(db_session(), rt.settings, bearer_token(), now=rt.clock())
    if result.use is not None:
        close_db_session()
        try:
            with rt.sessions() as session:
                session.connection(execution_options=no_wait_options())
                identity.record_token_use(session, result.use)
                session.commit()
        except SQLAlchemyError:  # bookkeeping must not fail the request it describes
            current_app.logger.warning("could not record the use of token %s", result.token_id)
    g.actor = result.actor


def caller_context() -> ServiceContext:
    """The service context of the authenticated caller."""
    actor: Actor = g.actor
    return service_context(actor)


def public_context() -> ServiceContext:
    return service_context(PUBLIC)
