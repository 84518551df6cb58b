"""Webhook endpoints over HTTP: a customer registers, lists, disables and re-keys endpoints for
its own events; analysts see and manage all of them. Every rule (the URL checks, who sees what)
is in licensesvc/outreach/webhooks.py; deliveries leave from `licensesvc notify send`."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask.views import MethodView
from flask_smorest.pagination import PaginationParameters
from marshmallow import fields, validate

from licensesvc import outreach
from licensesvc.platform.outbox import WebhookEvent
from licensesvc.presentation.fields import UTCDateTime

from .auth import caller_context, require_token
from .blueprint import ApiBlueprint
from .idempotency import unit_of_work
from .pagination import PAGE_LIMITS, page_of
from .schemas import Line, ListQuery, RequestSchema

blp = ApiBlueprint(
    "webhooks",
    __name__,
    url_prefix="/v1",
    description="Webhook endpoints: signed POSTs (Standard Webhooks) of the events they "
    "subscribe to; a customer's hear only of that customer. See docs/webhooks.md.",
)
blp.before_request(require_token)

EVENT_NAMES = [e.value for e in WebhookEvent]


class WebhookSchema(ma.Schema):
    id = fields.Integer()
    customer_id = fields.Integer(
        allow_none=True, metadata={"description": "null: every customer's events (analysts')"}
    )
    url = fields.String()
    events = fields.List(fields.String(validate=validate.OneOf(EVENT_NAMES)))
    status = fields.String(validate=validate.OneOf(["active", "disabled"]))
    created_by = fields.String()
    created_at = UTCDateTime()
    disabled_at = UTCDateTime(allow_none=True)


class WebhookWithSecretSchema(WebhookSchema):
    secret = fields.String(
        metadata={"description": "the signing secret (whsec_…), shown this once"}
    )


class DeliverySchema(ma.Schema):
    id = fields.Integer()
    endpoint_id = fields.Integer()
    event = fields.String()
    message_id = fields.String(metadata={"description": "its webhook-id, the same on every try"})
    status = fields.String(validate=validate.OneOf(["pending", "sent", "failed"]))
    attempts = fields.Integer()
    created_at = UTCDateTime()
    next_attempt_at = UTCDateTime()
    sent_at = UTCDateTime(allow_none=True)
    last_status_code = fields.Integer(allow_none=True)
    last_error = fields.String(allow_none=True)


class WebhookBody(RequestSchema):
    url = Line(
        outreach.MAX_URL_CHARS,
        required=True,
        metadata={
            "description": "https, to a public address",
            "example": "https://hooks.example.com/in",
        },
    )
    events = fields.List(
        fields.String(validate=validate.OneOf(EVENT_NAMES)),
        required=True,
        validate=validate.Length(min=1, max=len(EVENT_NAMES)),
    )
    customer_id = fields.Integer(
        strict=True,
        validate=validate.Range(min=1, max=2147483647),
        metadata={"description": "analysts: only this customer's events (default: all)"},
    )


def _with_secret(made: outreach.EndpointWithSecret) -> dict[str, Any]:
    return {**made.endpoint.__dict__, "secret": made.secret}


@blp.route("/webhooks")
class Webhooks(MethodView):
    @blp.response(200, WebhookSchema(many=True))
    @blp.alt_response(401, response="UNAUTHORIZED")
    def get(self) -> list[outreach.EndpointView]:
        """The caller's webhook endpoints (analysts: all), oldest first; never their secrets"""
        return outreach.list_endpoints(caller_context())

    @unit_of_work()
    @blp.arguments(WebhookBody)
    @blp.response(201, WebhookWithSecretSchema)
    @blp.alt_response(401, response="UNAUTHORIZED")
    @blp.alt_response(404, response="NOT_FOUND", description="no such customer")
    def post(self, body: dict[str, Any]) -> dict[str, Any]:
        """Register an endpoint for the caller's events; its secret is in this answer only"""
        made = outreach.add_endpoint(
            caller_context(), body["url"], body["events"], body.get("customer_id")
        )
        return _with_secret(made)


@blp.route("/webhooks/<int(min=1, max=2147483647):webhook_id>/disable")
class WebhookDisable(MethodView):
    @unit_of_work()
    @blp.response(200, WebhookSchema)
    @blp.alt_response(401, response="UNAUTHORIZED")
    @blp.alt_response(404, response="NOT_FOUND")
    @blp.alt_response(409, response="CONFLICT", description="already disabled")
    def post(self, webhook_id: int) -> outreach.EndpointView:
        """Stop sending to the endpoint; its pending deliveries are marked failed"""
        return outreach.disable_endpoint(caller_context(), webhook_id)


@blp.route("/webhooks/<int(min=1, max=2147483647):webhook_id>/rotate-secret")
class WebhookSecret(MethodView):
    @unit_of_work()
    @blp.response(200, WebhookWithSecretSchema)
    @blp.alt_response(401, response="UNAUTHORIZED")
    @blp.alt_response(404, response="NOT_FOUND")
    def post(self, webhook_id: int) -> dict[str, Any]:
        """A new signing secret, in this answer only; later tries are signed with it"""
        return _with_secret(outreach.rotate_secret(caller_context(), webhook_id))


@blp.route("/webhooks/<int(min=1, max=2147483647):webhook_id>/deliveries")
class WebhookDeliveries(MethodView):
    @blp.arguments(ListQuery, location="query")
    @blp.response(200, DeliverySchema(many=True))
    @blp.paginate(**PAGE_LIMITS)
    @blp.alt_response(401, response="UNAUTHORIZED")
    @blp.alt_response(404, response="NOT_FOUND")
    def get(
        self, _query: dict[str, Any], webhook_id: int, pagination_parameters: PaginationParameters
    ) -> list[outreach.DeliveryView]:
        """The endpoint's deliveries, newest first, with their webhook-id, tries and last error"""
        return list(
            page_of(
                pagination_parameters, outreach.list_deliveries, caller_context(), webhook_id
            ).items
        )
