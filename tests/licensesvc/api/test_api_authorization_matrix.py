"""The authorization matrix, generated from one table: every /v1 route x every caller
(anonymous, customer A who owns the object, customer B who does not, an analyst) x an object
that exists (A's) or does not. A foreign object is as missing as a missing one (404, never 403:
its existence is not revealed); analysts' verbs are 403 for customers whatever the object."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Connection
from sqlalchemy.orm import Session

from tests.conftest import World
from tests.licensesvc.api.api_helpers import Caller, Tokens, bearer
from tests.support.apps import fresh_rate_limits

MISSING = {
    "license": "2147483647",
    "contract": "2147483647",
    "customer": "2147483647",
    "key": "SN-2222-2222-2222-2222",
    "case": "CS-20260302-222222",
    "webhook": "2147483647",
}


@dataclass(frozen=True)
class Route:
    method: str
    rule: str  # as in app.url_map
    path: str  # with {license}, {key} or {case}
    body: dict[str, Any] | None
    #: expected status by caller: anonymous, owner, foreign customer, analyst
    owner: int
    foreign: int
    analyst: int
    anonymous: int = 401
    #: for an object that does not exist: customer and analyst
    missing_customer: int | None = None
    missing_analyst: int | None = None


ROUTES = [
    Route(
        "GET", "/v1/entitlements", "/v1/entitlements?customer_id={customer}", None, 200, 404, 200
    ),
    Route("GET", "/v1/licenses", "/v1/licenses", None, 200, 200, 200),
    Route(
        "GET",
        "/v1/licenses/<int(min=1, max=2147483647):license_id>",
        "/v1/licenses/{license}",
        None,
        200,
        404,
        200,
        missing_customer=404,
        missing_analyst=404,
    ),
    Route("GET", "/v1/keys", "/v1/keys", None, 200, 200, 200),
    Route(
        "GET",
        "/v1/keys/<serial:serial>",
        "/v1/keys/{key}",
        None,
        200,
        404,
        200,
        missing_customer=404,
        missing_analyst=404,
    ),
    Route(
        "GET",
        "/v1/keys/<serial:serial>/license-file",
        "/v1/keys/{key}/license-file",
        None,
        200,
        404,
        200,
        missing_customer=404,
        missing_analyst=404,
    ),
    Route(
        "POST",
        "/v1/keys/<serial:serial>/revoke",
        "/v1/keys/{key}/revoke",
        {"reason": "leaked"},
        403,
        403,
        200,
        missing_customer=403,
        missing_analyst=404,
    ),
    Route("GET", "/v1/key-requests", "/v1/key-requests", None, 200, 200, 200),
    Route(
        "POST",
        "/v1/key-requests",
        "/v1/key-requests",
        {"license_id": "{license}", "kind": "replacement"},
        201,
        404,
        201,
        missing_customer=404,
        missing_analyst=404,
    ),
    Route(
        "GET",
        "/v1/key-requests/<case_number>",
        "/v1/key-requests/{case}",
        None,
        200,
        404,
        200,
        missing_customer=404,
        missing_analyst=404,
    ),
    Route(
        "POST",
        "/v1/key-requests/<case_number>/escalate",
        "/v1/key-requests/{case}/escalate",
        {},
        200,
        404,
        200,
        missing_customer=404,
        missing_analyst=404,
    ),
    Route(
        "POST",
        "/v1/key-requests/<case_number>/grant",
        "/v1/key-requests/{case}/grant",
        {"reason": "ok"},
        403,
        403,
        200,
        missing_customer=403,
        missing_analyst=404,
    ),
    Route(
        "POST",
        "/v1/key-requests/<case_number>/deny",
        "/v1/key-requests/{case}/deny",
        {"reason": "no"},
        403,
        403,
        200,
        missing_customer=403,
        missing_analyst=404,
    ),
    # analysts' record keeping (contract and license lifecycle, case updates)
    Route(
        "GET",
        "/v1/contracts/<int(min=1, max=2147483647):contract_id>",
        "/v1/contracts/{contract}",
        None,
        200,
        404,
        200,
        missing_customer=404,
        missing_analyst=404,
    ),
    Route(
        "GET",
        "/v1/contracts/<int(min=1, max=2147483647):contract_id>/payments",
        "/v1/contracts/{contract}/payments",
        None,
        200,
        404,
        200,
        missing_customer=404,
        missing_analyst=404,
    ),
    Route(
        "POST",
        "/v1/contracts/<int(min=1, max=2147483647):contract_id>/payments",
        "/v1/contracts/{contract}/payments",
        {"paid_through": "2026-12-31", "correction": True, "reason": "invoice 17 was short"},
        403,
        403,
        201,
        missing_customer=403,
        missing_analyst=404,
    ),
    Route(
        "POST",
        "/v1/contracts/<int(min=1, max=2147483647):contract_id>/plan-changes",
        "/v1/contracts/{contract}/plan-changes",
        {"plan": "premium", "effective_from": "2026-06-01", "reason": "upgrade"},
        403,
        403,
        201,
        missing_customer=403,
        missing_analyst=404,
    ),
    Route(
        "POST",
        "/v1/contracts/<int(min=1, max=2147483647):contract_id>/renewal",
        "/v1/contracts/{contract}/renewal",
        {"end": "2028-01-26"},
        403,
        403,
        201,
        missing_customer=403,
        missing_analyst=404,
    ),
    Route(
        "POST",
        "/v1/contracts/<int(min=1, max=2147483647):contract_id>/termination",
        "/v1/contracts/{contract}/termination",
        {"on": "2026-12-31", "reason": "closing"},
        403,
        403,
        200,
        missing_customer=403,
        missing_analyst=404,
    ),
    Route(
        "GET",
        "/v1/licenses/<int(min=1, max=2147483647):license_id>/changes",
        "/v1/licenses/{license}/changes",
        None,
        200,
        404,
        200,
        missing_customer=404,
        missing_analyst=404,
    ),
    Route(
        "POST",
        "/v1/licenses/<int(min=1, max=2147483647):license_id>/changes",
        "/v1/licenses/{license}/changes",
        {"agents": 30, "reason": "more agents"},
        403,
        403,
        200,
        missing_customer=403,
        missing_analyst=404,
    ),
    Route(
        "POST",
        "/v1/licenses/<int(min=1, max=2147483647):license_id>/retirement",
        "/v1/licenses/{license}/retirement",
        {"reason": "decommissioned"},
        403,
        403,
        200,
        missing_customer=403,
        missing_analyst=404,
    ),
    Route(
        "PATCH",
        "/v1/customers/<int(min=1, max=2147483647):customer_id>",
        "/v1/customers/{customer}",
        {"region": "emea"},
        403,
        403,
        200,
        missing_customer=403,
        missing_analyst=404,
    ),
    Route(
        "GET",
        "/v1/key-requests/<case_number>/updates",
        "/v1/key-requests/{case}/updates",
        None,
        200,
        404,
        200,
        missing_customer=404,
        missing_analyst=404,
    ),
    Route(
        "POST",
        "/v1/key-requests/<case_number>/updates",
        "/v1/key-requests/{case}/updates",
        {"text": "we are on it"},
        403,
        403,
        409,  # the analyst gets through; only an escalated case takes updates
        missing_customer=403,
        missing_analyst=404,
    ),
    Route(
        "POST",
        "/v1/key-requests/<case_number>/assign",
        "/v1/key-requests/{case}/assign",
        {"owner": "bob"},
        403,
        403,
        200,
        missing_customer=403,
        missing_analyst=404,
    ),
    Route(
        "POST",
        "/v1/key-requests/<case_number>/notes",
        "/v1/key-requests/{case}/notes",
        {"text": "internal: called them"},
        403,
        403,
        201,
        missing_customer=403,
        missing_analyst=404,
    ),
    Route(
        "POST",
        "/v1/key-requests/<case_number>/severity",
        "/v1/key-requests/{case}/severity",
        {"severity": 1, "reason": "production down"},
        403,
        403,
        200,
        missing_customer=403,
        missing_analyst=404,
    ),
    # webhooks: a customer's own, or every one for analysts
    Route("GET", "/v1/webhooks", "/v1/webhooks", None, 200, 200, 200),
    Route(
        "POST",
        "/v1/webhooks",
        "/v1/webhooks",
        {"url": "https://1.1.1.1/hooks", "events": ["key.issued"]},
        201,
        201,
        201,
    ),
    *(
        Route(
            method,
            f"/v1/webhooks/<int(min=1, max=2147483647):webhook_id>/{tail}",
            f"/v1/webhooks/{{webhook}}/{tail}",
            None,
            200,
            404,
            200,
            missing_customer=404,
            missing_analyst=404,
        )
        for method, tail in (
            ("POST", "disable"),
            ("POST", "rotate-secret"),
            ("GET", "deliveries"),
        )
    ),
    # public: no token needed, the same answer for everyone
    Route("GET", "/v1/signing-keys", "/v1/signing-keys", None, 200, 200, 200, anonymous=200),
    Route("GET", "/v1/revocations", "/v1/revocations", None, 200, 200, 200, anonymous=200),
    Route(
        "GET",
        "/v1/revocations/cascade",
        "/v1/revocations/cascade",
        None,
        200,
        200,
        200,
        anonymous=200,
    ),
    # no base built yet in a fresh database: 404 for everyone alike
    Route(
        "GET",
        "/v1/revocations/cascade/delta",
        "/v1/revocations/cascade/delta?since=1",
        None,
        404,
        404,
        404,
        anonymous=404,
    ),
    # the transparency log: public, the same answer for everyone (a fresh database: no log
    # key and nothing logged yet)
    Route("GET", "/v1/log/key", "/v1/log/key", None, 404, 404, 404, anonymous=404),
    Route(
        "GET",
        "/v1/log/inclusion",
        "/v1/log/inclusion?serial=LK-NOT-ISSUED",
        None,
        404,
        404,
        404,
        anonymous=404,
    ),
    Route(
        "GET",
        "/v1/log/consistency",
        "/v1/log/consistency?from=1&to=2",
        None,
        404,
        404,
        404,
        anonymous=404,
    ),
    Route(
        "POST",
        "/v1/keys/verify",
        "/v1/keys/verify",
        {"key": "{key_text}"},
        200,
        200,
        200,
        anonymous=200,
    ),
]

CALLERS = ("anonymous", "owner", "foreign", "analyst")


def _callers(route: Route) -> list[tuple[str, bool]]:
    """Who asks about route, and whether about an object that does not exist."""
    callers = [(caller, False) for caller in CALLERS]
    if route.missing_customer is not None:
        callers += [("owner", True), ("analyst", True)]
    return callers


def _expected(route: Route, caller: str, missing: bool) -> int:
    if missing:
        value = route.missing_analyst if caller == "analyst" else route.missing_customer
        assert value is not None
        return value
    return int(getattr(route, caller))


def test_the_table_covers_every_v1_route(app: Flask) -> None:
    served = {
        (method, rule.rule)
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/v1")
        for method in rule.methods or ()
        if method not in ("HEAD", "OPTIONS")
    }
    assert served == {(r.method, r.rule) for r in ROUTES}


@pytest.mark.parametrize("route", ROUTES, ids=lambda route: f"{route.method} {route.path}")
def test_authorization(
    route: Route,
    app: Flask,
    api_client: FlaskClient,
    session: Session,
    tokens_for: Tokens,
    world: World,
    as_base: Caller,
    as_analyst: Caller,
) -> None:
    """Every caller of route (_callers), each on the same objects: what one caller's request
    changes is rolled back (a savepoint) before the next asks, and each starts with fresh rate
    limit counters, as a test of its own would."""
    # customer A (Base, Acme) owns a key and a refused case; B is the Premium customer
    as_analyst.issue("standard", license_id=world.base_license)  # first keys are an analyst's
    key = as_base.issue("replacement")
    case = as_base.ask_for_key("temporary", reason="usage_spike").get_json()["case_number"]
    hook = api_client.post(
        "/v1/webhooks",
        json={"url": "https://1.1.1.1/hooks", "events": ["case.refused"]},
        headers=bearer(tokens_for.base),
    ).get_json()
    existing = {
        "webhook": str(hook["id"]),
        "customer": str(world.base_customer),
        "contract": str(world.base_contract),
        "license": str(world.base_license),
        "key": key["serial"],
        "case": case,
        "key_text": key["key"],
    }
    connection = session.get_bind()
    assert isinstance(connection, Connection)  # the test's: its outer transaction is open
    wrong: list[str] = []
    for caller, missing in _callers(route):
        values = {**existing, **MISSING} if missing else existing

        def fill(text: str, values: dict[str, str] = values) -> str:
            return text.format(**values)

        body = None
        if route.body is not None:
            body = {
                name: (int(fill(v)) if name == "license_id" else fill(v))
                if isinstance(v, str)
                else v
                for name, v in route.body.items()
            }
        token = {
            "anonymous": None,
            "owner": tokens_for.base,
            "foreign": tokens_for.premium,
            "analyst": tokens_for.analyst,
        }[caller]
        headers = bearer(token) if token else {}
        fresh_rate_limits(app)
        attempt = connection.begin_nested()
        try:
            r = api_client.open(fill(route.path), method=route.method, json=body, headers=headers)
        finally:
            attempt.rollback()
        asked = f"{caller}{' missing' if missing else ''}"
        expected = _expected(route, caller, missing)
        if r.status_code != expected:
            wrong.append(f"{asked}: {r.status_code}, not {expected}: {r.get_data(as_text=True)}")
        elif r.status_code >= 400 and r.mimetype != "application/problem+json":
            wrong.append(f"{asked}: {r.status_code} as {r.mimetype}, not problem+json")
    assert wrong == []
