"""The API's unit of work for writing calls: the view's work and its answer committed once
(platform/transactions.py: `unit_of_work`, retried after a lost lock race) and, when the call
carries an `Idempotency-Key`, answered once (platform/idempotency.py): the first answer,
whatever it is (a grant, or a refusal with its case), is stored in the same transaction as the
work and given again, with `Idempotent-Replayed: true`, to a retry with the same key and the
same body.

A writing view never commits: it returns its answer (a refused key request is an answer like a
granted one, see key_request_views.refusal_response) and the decorator commits."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar, cast

from flask import current_app, make_response, request
from werkzeug.wrappers import Response

from licensesvc.platform import idempotency, transactions
from licensesvc.web import db_session

from .auth import caller_context

HEADER = "Idempotency-Key"
REPLAYED = "Idempotent-Replayed"
#: the response headers kept with a stored answer (the rest are added per response)
_KEPT_HEADERS = ("Content-Type", "Location")

F = TypeVar("F", bound=Callable[..., Any])

#: the OpenAPI parameter of the operations that take the header
HEADER_PARAMETER: dict[str, Any] = {
    "in": "header",
    "name": HEADER,
    "required": False,
    "schema": {"type": "string", "minLength": 1, "maxLength": idempotency.MAX_KEY_LENGTH},
    "description": (
        "Makes a retry safe: the same key with the same body within 24 hours gets the first "
        "answer again (same status and body, header `Idempotent-Replayed: true`) and changes "
        "nothing; the same key with another body answers 422 `idempotency_key_reused`; while "
        "the first request is still being handled, 409 `idempotency_in_progress`. Keys are "
        "per caller (token owner)."
    ),
    "example": "8e03978e-40d5-43e8-bc93-6894a57f9324",
}


def unit_of_work(*, idempotent: bool = False) -> Callable[[F], F]:
    """Decorate a writing view (outermost, above flask-smorest's decorators): its work and its
    answer are committed once after it returns, run again after a deadlock, serialization
    failure or lock timeout, and with `idempotent` an `Idempotency-Key` header makes it answer
    once."""

    def decorate(view: F) -> F:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            raw = request.headers.get(HEADER) if idempotent else None
            if raw is None:
                return transactions.unit_of_work(
                    db_session(), lambda: make_response(view(*args, **kwargs))
                )
            key = idempotency.check_key(raw.strip())
            fingerprint = idempotency.fingerprint(request.method, request.path, request.get_data())
            return transactions.unit_of_work(
                db_session(), lambda: _answer_once(view, args, kwargs, key, fingerprint)
            )

        return cast(F, wrapper)

    return decorate


def _answer_once(
    view: Callable[..., Any], args: Any, kwargs: Any, key: str, fingerprint: str
) -> Response:
    ctx = caller_context()
    session = db_session()
    claimed = idempotency.claim(
        session,
        caller=idempotency.caller_of(ctx.actor),
        key=key,
        fingerprint=fingerprint,
        now=ctx.now(),
    )
    if isinstance(claimed, idempotency.Replay):
        replay = current_app.response_class(claimed.body, status=claimed.status)
        for name, value in claimed.headers.items():
            replay.headers[name] = value
        replay.headers[REPLAYED] = "true"
        return replay  # the unit of work commits the purge of expired keys
    response: Response = make_response(view(*args, **kwargs))
    idempotency.finish(
        session,
        claimed,
        status=response.status_code,
        body=response.get_data(as_text=True),
        headers={
            name: response.headers[name] for name in _KEPT_HEADERS if name in response.headers
        },
    )
    return response  # committed with the work by the unit of work
