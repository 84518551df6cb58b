"""Status updates on escalated cases (the seed's "Ongoing Status Updates"): analysts post
them, customers read them on the case."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest.pagination import PaginationParameters
from marshmallow import fields, validate

from licensesvc.models import CaseUpdate
from licensesvc.services import case_updates, key_requests
from licensesvc.services.views import CaseView
from licensesvc.web import db_session

from .auth import caller_context, require_token
from .blueprint import ApiBlueprint
from .pagination import PAGE_LIMITS, page_of
from .schemas import CaseSchema, CaseUpdateSchema, ListQuery, RequestSchema

blp = ApiBlueprint(
    "case-updates",
    __name__,
    url_prefix="/v1",
    description="Analysts' status updates on escalated cases; the customer sees them.",
)
blp.before_request(require_token)


class CaseUpdateBody(RequestSchema):
    text = fields.String(
        required=True,
        validate=validate.Length(min=1, max=case_updates.MAX_UPDATE_CHARS),
        metadata={"description": "the update, as the customer will read it"},
    )


@blp.route("/key-requests/<case_number>/updates")
class CaseUpdates(MethodView):
    @blp.arguments(ListQuery, location="query")
    @blp.response(200, CaseUpdateSchema(many=True))
    @blp.paginate(**PAGE_LIMITS)
    @blp.alt_response(401, response="UNAUTHORIZED")
    @blp.alt_response(404, response="NOT_FOUND")
    def get(
        self, _query: dict[str, Any], case_number: str, pagination_parameters: PaginationParameters
    ) -> list[CaseUpdate]:
        """The case's status updates, newest first, a page at a time (customers: their own
        cases)"""
        return list(
            page_of(
                pagination_parameters, case_updates.page_case_updates, caller_context(), case_number
            ).items
        )

    @blp.arguments(CaseUpdateBody)
    @blp.response(201, CaseSchema)
    @blp.alt_response(401, response="UNAUTHORIZED")
    @blp.alt_response(403, response="FORBIDDEN", description="not an analyst")
    @blp.alt_response(404, response="NOT_FOUND")
    @blp.alt_response(409, response="CONFLICT", description="the case was never escalated")
    def post(self, body: dict[str, Any], case_number: str) -> CaseView:
        """Analysts: post a status update; it resets the case's `next_update_due`"""
        ctx = caller_context()
        case_updates.post_case_update(ctx, case_number, body["text"])
        db_session().commit()
        return key_requests.case_view(ctx, key_requests.get_case(ctx, case_number))
