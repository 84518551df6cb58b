"""Issued keys: list, show, download as a license file, and the analysts' revoke."""

from __future__ import annotations

from typing import Any

from flask import current_app
from flask.views import MethodView
from flask_smorest.pagination import PaginationParameters
from werkzeug.wrappers import Response

from licensesvc import issuance
from licensesvc.presentation import KeySchema
from licensesvc.readmodels import KeyView

from .auth import caller_context, require_token
from .blueprint import ApiBlueprint
from .idempotency import unit_of_work
from .pagination import PAGE_LIMITS, page_of
from .schemas import KeyListQuery, RevokeBody

blp = ApiBlueprint(
    "keys",
    __name__,
    url_prefix="/v1",
    description="Signed keys issued to the caller's licenses.",
)
blp.before_request(require_token)


@blp.route("/keys")
class Keys(MethodView):
    @blp.arguments(KeyListQuery, location="query")
    @blp.response(200, KeySchema(many=True))
    @blp.paginate(**PAGE_LIMITS)
    @blp.alt_response(401, response="UNAUTHORIZED")
    @blp.alt_response(404, response="NOT_FOUND")
    def get(
        self, query: dict[str, Any], pagination_parameters: PaginationParameters
    ) -> list[KeyView]:
        """The caller's keys, newest first, a page at a time (filter by `license_id`)"""
        ctx = caller_context()
        found = page_of(
            pagination_parameters,
            issuance.page_keys,
            ctx,
            customer_id=query.get("customer_id"),
            license_id=query.get("license_id"),
        )
        now = ctx.now()
        return [KeyView.of(key, now, analyst=ctx.actor.is_analyst) for key in found.items]


@blp.route("/keys/<serial:serial>")
class Key(MethodView):
    @blp.response(200, KeySchema)
    @blp.alt_response(401, response="UNAUTHORIZED")
    @blp.alt_response(404, response="NOT_FOUND")
    def get(self, serial: str) -> KeyView:
        """One key: its record, its effective status and the text key"""
        ctx = caller_context()
        return KeyView.of(issuance.get_key(ctx, serial), ctx.now(), analyst=ctx.actor.is_analyst)


@blp.route("/keys/<serial:serial>/license-file")
class LicenseFile(MethodView):
    @blp.response(
        200,
        {"type": "string"},
        content_type="text/plain",
        description="The armored license file, as an attachment `<serial>.lic`, followed by "
        "the key's transparency-log proof once the key is logged (within seconds of issue)",
    )
    @blp.alt_response(401, response="UNAUTHORIZED")
    @blp.alt_response(404, response="NOT_FOUND")
    def get(self, serial: str) -> Response:
        """Download a key as a license file"""
        ctx = caller_context()
        key = issuance.get_key(ctx, serial)
        # with the key's transparency-log proof once it is logged (docs/transparency.md)
        text = issuance.logged_license_file(ctx, key)
        response = current_app.response_class(text, mimetype="text/plain")
        response.headers["Content-Disposition"] = f'attachment; filename="{key.serial}.lic"'
        return response


@blp.route("/keys/<serial:serial>/revoke")
class Revocation(MethodView):
    @unit_of_work()
    @blp.arguments(RevokeBody)
    @blp.response(200, KeySchema)
    @blp.alt_response(401, response="UNAUTHORIZED")
    @blp.alt_response(403, response="FORBIDDEN", description="not an analyst")
    @blp.alt_response(404, response="NOT_FOUND")
    @blp.alt_response(409, response="CONFLICT", description="already revoked")
    def post(self, body: dict[str, Any], serial: str) -> KeyView:
        """Analysts: revoke a key, with a written reason and a reason code

        The signed revocation list carries the `code` only (default `key_compromise`); the
        `reason` goes to the audit trail. The list is rebuilt in the same transaction.
        """
        ctx = caller_context()
        key = issuance.revoke_key(ctx, serial, body["reason"], body["code"])
        return KeyView.of(key, ctx.now(), analyst=ctx.actor.is_analyst)
