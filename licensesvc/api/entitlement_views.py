"""GET /v1/entitlements and GET /v1/licenses: what the caller has and may ask for."""

from __future__ import annotations

from typing import Any

from flask import Flask, Response, current_app, jsonify, request
from flask.views import MethodView
from flask_smorest.pagination import PaginationParameters

from licensesvc import accounts
from licensesvc.domain.errors import ValidationFailed
from licensesvc.issuance import cached_report
from licensesvc.presentation import EntitlementReportSchema, LicenseSchema
from licensesvc.readmodels import EntitlementReport, LicenseView

from .auth import caller_context, require_token
from .blueprint import ID_IN_PATH, ApiBlueprint
from .pagination import PAGE_LIMITS, page_of
from .schemas import EntitlementsQuery, LicenseListQuery

blp = ApiBlueprint(
    "entitlements",
    __name__,
    url_prefix="/v1",
    description="Contract standing, allowed key kinds, and what the plan promises.",
)
blp.before_request(require_token)

#: the 200 body of GET /v1/entitlements, as the OpenAPI document states it
REPORT_SCHEMA = EntitlementReportSchema()


def report_json(report: EntitlementReport) -> bytes:
    """The body flask-smorest would send for the report (REPORT_SCHEMA's dump, jsonified):
    what the report cache keeps, so the schema runs once per cached report."""
    body: bytes = jsonify(REPORT_SCHEMA.dump(report)).get_data()
    return body


@blp.route("/entitlements")
class Entitlements(MethodView):
    @blp.arguments(EntitlementsQuery, location="query")
    @blp.response(200, REPORT_SCHEMA)
    @blp.alt_response(401, response="UNAUTHORIZED")
    @blp.alt_response(404, response="NOT_FOUND")
    def get(self, query: dict[str, Any]) -> Response:
        """The entitlement report of the caller's customer (analysts name `customer_id`)"""
        return _report(query)


def _report(query: dict[str, Any]) -> Response:
    ctx = caller_context()
    customer_id = query.get("customer_id") or ctx.actor.customer_id
    if customer_id is None:
        raise ValidationFailed(
            "analysts name the customer: ?customer_id=N",
            extra={"errors": {"customer_id": ["Missing data for required field."]}},
        )
    # a Response passes through flask-smorest as it is: the body is the schema's, cached
    body = cached_report(ctx, customer_id, report_json)
    return current_app.response_class(body, mimetype="application/json")


#: the endpoint name flask-smorest gives the view above
ENTITLEMENTS_ENDPOINT = "entitlements.Entitlements"


def install_lean_entitlements(app: Flask) -> None:
    """GET /v1/entitlements without a query string skips webargs' and flask-smorest's request
    cycle (they would parse an empty query and pass the Response through): the report comes
    straight from `_report`; with a query string the full view parses it as always."""
    full = app.view_functions[ENTITLEMENTS_ENDPOINT]

    def entitlements(*args: Any, **kwargs: Any) -> Any:
        if request.query_string:
            return full(*args, **kwargs)
        return _report({})

    app.view_functions[ENTITLEMENTS_ENDPOINT] = entitlements


@blp.route("/licenses")
class Licenses(MethodView):
    @blp.arguments(LicenseListQuery, location="query")
    @blp.response(200, LicenseSchema(many=True))
    @blp.paginate(**PAGE_LIMITS)
    @blp.alt_response(401, response="UNAUTHORIZED")
    @blp.alt_response(404, response="NOT_FOUND")
    def get(
        self, query: dict[str, Any], pagination_parameters: PaginationParameters
    ) -> list[LicenseView]:
        """The caller's licenses, newest first, a page at a time (analysts: every customer's,
        or `customer_id`'s)"""
        found = page_of(
            pagination_parameters,
            accounts.page_licenses,
            caller_context(),
            query.get("customer_id"),
        )
        return [LicenseView.of(lic) for lic in found.items]


@blp.route(f"/licenses/<{ID_IN_PATH}:license_id>")
class LicenseResource(MethodView):
    @blp.response(200, LicenseSchema)
    @blp.alt_response(401, response="UNAUTHORIZED")
    @blp.alt_response(404, response="NOT_FOUND")
    def get(self, license_id: int) -> LicenseView:
        """One license"""
        return LicenseView.of(accounts.get_license(caller_context(), license_id))
