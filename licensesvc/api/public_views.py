"""What installers and products reach without a token: online verification, the public
signing keys, and the signed revocation list."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Flask, current_app, jsonify, request
from flask.views import MethodView
from marshmallow import ValidationError
from werkzeug.exceptions import NotAcceptable
from werkzeug.wrappers import Response

from licensesvc import issuance
from licensesvc.platform import inputs
from licensesvc.presentation import SigningKeySchema
from licensesvc.readmodels import SigningKeyView
from licensesvc.web import db_session, reads_only, runtime_of

from .auth import PUBLIC, public_context
from .blueprint import ApiBlueprint
from .schemas import CascadeDeltaQuery, RevocationListSchema, VerifyAnswerSchema, VerifyBody

blp = ApiBlueprint(
    "public",
    __name__,
    url_prefix="/v1",
    description="No token needed: verification, public keys, revocations.",
)
_NO_TOKEN: list[dict[str, list[str]]] = []


@blp.route("/keys/verify")
class Verify(MethodView):
    @blp.doc(security=_NO_TOKEN)
    @blp.arguments(VerifyBody)
    @blp.response(200, VerifyAnswerSchema)
    def post(self, body: dict[str, Any]) -> Response:
        """Verify a key online; the answer is signed by the server

        200 whatever the key: `valid` says whether it may be used, `code` why not (`malformed`,
        `bad_signature`, `revoked`, `superseded`, ...), `status` what the server's record says.
        Every member but `signature` is signed (see docs/api.md).
        """
        reads_only()  # verify writes nothing: on SQLite, no write lock for a POST
        answer = issuance.verify_online(
            public_context(),
            body["key"],
            nonce=body.get("nonce"),
            product=body.get("product"),
            host=body.get("host"),
        )
        # sent as signed, member for member: a schema dump that dropped or reshaped a member
        # would break the signature; VerifyAnswerSchema documents it (and a test keeps the two
        # in step)
        return jsonify(answer)


#: the endpoint name flask-smorest gives the view above
VERIFY_ENDPOINT = "public.Verify"
_VERIFY_BODY = VerifyBody()
_VERIFY_MEMBERS = frozenset(_VERIFY_BODY.fields)


def _plain_verify_body() -> dict[str, Any] | None:
    """The body of a verify request that is plainly acceptable (a JSON object that
    VerifyBody loads without complaint, under a JSON content type), or None: for anything
    else the full view parses it again and answers exactly as for any other route."""
    if not request.is_json:
        return None
    try:
        data = inputs.loads_json(request.get_data(cache=True))
    except Exception:  # noqa: BLE001 - the full view says what is wrong
        return None
    if not isinstance(data, dict) or not data.keys() <= _VERIFY_MEMBERS:
        return None
    try:
        body: dict[str, Any] = _VERIFY_BODY.load(data)
    except ValidationError:
        return None
    return body


def lean_verify(full: Callable[..., Any]) -> Callable[..., Any]:
    """POST /v1/keys/verify without flask-smorest's and webargs' request cycle (their
    wrappers cost more than verify's own work when the answer comes from the snapshot): a
    plainly acceptable body goes straight to `issuance.verify_online`, anything else to the
    full view `full`, which answers it as it always did. The application's hooks (request id,
    deadline, rate limit, access log, metrics, security headers) run as for every route;
    the route, its OpenAPI description and the contract tests are the full view's."""

    def verify(*args: Any, **kwargs: Any) -> Any:
        body = _plain_verify_body()
        if body is None:
            return full(*args, **kwargs)
        reads_only()
        return jsonify(
            issuance.verify_online(
                public_context(),
                body["key"],
                nonce=body.get("nonce"),
                product=body.get("product"),
                host=body.get("host"),
            )
        )

    return verify


def install_lean_verify(app: Flask) -> None:
    """Serve POST /v1/keys/verify through `lean_verify` (after the blueprint is registered)."""
    app.view_functions[VERIFY_ENDPOINT] = lean_verify(app.view_functions[VERIFY_ENDPOINT])


@blp.route("/signing-keys")
class SigningKeys(MethodView):
    @blp.doc(security=_NO_TOKEN)
    @blp.response(200, SigningKeySchema(many=True))
    def get(self) -> list[SigningKeyView]:
        """The public signing keys with their key IDs (active and retired)"""
        return [SigningKeyView.of(rec) for rec in issuance.list_signing_keys(public_context())]


_TEXT = "text/plain"
_JSON = "application/json"


@blp.route("/revocations")
class Revocations(MethodView):
    @blp.doc(security=_NO_TOKEN)
    @blp.doc(
        responses={
            "200": {
                "description": "The signed revocation list (`LRL2.`...): plain text by default, "
                "a JSON object when the client's Accept prefers application/json",
                "content": {
                    _TEXT: {"schema": {"type": "string"}},
                    _JSON: {"schema": RevocationListSchema},
                },
                "headers": {
                    "ETag": {
                        "description": "changes whenever the stored list is rebuilt",
                        "schema": {"type": "string"},
                    }
                },
            },
            "304": {"description": "Not modified: the If-None-Match ETag is still current"},
        }
    )
    @blp.alt_response(406, response="NOT_ACCEPTABLE")
    def get(self) -> Response:
        """The signed revocation list for offline installers

        Plain text unless the client's Accept header prefers `application/json`. The list is
        signed when a revocation or supersession changes it (and before it goes stale), and
        served as stored with an `ETag`; `If-None-Match` with it answers 304.
        """
        chosen = (
            request.accept_mimetypes.best_match([_TEXT, _JSON])
            if request.headers.get("Accept")
            else _TEXT  # no Accept header: anything will do
        )
        if chosen is None:
            raise NotAcceptable("the revocation list is served as text/plain or application/json")
        stored = issuance.current(public_context())
        if stored is None:
            # missing, or past the middle of its validity: rebuild it in a writing session (the
            # request's reading session ends first: SQLite would not let it write)
            db_session().rollback()
            with runtime_of().unit_of_work(PUBLIC) as ctx:
                stored = issuance.current_or_rebuild(ctx)
        # one ETag per representation (Vary: Accept)
        etag = stored.etag if chosen == _TEXT else stored.etag[:-1] + '-json"'
        if request.if_none_match.contains(etag.strip('"')):
            response = current_app.response_class(status=304)
        elif chosen == _JSON:
            response = jsonify(RevocationListSchema().dump({"revocation_list": stored.text}))
        else:
            response = current_app.response_class(stored.text + "\n", mimetype=_TEXT)
        response.headers["ETag"] = etag
        response.headers["Vary"] = "Accept"
        response.headers["Cache-Control"] = "no-cache"
        response.headers["Last-Modified"] = stored.issued_at.strftime("%a, %d %b %Y %H:%M:%S GMT")
        return response


_CASCADE = "application/octet-stream"


@blp.route("/revocations/cascade")
class RevocationCascade(MethodView):
    @blp.doc(security=_NO_TOKEN)
    @blp.doc(
        responses={
            "200": {
                "description": "The signed revocation cascade base (`LRC1`..., binary; "
                "docs/key-format.md section 14)",
                "content": {_CASCADE: {"schema": {"type": "string", "format": "binary"}}},
                "headers": {
                    "ETag": {
                        "description": "changes whenever the stored base is rebuilt",
                        "schema": {"type": "string"},
                    },
                    "X-Cascade-Generation": {
                        "description": "the base's generation: ask for deltas since it",
                        "schema": {"type": "integer"},
                    },
                },
            },
            "304": {"description": "Not modified: the If-None-Match ETag is still current"},
        }
    )
    def get(self) -> Response:
        """The compact revocation list for large fleets: a signed filter cascade

        Exact over every unexpired key the server issued up to its `covered_through`: each is
        answered revoked or not, with no error. The stored base is served until it has less
        than a day of validity left (`licensesvc revocations export --format cascade`, run
        daily, rebuilds it once a day outside any request); revocations since reach
        installers as deltas
        (`/v1/revocations/cascade/delta?since=GENERATION`). Served as stored with an `ETag`;
        `If-None-Match` with it answers 304.
        """
        stored = issuance.current_cascade(public_context())
        if stored is None:
            db_session().rollback()  # SQLite: the reading session ends before the rebuild
            with runtime_of().unit_of_work(PUBLIC) as ctx:
                stored = issuance.current_or_rebuild_cascade(
                    ctx, request.url_root.rstrip("/"), serving=True
                )
        if request.if_none_match.contains(stored.etag.strip('"')):
            response = current_app.response_class(status=304)
        else:
            response = current_app.response_class(stored.data, mimetype=_CASCADE)
        response.headers["ETag"] = stored.etag
        response.headers["X-Cascade-Generation"] = str(stored.generation)
        response.headers["Cache-Control"] = "no-cache"
        response.headers["Last-Modified"] = stored.issued_at.strftime("%a, %d %b %Y %H:%M:%S GMT")
        return response


@blp.route("/revocations/cascade/delta")
class RevocationCascadeDelta(MethodView):
    @blp.doc(security=_NO_TOKEN)
    @blp.arguments(CascadeDeltaQuery, location="query")
    @blp.doc(
        responses={
            "200": {
                "description": "A signed delta (`LRC1`..., binary) that follows generation "
                "`since` of the current base",
                "content": {_CASCADE: {"schema": {"type": "string", "format": "binary"}}},
            }
        }
    )
    @blp.alt_response(409, response="CONFLICT")
    def get(self, query: dict[str, Any]) -> Response:
        """A signed delta of the revocation cascade since a generation

        `since` is the generation the installer is at (the base's, or the last delta's). The
        delta lists every key revoked or superseded since the base was built, covers keys
        issued up to its own `covered_through`, and carries the next generation. A `since`
        older than the current base answers 409 `cascade_base_replaced`: fetch the base again.
        """
        reads_only()
        data = issuance.delta_since(public_context(), query["since"])
        response = current_app.response_class(data, mimetype=_CASCADE)
        response.headers["Cache-Control"] = "no-cache"
        return response
