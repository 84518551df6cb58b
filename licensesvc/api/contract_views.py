"""Contracts, licenses and customers over time (analyst tokens): plan changes, renewals,
terminations, the payment ledger, license changes and retirement, customer region and
holiday calendar. Customers may read their own contract and its ledger."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest.pagination import PaginationParameters
from marshmallow import fields, validate

from licensesvc import accounts
from licensesvc.domain import Plan, Region, values
from licensesvc.presentation import (
    ContractSchema,
    CustomerSchema,
    LicenseChangeRow,
    LicenseWithHistorySchema,
    PaymentSchema,
)
from licensesvc.readmodels import (
    ContractDetail,
    ContractPaymentView,
    CustomerView,
    LicenseChangeView,
    LicenseHistoryView,
)

from .auth import caller_context, require_token
from .blueprint import ID_IN_PATH, ApiBlueprint
from .idempotency import unit_of_work
from .pagination import PAGE_LIMITS, page_of
from .schemas import ListQuery, RequestSchema

blp = ApiBlueprint(
    "lifecycle",
    __name__,
    url_prefix="/v1",
    description="Contracts and licenses change over time: plan changes, renewals, "
    "terminations, the payment ledger, license changes (analyst tokens).",
)
blp.before_request(require_token)

_REASON = validate.Length(min=1, max=2000)


# --- schemas ---------------------------------------------------------------------------------


class PaymentBody(RequestSchema):
    paid_through = fields.Date(required=True)
    invoice = fields.String(validate=validate.Length(min=1, max=100))
    correction = fields.Boolean(
        load_default=False, metadata={"description": "correct an earlier entry; needs a reason"}
    )
    reason = fields.String(validate=_REASON)


class PlanChangeBody(RequestSchema):
    plan = fields.String(required=True, validate=validate.OneOf(values(Plan)))
    effective_from = fields.Date(
        required=True, metadata={"description": "first day of the new plan, inside the term"}
    )
    reason = fields.String(required=True, validate=_REASON)


class RenewalBody(RequestSchema):
    end = fields.Date(required=True, metadata={"description": "last day of the renewed term"})
    plan = fields.String(validate=validate.OneOf(values(Plan)))
    paid_through = fields.Date()


class TerminationBody(RequestSchema):
    on = fields.Date(required=True, metadata={"description": "the last covered day"})
    reason = fields.String(required=True, validate=_REASON)


class LicenseChangeBody(RequestSchema):
    agents = fields.Integer(strict=True, validate=validate.Range(min=0))
    jobs = fields.Integer(strict=True, validate=validate.Range(min=0))
    expires_on = fields.Date()
    host = fields.String(validate=validate.Length(min=1, max=200))
    failover_host = fields.String(validate=validate.Length(min=1, max=200))
    reason = fields.String(required=True, validate=_REASON)


class RetirementBody(RequestSchema):
    reason = fields.String(required=True, validate=_REASON)


class CustomerBody(RequestSchema):
    region = fields.String(validate=validate.OneOf(values(Region)))
    holidays = fields.String(
        validate=validate.Length(min=2, max=20),
        metadata={"description": "holiday calendar `CC` or `CC-SUB`, e.g. `GB-ENG`"},
    )


# --- views -----------------------------------------------------------------------------------


def _contract(contract_id: int) -> ContractDetail:
    ctx = caller_context()
    return accounts.contract_detail(ctx, accounts.get_contract(ctx, contract_id))


@blp.route(f"/contracts/<{ID_IN_PATH}:contract_id>")
class ContractResource(MethodView):
    @blp.response(200, ContractSchema)
    @blp.alt_response(401, response="UNAUTHORIZED")
    @blp.alt_response(404, response="NOT_FOUND")
    def get(self, contract_id: int) -> ContractDetail:
        """One contract with its plan history, termination and renewal"""
        return _contract(contract_id)


@blp.route(f"/contracts/<{ID_IN_PATH}:contract_id>/payments")
class Payments(MethodView):
    @blp.arguments(ListQuery, location="query")
    @blp.response(200, PaymentSchema(many=True))
    @blp.paginate(**PAGE_LIMITS)
    @blp.alt_response(401, response="UNAUTHORIZED")
    @blp.alt_response(404, response="NOT_FOUND")
    def get(
        self, _query: dict[str, Any], contract_id: int, pagination_parameters: PaginationParameters
    ) -> list[ContractPaymentView]:
        """The contract's payment ledger, newest first, a page at a time (the first entry of
        page 1 counts)"""
        found = page_of(
            pagination_parameters, accounts.page_payments, caller_context(), contract_id
        )
        return [ContractPaymentView.of(p) for p in found.items]

    @unit_of_work()
    @blp.arguments(PaymentBody)
    @blp.response(201, PaymentSchema)
    @blp.alt_response(401, response="UNAUTHORIZED")
    @blp.alt_response(403, response="FORBIDDEN", description="not an analyst")
    @blp.alt_response(404, response="NOT_FOUND")
    @blp.alt_response(409, response="CONFLICT", description="the contract was terminated")
    def post(self, body: dict[str, Any], contract_id: int) -> ContractPaymentView:
        """Analysts: append a ledger entry (a payment, or a correction with a reason)

        Paid-through never passes the contract's end (`validation_error`; pay into the
        renewal) and a payment never moves it back (a correction may).
        """
        entry = accounts.record_payment(
            caller_context(),
            contract_id,
            body["paid_through"],
            invoice=body.get("invoice"),
            correction=body["correction"],
            reason=body.get("reason"),
        )
        return ContractPaymentView.of(entry)


@blp.route(f"/contracts/<{ID_IN_PATH}:contract_id>/plan-changes")
class PlanChanges(MethodView):
    @unit_of_work()
    @blp.arguments(PlanChangeBody)
    @blp.response(201, ContractSchema)
    @blp.alt_response(401, response="UNAUTHORIZED")
    @blp.alt_response(403, response="FORBIDDEN", description="not an analyst")
    @blp.alt_response(404, response="NOT_FOUND")
    def post(self, body: dict[str, Any], contract_id: int) -> ContractDetail:
        """Analysts: change the plan from a day inside the term (quota use carries over)"""
        accounts.change_plan(
            caller_context(), contract_id, body["plan"], body["effective_from"], body["reason"]
        )
        return _contract(contract_id)


@blp.route(f"/contracts/<{ID_IN_PATH}:contract_id>/renewal")
class Renewal(MethodView):
    @unit_of_work()
    @blp.arguments(RenewalBody)
    @blp.response(201, ContractSchema, description="the successor contract")
    @blp.alt_response(401, response="UNAUTHORIZED")
    @blp.alt_response(403, response="FORBIDDEN", description="not an analyst")
    @blp.alt_response(404, response="NOT_FOUND")
    @blp.alt_response(409, response="CONFLICT", description="already renewed, or terminated")
    def post(self, body: dict[str, Any], contract_id: int) -> ContractDetail:
        """Analysts: renew as a successor contract from the day after the old end"""
        ctx = caller_context()
        renewal = accounts.renew_contract(
            ctx,
            contract_id,
            body["end"],
            plan=body.get("plan"),
            paid_through=body.get("paid_through"),
        )
        return accounts.contract_detail(ctx, renewal)


@blp.route(f"/contracts/<{ID_IN_PATH}:contract_id>/termination")
class Termination(MethodView):
    @unit_of_work()
    @blp.arguments(TerminationBody)
    @blp.response(200, ContractSchema)
    @blp.alt_response(401, response="UNAUTHORIZED")
    @blp.alt_response(403, response="FORBIDDEN", description="not an analyst")
    @blp.alt_response(404, response="NOT_FOUND")
    @blp.alt_response(409, response="CONFLICT", description="already terminated")
    def post(self, body: dict[str, Any], contract_id: int) -> ContractDetail:
        """Analysts: end the term early; `on` is the last covered day"""
        accounts.terminate_contract(caller_context(), contract_id, body["on"], body["reason"])
        return _contract(contract_id)


@blp.route(f"/licenses/<{ID_IN_PATH}:license_id>/changes")
class LicenseChanges(MethodView):
    @blp.arguments(ListQuery, location="query")
    @blp.response(200, LicenseChangeRow(many=True))
    @blp.paginate(**PAGE_LIMITS)
    @blp.alt_response(401, response="UNAUTHORIZED")
    @blp.alt_response(404, response="NOT_FOUND")
    def get(
        self, _query: dict[str, Any], license_id: int, pagination_parameters: PaginationParameters
    ) -> list[LicenseChangeView]:
        """The license's change history, newest first, a page at a time"""
        found = page_of(
            pagination_parameters, accounts.page_license_changes, caller_context(), license_id
        )
        return [LicenseChangeView.of(c) for c in found.items]

    @unit_of_work()
    @blp.arguments(LicenseChangeBody)
    @blp.response(200, LicenseWithHistorySchema)
    @blp.alt_response(401, response="UNAUTHORIZED")
    @blp.alt_response(403, response="FORBIDDEN", description="not an analyst")
    @blp.alt_response(404, response="NOT_FOUND")
    @blp.alt_response(409, response="CONFLICT", description="the license is retired")
    def post(self, body: dict[str, Any], license_id: int) -> LicenseHistoryView:
        """Analysts: change limits, expiry or hosts, with a reason"""
        reason = body.pop("reason")
        lic = accounts.update_license(
            caller_context(), license_id, accounts.LicenseUpdate(**body), reason
        )
        return LicenseHistoryView.of(lic)


@blp.route(f"/licenses/<{ID_IN_PATH}:license_id>/retirement")
class LicenseRetirement(MethodView):
    @unit_of_work()
    @blp.arguments(RetirementBody)
    @blp.response(200, LicenseWithHistorySchema)
    @blp.alt_response(401, response="UNAUTHORIZED")
    @blp.alt_response(403, response="FORBIDDEN", description="not an analyst")
    @blp.alt_response(404, response="NOT_FOUND")
    @blp.alt_response(409, response="CONFLICT", description="already retired")
    def post(self, body: dict[str, Any], license_id: int) -> LicenseHistoryView:
        """Analysts: retire a license; it gets no more keys"""
        lic = accounts.retire_license(caller_context(), license_id, body["reason"])
        return LicenseHistoryView.of(lic)


@blp.route(f"/customers/<{ID_IN_PATH}:customer_id>")
class CustomerResource(MethodView):
    @unit_of_work()
    @blp.arguments(CustomerBody)
    @blp.response(200, CustomerSchema)
    @blp.alt_response(401, response="UNAUTHORIZED")
    @blp.alt_response(403, response="FORBIDDEN", description="not an analyst")
    @blp.alt_response(404, response="NOT_FOUND")
    def patch(self, body: dict[str, Any], customer_id: int) -> CustomerView:
        """Analysts: change the customer's region or holiday calendar"""
        customer = accounts.update_customer(
            caller_context(), customer_id, region=body.get("region"), holidays=body.get("holidays")
        )
        return CustomerView.of(customer)
