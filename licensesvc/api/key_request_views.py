"""Key requests and their cases: request (or dry-run) a key, follow, escalate, and the
analysts' grant and deny."""

from __future__ import annotations

from typing import Any

from flask import jsonify
from flask.views import MethodView
from flask_smorest.pagination import PaginationParameters
from werkzeug.wrappers import Response

from licensesvc import issuance
from licensesvc.domain.errors import REFUSAL_STATUS, REFUSAL_TITLES
from licensesvc.domain.policy import Decision, KeyRequestInput
from licensesvc.issuance import KeyRequestOutcome
from licensesvc.presentation import CaseSchema, DryRunSchema, GrantedCaseSchema
from licensesvc.readmodels import CaseView, DryRunView

from .auth import caller_context, require_token
from .blueprint import ApiBlueprint
from .idempotency import HEADER_PARAMETER, unit_of_work
from .pagination import PAGE_LIMITS, page_of
from .problems import problem_response
from .schemas import CaseListQuery, DecisionBody, EscalateBody, KeyRequestBody

blp = ApiBlueprint(
    "key-requests",
    __name__,
    url_prefix="/v1",
    description="Every key request is a case with a number, granted or refused.",
)
blp.before_request(require_token)

_LOCATION = {"Location": {"description": "the case", "schema": {"type": "string"}}}


def _case_url(case_number: str) -> str:
    return f"/v1/key-requests/{case_number}"


@blp.route("/key-requests")
class KeyRequests(MethodView):
    @blp.arguments(CaseListQuery, location="query")
    @blp.response(200, CaseSchema(many=True))
    @blp.paginate(**PAGE_LIMITS)
    @blp.alt_response(401, response="UNAUTHORIZED")
    @blp.alt_response(404, response="NOT_FOUND")
    def get(
        self, query: dict[str, Any], pagination_parameters: PaginationParameters
    ) -> list[CaseView]:
        """The caller's cases, newest first, a page at a time (analysts: every customer's;
        filter by `status`)"""
        found = page_of(
            pagination_parameters,
            issuance.page_cases,
            caller_context(),
            customer_id=query.get("customer_id"),
            status=query.get("status"),
        )
        return [CaseView.of(case) for case in found.items]

    @unit_of_work(idempotent=True)
    @blp.doc(parameters=[HEADER_PARAMETER])
    @blp.arguments(KeyRequestBody)
    @blp.response(
        201, GrantedCaseSchema, description="Granted: the case and its key", headers=_LOCATION
    )
    @blp.alt_response(
        200,
        schema=DryRunSchema,
        description="Dry run: the decision, nothing recorded",
        success=True,
    )
    @blp.alt_response(401, response="UNAUTHORIZED")
    @blp.alt_response(403, response="FORBIDDEN")
    @blp.alt_response(404, response="NOT_FOUND")
    @blp.alt_response(
        409, response="CONFLICT", description="quota_exceeded, or idempotency_in_progress"
    )
    @blp.alt_response(
        422,
        response="UNPROCESSABLE_ENTITY",
        description="invalid_window, validation_error, or idempotency_key_reused",
    )
    def post(self, body: dict[str, Any]) -> Any:
        """Request a key (or, with `dry_run`, ask what the answer would be)

        A refusal is recorded as a case first and answered as problem+json with `code` and
        `case_number`: 403 contract_expired, maintenance_lapsed, plan_not_eligible; 409
        quota_exceeded; 422 invalid_window, validation_error.

        With an `Idempotency-Key` header a retry gets the first answer again (a refusal
        too), with `Idempotent-Replayed: true`, and records nothing more.
        """
        ctx = caller_context()
        dry_run: bool = body.pop("dry_run")
        override_reason: str | None = body.pop("override_reason", None)
        req = KeyRequestInput(**body)
        if dry_run:
            return _dry_run_response(issuance.explain_request(ctx, req), body["kind"])
        # granted or refused, the case is committed with the answer by the unit of work
        outcome = issuance.request_key(ctx, req, override_reason=override_reason)
        if outcome.refused:
            return refusal_response(outcome)
        return (
            outcome.view(ctx.now()),
            201,
            {"Location": _case_url(outcome.case.case_number)},
        )


def refusal_response(outcome: KeyRequestOutcome) -> Response:
    """The one mapping of a refused key request to its problem+json answer: the refusal's
    code, its HTTP status (403 entitlement, 409 quota, 422 window or request) and title, the
    words, and the case number to follow or escalate."""
    refusal = outcome.refusal
    assert refusal is not None, "only a refused outcome has a refusal"
    return problem_response(
        REFUSAL_STATUS[refusal.code],
        refusal.code,
        REFUSAL_TITLES[refusal.code],
        refusal.message,
        extra={"case_number": refusal.case_number},
    )


def _dry_run_response(decision: Decision, kind: str) -> Response:
    response = jsonify(DryRunSchema().dump(DryRunView.of(decision, kind)))
    response.status_code = 200
    return response


@blp.route("/key-requests/<case_number>")
class Case(MethodView):
    @blp.response(200, CaseSchema)
    @blp.alt_response(401, response="UNAUTHORIZED")
    @blp.alt_response(404, response="NOT_FOUND")
    def get(self, case_number: str) -> CaseView:
        """One case: its status, refusal, escalation, status updates and decision"""
        ctx = caller_context()
        return issuance.case_view(ctx, issuance.get_case(ctx, case_number))


@blp.route("/key-requests/<case_number>/escalate")
class Escalation(MethodView):
    @unit_of_work(idempotent=True)
    @blp.doc(parameters=[HEADER_PARAMETER])
    @blp.arguments(EscalateBody)
    @blp.response(200, CaseSchema)
    @blp.alt_response(401, response="UNAUTHORIZED")
    @blp.alt_response(404, response="NOT_FOUND")
    @blp.alt_response(
        409,
        response="CONFLICT",
        description="the case is not refused (invalid_state), or idempotency_in_progress",
    )
    @blp.alt_response(
        422,
        response="UNPROCESSABLE_ENTITY",
        description="validation_error, or idempotency_key_reused",
    )
    def post(self, body: dict[str, Any], case_number: str) -> CaseView:
        """Escalate a case to an analyst; the answer carries `respond_by`, `next_update_due`
        and, for Sev 1 and 2, the phone notice

        With an `Idempotency-Key` header a retry gets the first answer again, with
        `Idempotent-Replayed: true`, and changes nothing.
        """
        ctx = caller_context()
        case = issuance.escalate_case(
            ctx,
            case_number,
            note=body.get("note"),
            severity=body.get("severity"),
            reason=body.get("reason"),
        )
        return issuance.case_view(ctx, case)


@blp.route("/key-requests/<case_number>/grant")
class Grant(MethodView):
    @unit_of_work()
    @blp.arguments(DecisionBody)
    @blp.response(200, GrantedCaseSchema)
    @blp.alt_response(401, response="UNAUTHORIZED")
    @blp.alt_response(403, response="FORBIDDEN", description="not an analyst")
    @blp.alt_response(404, response="NOT_FOUND")
    @blp.alt_response(409, response="CONFLICT", description="the case is decided")
    def post(self, body: dict[str, Any], case_number: str) -> CaseView:
        """Analysts: grant a refused or escalated case anyway, with a written reason"""
        ctx = caller_context()
        outcome = issuance.grant_case(ctx, case_number, body["reason"])
        assert outcome.key is not None
        return outcome.view(ctx.now())


@blp.route("/key-requests/<case_number>/deny")
class Deny(MethodView):
    @unit_of_work()
    @blp.arguments(DecisionBody)
    @blp.response(200, CaseSchema)
    @blp.alt_response(401, response="UNAUTHORIZED")
    @blp.alt_response(403, response="FORBIDDEN", description="not an analyst")
    @blp.alt_response(404, response="NOT_FOUND")
    @blp.alt_response(409, response="CONFLICT", description="the case is decided")
    def post(self, body: dict[str, Any], case_number: str) -> CaseView:
        """Analysts: uphold a refusal, with a written reason"""
        case = issuance.deny_case(caller_context(), case_number, body["reason"])
        return CaseView.of(case)
