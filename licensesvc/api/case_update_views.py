"""The analysts' queue over HTTP: status updates on escalated cases (the seed's "Ongoing
Status Updates"; customers read them on the case), owners, internal notes (analysts only) and
severity changes with a reason. Every rule is in licensesvc/cases/case_updates.py."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest.pagination import PaginationParameters
from marshmallow import fields, validate

from licensesvc import cases, issuance
from licensesvc.presentation import AnalystCaseSchema, CaseSchema, CaseUpdateSchema
from licensesvc.readmodels import CaseUpdateView, CaseView

from .auth import caller_context, require_token
from .blueprint import ApiBlueprint
from .idempotency import unit_of_work
from .pagination import PAGE_LIMITS, page_of
from .schemas import FreeText, Line, ListQuery, RequestSchema

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
        validate=validate.Length(min=1, max=cases.MAX_UPDATE_CHARS),
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
    ) -> list[CaseUpdateView]:
        """The case's status updates, newest first, a page at a time (customers: their own
        cases)"""
        found = page_of(
            pagination_parameters, cases.page_case_updates, caller_context(), case_number
        )
        return [CaseUpdateView.of(u) for u in found.items]

    @unit_of_work()
    @blp.arguments(CaseUpdateBody)
    @blp.response(201, CaseSchema)
    @blp.alt_response(401, response="UNAUTHORIZED")
    @blp.alt_response(403, response="FORBIDDEN", description="not an analyst")
    @blp.alt_response(404, response="NOT_FOUND")
    @blp.alt_response(409, response="CONFLICT", description="the case was never escalated")
    def post(self, body: dict[str, Any], case_number: str) -> CaseView:
        """Analysts: post a status update; it resets the case's `next_update_due`"""
        ctx = caller_context()
        cases.post_case_update(ctx, case_number, body["text"])
        return issuance.case_view(ctx, issuance.get_case(ctx, case_number))


class AssignBody(RequestSchema):
    owner = Line(
        cases.MAX_OWNER_CHARS,
        required=True,
        metadata={"description": "the analyst who owns the case from now on"},
    )


class NoteBody(RequestSchema):
    text = FreeText(
        cases.MAX_UPDATE_CHARS,
        required=True,
        metadata={"description": "internal: never shown to the customer"},
    )


class SeverityBody(RequestSchema):
    severity = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=4))
    reason = FreeText(required=True, metadata={"description": "lands in the audit trail"})


@blp.route("/key-requests/<case_number>/assign")
class CaseAssignment(MethodView):
    @unit_of_work()
    @blp.arguments(AssignBody)
    @blp.response(200, AnalystCaseSchema)
    @blp.alt_response(401, response="UNAUTHORIZED")
    @blp.alt_response(403, response="FORBIDDEN", description="not an analyst")
    @blp.alt_response(404, response="NOT_FOUND")
    @blp.alt_response(409, response="CONFLICT", description="the case is decided")
    def post(self, body: dict[str, Any], case_number: str) -> CaseView:
        """Analysts: give a refused or escalated case an owner (audited)"""
        ctx = caller_context()
        case = cases.assign_case(ctx, case_number, body["owner"])
        view = cases.analyst_case_view(ctx, case)
        return view


@blp.route("/key-requests/<case_number>/notes")
class CaseNotes(MethodView):
    @unit_of_work()
    @blp.arguments(NoteBody)
    @blp.response(201, AnalystCaseSchema)
    @blp.alt_response(401, response="UNAUTHORIZED")
    @blp.alt_response(403, response="FORBIDDEN", description="not an analyst")
    @blp.alt_response(404, response="NOT_FOUND")
    def post(self, body: dict[str, Any], case_number: str) -> CaseView:
        """Analysts: add an internal note; the customer never sees it"""
        ctx = caller_context()
        cases.add_case_note(ctx, case_number, body["text"])
        view = cases.analyst_case_view(ctx, issuance.get_case(ctx, case_number))
        return view


@blp.route("/key-requests/<case_number>/severity")
class CaseSeverity(MethodView):
    @unit_of_work()
    @blp.arguments(SeverityBody)
    @blp.response(200, AnalystCaseSchema)
    @blp.alt_response(401, response="UNAUTHORIZED")
    @blp.alt_response(403, response="FORBIDDEN", description="not an analyst")
    @blp.alt_response(404, response="NOT_FOUND")
    @blp.alt_response(
        409, response="CONFLICT", description="the case is decided or already at that severity"
    )
    def post(self, body: dict[str, Any], case_number: str) -> CaseView:
        """Analysts: change a case's severity with a reason; an escalated case's respond-by
        and next update count anew from the support plan"""
        ctx = caller_context()
        case = cases.change_severity(ctx, case_number, body["severity"], body["reason"])
        view = cases.analyst_case_view(ctx, case)
        return view
