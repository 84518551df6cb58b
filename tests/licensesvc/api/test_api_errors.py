"""Every error is problem+json from one place, and every error path rolls the session back."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from licensesvc.accounts import customers
from licensesvc.api.blueprint import ApiBlueprint
from licensesvc.domain.errors import InvalidState
from licensesvc.models import Customer
from licensesvc.platform.context import Actor
from licensesvc.web import db_session, runtime_of
from tests.conftest import World
from tests.licensesvc.api.api_helpers import Caller, assert_problem, bearer


def test_unknown_route_is_not_found(api_client: FlaskClient) -> None:
    body = assert_problem(api_client.get("/v1/nothing-here"), 404, "not_found")
    assert body["instance"] == "/v1/nothing-here"
    assert body["type"] == "/docs#problem-not_found"


def test_wrong_method_is_405_with_allow(api_client: FlaskClient) -> None:
    r = api_client.delete("/v1/signing-keys")
    assert_problem(r, 405, "method_not_allowed")
    assert "GET" in r.headers["Allow"]


def test_a_body_over_one_mebibyte_is_413(api_client: FlaskClient) -> None:
    r = api_client.post(
        "/v1/keys/verify",
        data=b'{"key": "' + b"A" * (1024 * 1024 + 10) + b'"}',
        content_type="application/json",
    )
    assert_problem(r, 413, "payload_too_large")


def test_malformed_json_is_400_validation_error(api_client: FlaskClient) -> None:
    r = api_client.post("/v1/keys/verify", data=b'{"key": ', content_type="application/json")
    body = assert_problem(r, 400, "validation_error")
    assert body["errors"]


def test_a_json_body_that_is_not_an_object_is_422(api_client: FlaskClient) -> None:
    r = api_client.post("/v1/keys/verify", json=["LK1.x"])
    assert_problem(r, 422, "validation_error")


def test_unknown_query_parameter_is_a_validation_error(as_base: Caller) -> None:
    r = as_base.get("/v1/keys?colour=blue")
    assert "colour" in assert_problem(r, 422, "validation_error")["errors"]


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/v1/entitlements"),
        ("get", "/v1/licenses"),
        ("get", "/v1/key-requests"),
        ("post", "/v1/key-requests"),
        ("get", "/v1/key-requests/CS-20260302-AAAAAA"),
        ("post", "/v1/key-requests/CS-20260302-AAAAAA/escalate"),
        ("post", "/v1/key-requests/CS-20260302-AAAAAA/grant"),
        ("post", "/v1/key-requests/CS-20260302-AAAAAA/deny"),
        ("get", "/v1/keys"),
        ("get", "/v1/keys/SN-AAAA"),
        ("get", "/v1/keys/SN-AAAA/license-file"),
        ("post", "/v1/keys/SN-AAAA/revoke"),
    ],
)
def test_no_token_is_401_before_the_body_is_even_read(
    api_client: FlaskClient, method: str, path: str
) -> None:
    r = getattr(api_client, method)(path, json={"nonsense": True})
    assert_problem(r, 401, "unauthorized")
    assert r.headers["WWW-Authenticate"].startswith("Bearer")


def test_an_unknown_or_revoked_token_is_401(api_client: FlaskClient, world: World) -> None:
    r = api_client.get("/v1/keys", headers=bearer("lsc_cust_not-a-real-token"))
    assert_problem(r, 401, "unauthorized")
    assert 'error="invalid_token"' in r.headers["WWW-Authenticate"]
    r = api_client.get("/v1/keys", headers={"Authorization": "Basic dXNlcjpwYXNz"})
    assert_problem(r, 401, "unauthorized")


@pytest.fixture
def failing_client(app: Flask, api_client: FlaskClient) -> FlaskClient:
    """A client of the app with API routes that write, then fail: with a domain error, and
    with a bug; and a page off the API that meets a domain error."""

    def write_customer(name: str) -> None:
        ctx = runtime_of().context(db_session(), Actor.system())
        customers.create_customer(ctx, name)

    blp = ApiBlueprint("test-failures", __name__, url_prefix="/v1/_test")

    @blp.post("/domain-error")
    def domain_error() -> str:
        write_customer("Written then refused")
        raise InvalidState("not now")

    @blp.post("/bug")
    def bug() -> str:
        write_customer("Written then crashed")
        raise RuntimeError("password=hunter2 at /srv/secret.py line 3")

    app.register_blueprint(blp)

    @app.get("/_test/page-meets-domain-error")
    def page() -> str:
        raise InvalidState("not now")

    return api_client


@pytest.mark.own_app
def test_an_unexpected_error_is_500_without_traceback_or_secret_and_rolls_back(
    failing_client: FlaskClient, session: Session
) -> None:
    r = failing_client.post("/v1/_test/bug")
    body = assert_problem(r, 500, "internal_error")
    text = r.get_data(as_text=True)
    assert "hunter2" not in text and "Traceback" not in text and "secret.py" not in text
    assert body["detail"].startswith("An unexpected error occurred")
    assert session.scalar(select(Customer).where(Customer.name == "Written then crashed")) is None


@pytest.mark.own_app
def test_a_domain_error_rolls_back_what_the_request_wrote(
    failing_client: FlaskClient, session: Session
) -> None:
    r = failing_client.post("/v1/_test/domain-error")
    assert_problem(r, 409, "invalid_state")
    assert session.scalar(select(Customer).where(Customer.name == "Written then refused")) is None


def test_a_browser_off_the_api_keeps_an_html_error_page(api_client: FlaskClient) -> None:
    r = api_client.get("/no-such-page", headers={"Accept": "text/html,*/*;q=0.8"})
    assert r.status_code == 404
    assert r.mimetype == "text/html"
    api = api_client.get("/v1/no-such-thing", headers={"Accept": "text/html,*/*;q=0.8"})
    assert api.mimetype == "application/problem+json"


@pytest.mark.own_app
def test_a_domain_error_off_the_api_is_not_problem_json(failing_client: FlaskClient) -> None:
    # the portal renders its own error pages: the API's handler is scoped to its blueprints
    r = failing_client.get("/_test/page-meets-domain-error")
    assert r.status_code == 500
    assert r.mimetype == "text/html"
    assert b"not now" not in r.data


def test_routes_off_the_api_keep_flasks_own_errors(api_client: FlaskClient) -> None:
    for r in (api_client.post("/healthz"), api_client.get("/no-such-page")):
        assert r.status_code in (404, 405)
        assert r.mimetype == "text/html"
    assert api_client.get("/openapi.json/nothing").mimetype == "text/html"
    assert_problem(api_client.post("/openapi.json"), 405, "method_not_allowed")
