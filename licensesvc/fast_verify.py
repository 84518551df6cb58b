"""POST /v1/keys/verify in front of Flask: a WSGI layer that answers a plainly acceptable
verify request itself and hands everything else to the Flask app behind it.

Verify of a key the server issued costs little more than one Ed25519 signature (the status
comes from the change feed's snapshot: licensesvc/issuance/issued_keys.py `verify_online`),
so Flask's request cycle (request and response objects, context locals, URL matching, the
hooks' lookups) was most of its time. This layer does exactly what the route does for such
a request, with the same parts:

* the body: a JSON object under `Content-Type: application/json`, parsed by
  `platform.inputs.loads_json` and checked against `VerifyBody`'s own field rules (the
  required members, each member's length and control characters, read from the schema);
* the route's rate limit (`ratelimit.hit_route_limit`: the same storage and counters);
* the request's database deadline and a reading session (opened only if verify reads);
* `issuance.verify_online`, and the answer as Flask's `jsonify` writes it;
* the request id, the security headers, the two metric samples and the access log line
  (`observability.record_request`) as every route gives them.

Anything else goes to Flask, which answers as it always did: another content type, a body
that is not a plain acceptable object (its 400 and 422 problem+json answers), an
`Authorization` header, a body without a length or larger than a verify can be, the first
request of a process (Flask's first-request work runs), a debug app, and a verify that
raised (the database unreachable, no signing key: Flask's error handlers answer). The
rate limit is counted once either way (`ratelimit.COUNTED`: a 429 is answered by Flask).

`tests/licensesvc/api/test_api_fast_verify.py` compares the two paths byte for byte."""

from __future__ import annotations

import io
import json
import os
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from flask import Flask
from flask.json.provider import DefaultJSONProvider
from marshmallow import fields, validate
from sqlalchemy.orm import Session

from licensesvc import issuance, ratelimit
from licensesvc.api.auth import PUBLIC
from licensesvc.api.public_views import VERIFY_ENDPOINT
from licensesvc.api.schemas import VerifyBody, _NoControl
from licensesvc.db import reset_request_deadline, set_request_deadline
from licensesvc.observability import REQUEST_ID_HEADER, record_request, request_id_from
from licensesvc.platform import inputs
from licensesvc.runtime import Runtime
from licensesvc.security_headers import api_answer_headers
from licensesvc.web import queued_seconds, runtime_of

PATH = "/v1/keys/verify"
_REQUEST_ID_KEY = "HTTP_" + REQUEST_ID_HEADER.upper().replace("-", "_")


class _Member:
    """One member of VerifyBody as its field checks it: a string, its length within
    bounds, and (for one-line text) no control character."""

    def __init__(self, name: str, field: fields.Field[Any]) -> None:
        if type(field) is not fields.String or field.allow_none:
            raise TypeError(f"VerifyBody.{name}: only plain string fields are checked here")
        self.name = name
        self.required = field.required
        self.shortest, self.longest, self.multiline = 0, None, None
        for rule in field.validators:
            if isinstance(rule, validate.Length) and rule.equal is None:
                self.shortest, self.longest = rule.min or 0, rule.max
            elif isinstance(rule, _NoControl):
                self.multiline = rule.multiline
            else:  # a rule this layer does not know: it must learn it first
                raise TypeError(f"VerifyBody.{name}: unknown rule {rule!r}")

    def accepts(self, value: object) -> bool:
        if type(value) is not str or len(value) < self.shortest:
            return False
        if self.longest is not None and len(value) > self.longest:
            return False
        return self.multiline is None or (
            inputs.text_problem(value, multiline=self.multiline) is None
        )


_MEMBERS = {name: _Member(name, field) for name, field in VerifyBody().fields.items()}
_REQUIRED = frozenset(name for name, member in _MEMBERS.items() if member.required)
#: the longest body a verify can be: every member at its longest, each character escaped
#: as \\uXXXX (6 bytes), plus the syntax; a longer one goes to Flask
MAX_BODY = sum(6 * (m.longest or 0) + len(m.name) + 8 for m in _MEMBERS.values()) + 16


def plain_verify_body(data: object) -> dict[str, str] | None:
    """data when VerifyBody loads it unchanged without complaint, else None."""
    if type(data) is not dict or not data.keys() >= _REQUIRED:
        return None
    for name, value in data.items():
        member = _MEMBERS.get(name)
        if member is None or not member.accepts(value):
            return None
    return data


class FastVerify:
    """The WSGI layer (module doc); `inner` is the Flask app's own WSGI callable."""

    def __init__(self, app: Flask, inner: Callable[..., Iterable[bytes]]) -> None:
        self.app = app
        self.inner = inner
        self._pid = 0
        self._headers = api_answer_headers()
        self._local = threading.local()
        self._json: tuple[object, json.JSONEncoder] | None = None

    def _session(self, runtime: Runtime) -> Session:
        """This thread's reading session on runtime: made on the thread's first verify and
        kept while it has nothing in it (a session that began no transaction is as new)."""
        held: tuple[Runtime, Session] | None = getattr(self._local, "held", None)
        if held is None or held[0] is not runtime:
            held = (runtime, runtime.session_for(read_only=True))
            self._local.held = held
        return held[1]

    def _encoder(self, app: Flask) -> json.JSONEncoder:
        """What `jsonify` writes with app's JSON provider (not debug: compact), made once."""
        provider: Any = app.json
        if self._json is None or self._json[0] is not provider:
            encoder = json.JSONEncoder(
                default=provider.default,
                ensure_ascii=provider.ensure_ascii,
                sort_keys=provider.sort_keys,
                separators=(",", ":"),
            )
            self._json = (provider, encoder)
        return self._json[1]

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        if environ.get("PATH_INFO") == PATH and environ.get("REQUEST_METHOD") == "POST":
            answered = self._answer(environ, start_response)
            if answered is not None:
                return answered
        return self.inner(environ, start_response)

    def _answer(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> list[bytes] | None:
        started = time.perf_counter()
        if self._pid != os.getpid():
            # a process's first request goes through Flask (its first-request hooks start the
            # log integrator)
            self._pid = os.getpid()
            return None
        app = self.app
        if app.debug or type(app.json) is not DefaultJSONProvider:
            return None
        if "HTTP_AUTHORIZATION" in environ or "HTTP_TRANSFER_ENCODING" in environ:
            return None
        if environ.get("CONTENT_TYPE", "").partition(";")[0].strip().lower() != (
            "application/json"
        ):
            return None
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return None
        if not 0 < length <= MAX_BODY:
            return None
        raw = environ["wsgi.input"].read(length)
        environ["wsgi.input"] = io.BytesIO(raw)  # Flask reads it again if it answers
        if len(raw) != length:
            return None
        try:
            body = plain_verify_body(inputs.loads_json(raw))
        except Exception:  # noqa: BLE001 - Flask's route says what is wrong
            return None
        if body is None:
            return None
        if ratelimit.hit_route_limit(app, VERIFY_ENDPOINT, environ) is not None:
            return None  # Flask answers the 429 (the request is counted once)
        runtime = runtime_of(app)
        deadline = set_request_deadline(runtime.deadlines.request_timeout - queued_seconds())
        session = self._session(runtime)
        try:
            answer = issuance.verify_online(
                runtime.context(session, PUBLIC),
                body["key"],
                nonce=body.get("nonce"),
                product=body.get("product"),
                host=body.get("host"),
            )
        except Exception:  # noqa: BLE001 - Flask's error handlers answer it
            return None
        finally:
            # a verify answered from the snapshot began no transaction and loaded nothing:
            # its session is as new, and this thread's next verify uses it again
            if session.in_transaction() or session.identity_map:
                try:
                    session.close()
                except Exception:  # noqa: BLE001 - a dead connection: the pool replaces it
                    app.logger.warning("closing the request's database session failed")
            reset_request_deadline(deadline)
        data = (self._encoder(app).encode(answer) + "\n").encode()
        request_id = request_id_from(environ.get(_REQUEST_ID_KEY))
        start_response(
            "200 OK",
            [
                ("Content-Type", "application/json"),
                ("Content-Length", str(len(data))),
                *self._headers,
                (REQUEST_ID_HEADER, request_id),
            ],
        )
        record_request(
            VERIFY_ENDPOINT,
            "POST",
            PATH,
            200,
            time.perf_counter() - started,
            environ.get("REMOTE_ADDR"),
            request_id,
        )
        return [data]


def install_fast_verify(app: Flask) -> None:
    """Put FastVerify in front of app's WSGI callable (before any middleware that rewrites
    the environ, such as ProxyFix, is wrapped around it)."""
    app.wsgi_app = FastVerify(app, app.wsgi_app)  # type: ignore[method-assign]
