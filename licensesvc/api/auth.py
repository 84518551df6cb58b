"""Who is calling: `Authorization: Bearer <token>` resolved by the tokens service, once per
request, before the body is parsed (so an anonymous caller learns nothing about the schema)."""

from __future__ import annotations

from flask import g, request

from licensesvc.services import tokens
from licensesvc.services.context import Actor, ServiceContext
from licensesvc.web import db_session, runtime_of, service_context

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
    """before_request of the authenticated blueprints. Raises Unauthorized (401)."""
    g.actor = tokens.authenticate(db_session(), runtime_of().settings, bearer_token())


def caller_context() -> ServiceContext:
    """The service context of the authenticated caller."""
    actor: Actor = g.actor
    return service_context(actor)


def public_context() -> ServiceContext:
    return service_context(PUBLIC)
