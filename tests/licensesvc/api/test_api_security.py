"""Secrets and hygiene over HTTP: security headers, no-store on key-bearing answers, expired and
old-scheme tokens, the last use recorded without a write per request, and a wrong signing-key
passphrase caught at start-up (503, never 500)."""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from licensesvc.app import create_app
from licensesvc.config import Settings
from licensesvc.identity import tokens
from licensesvc.models import ApiToken, IssuedKey
from licensesvc.platform.context import ServiceContext
from licensesvc.runtime import Runtime
from tests.conftest import FakeClock, World
from tests.licensesvc.api.api_helpers import Caller, assert_problem, bearer, no_new_case

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "frame-ancestors 'none'",
}


def assert_security_headers(response: Any) -> None:
    assert {name: response.headers.get(name) for name in SECURITY_HEADERS} == SECURITY_HEADERS


# an unknown path outside /v1/ answers an HTML page, which carries the portal's page policy:
# tests/licensesvc/portal/test_security_headers.py covers it with every other kind of answer
@pytest.mark.parametrize(
    "path", ["/healthz", "/readyz", "/openapi.json", "/docs", "/v1/signing-keys", "/v1/nowhere"]
)
def test_every_answer_carries_the_security_headers(api_client: FlaskClient, path: str) -> None:
    response = api_client.get(path)
    assert response.status_code in (200, 404)
    assert_security_headers(response)


def test_errors_and_authenticated_answers_carry_them_too(
    api_client: FlaskClient, as_base: Caller
) -> None:
    for response in (
        api_client.get("/v1/entitlements"),  # 401
        as_base.get("/v1/keys/NO-SUCH-KEY"),  # 404
        as_base.post("/v1/key-requests", {"kind": "nonsense"}),  # 422
        as_base.get("/v1/entitlements"),  # 200
    ):
        assert_security_headers(response)


def test_key_bearing_answers_are_never_stored_by_a_cache(
    as_base: Caller, as_analyst: Caller, world: World
) -> None:
    granted = as_analyst.ask_for_key("standard", license_id=world.base_license)
    assert granted.status_code == 201
    serial = granted.get_json()["key"]["serial"]
    answers = {
        "grant": granted,
        "list": as_base.get("/v1/keys"),
        "one": as_base.get(f"/v1/keys/{serial}"),
        "license file": as_base.get(f"/v1/keys/{serial}/license-file"),
        "case": as_base.get(f"/v1/key-requests/{granted.get_json()['case_number']}"),
        "refusal": as_base.ask_for_key("temporary", reason="usage_spike"),
        "not found": as_base.get("/v1/keys/NO-SUCH-KEY"),
    }
    assert {name: r.headers.get("Cache-Control") for name, r in answers.items()} == dict.fromkeys(
        answers, "no-store"
    )
    assert answers["one"].status_code == 200 and "key" in answers["one"].get_json()


def test_public_answers_keep_their_own_caching(api_client: FlaskClient, world: World) -> None:
    assert api_client.get("/v1/signing-keys").headers.get("Cache-Control") != "no-store"


@pytest.mark.own_app
def test_a_portal_page_policy_is_kept_and_gets_frame_ancestors(app: Flask) -> None:
    @app.get("/csp-probe")
    def probe() -> Any:
        return "page", 200, {"Content-Security-Policy": "default-src 'self'"}

    response = app.test_client().get("/csp-probe")
    assert response.headers["Content-Security-Policy"] == (
        "default-src 'self'; frame-ancestors 'none'"
    )


def test_an_expired_token_is_told_so(
    api_client: FlaskClient,
    analyst: ServiceContext,
    world: World,
    clock: FakeClock,
    session: Session,
) -> None:
    _, token = tokens.create_token(
        analyst, customer_id=world.base_customer, expires_at=clock() + timedelta(days=1)
    )
    session.commit()
    assert api_client.get("/v1/entitlements", headers=bearer(token)).status_code == 200
    clock.advance(days=1, seconds=1)
    response = api_client.get("/v1/entitlements", headers=bearer(token))
    body = assert_problem(response, 401, "unauthorized")
    assert body["detail"] == "the API token expired at 2026-03-03T15:00:00+00:00; ask for a new one"
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]


def test_a_revoked_token_is_refused_at_once_though_its_check_was_kept(
    api_client: FlaskClient,
    analyst: ServiceContext,
    world: World,
    session: Session,
) -> None:
    rec, token = tokens.create_token(analyst, customer_id=world.base_customer)
    session.commit()
    # checked twice: the second check is the one this process kept (tokens.check_token_cached)
    assert api_client.get("/v1/entitlements", headers=bearer(token)).status_code == 200
    assert api_client.get("/v1/keys", headers=bearer(token)).status_code == 200
    tokens.revoke_token(analyst, rec.id)  # appends its audit record: a new head
    session.commit()
    response = api_client.get("/v1/keys", headers=bearer(token))
    assert assert_problem(response, 401, "unauthorized")["detail"] == "the API token is not valid"


def last_use(session: Session, token_id: int) -> Any:
    session.expire_all()
    return session.scalar(select(ApiToken.last_used_at).where(ApiToken.id == token_id))


def test_reads_record_the_last_use_once_a_minute(
    api_client: FlaskClient,
    analyst: ServiceContext,
    world: World,
    clock: FakeClock,
    session: Session,
) -> None:
    rec, token = tokens.create_token(analyst, customer_id=world.base_customer)
    session.commit()
    start = clock()
    assert api_client.get("/v1/entitlements", headers=bearer(token)).status_code == 200
    assert last_use(session, rec.id) == start
    clock.advance(seconds=30)
    assert api_client.get("/v1/keys", headers=bearer(token)).status_code == 200
    assert last_use(session, rec.id) == start  # within the minute: not written
    clock.advance(seconds=31)
    assert api_client.get("/v1/keys", headers=bearer(token)).status_code == 200
    assert last_use(session, rec.id) == clock()


def test_writes_record_the_last_use_too(
    api_client: FlaskClient,
    analyst: ServiceContext,
    world: World,
    clock: FakeClock,
    session: Session,
) -> None:
    rec, token = tokens.create_token(analyst, analyst="dora")
    session.commit()
    r = api_client.post(
        "/v1/key-requests",
        json={"license_id": world.base_license, "kind": "standard"},
        headers=bearer(token),
    )
    assert r.status_code == 201
    assert last_use(session, rec.id) == clock()


def test_a_token_made_before_derived_keys_works_and_is_upgraded(
    api_client: FlaskClient,
    analyst: ServiceContext,
    world: World,
    settings: Settings,
    session: Session,
) -> None:
    rec, token = tokens.create_token(analyst, customer_id=world.base_customer)
    rec.token_hash = tokens.legacy_token_hash(settings, token)  # as stored before
    session.commit()
    assert api_client.get("/v1/entitlements", headers=bearer(token)).status_code == 200
    session.expire_all()
    assert session.get(ApiToken, rec.id).token_hash == tokens.token_hash(settings, token)
    assert api_client.get("/v1/keys", headers=bearer(token)).status_code == 200


# -- a wrong signing-key passphrase ------------------------------------------------------


@pytest.fixture
def wrong_passphrase_app(
    session: Session,
    settings: Settings,
    clock: FakeClock,
    engine: Engine,
    tokens_for: Any,
    caplog: pytest.LogCaptureFixture,
) -> Flask:
    """The app restarted with another LICENSESVC_SIGNING_KEY_PASSPHRASE than the one the
    active signing key was stored under (the world's key, tokens and customers exist)."""
    session.commit()
    sessions = sessionmaker(
        bind=session.get_bind(), join_transaction_mode="create_savepoint", expire_on_commit=False
    )
    wrong = replace(settings, signing_key_passphrase="not-the-passphrase")
    with caplog.at_level(logging.ERROR):
        return create_app(runtime=Runtime(wrong, engine, sessions, clock))


def test_a_wrong_passphrase_is_logged_once_at_start_up(
    wrong_passphrase_app: Flask, caplog: pytest.LogCaptureFixture
) -> None:
    logged = caplog.get_records("setup")
    assert [r.getMessage() for r in logged if r.levelno >= logging.ERROR] == [
        "signing key: cannot decrypt: wrong LICENSESVC_SIGNING_KEY_PASSPHRASE?"
    ]


def test_readyz_says_the_signing_key_cannot_be_decrypted(wrong_passphrase_app: Flask) -> None:
    response = wrong_passphrase_app.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.get_json() == {
        "status": "unavailable",
        "database": "ok",
        "signing_key": "cannot decrypt: wrong LICENSESVC_SIGNING_KEY_PASSPHRASE?",
    }
    assert wrong_passphrase_app.test_client().get("/healthz").status_code == 200


def test_readyz_is_ok_with_the_right_passphrase(api_client: FlaskClient, analyst: Any) -> None:
    response = api_client.get("/readyz")
    assert response.status_code == 200 and response.get_json()["status"] == "ok"


def test_key_requests_answer_503_and_record_nothing(
    wrong_passphrase_app: Flask, tokens_for: Any, world: World, session: Session
) -> None:
    client = wrong_passphrase_app.test_client()
    keys_before = session.scalar(select(func.count()).select_from(IssuedKey))
    with no_new_case(session):
        response = client.post(
            "/v1/key-requests",
            json={"license_id": world.base_license, "kind": "standard"},
            headers=bearer(tokens_for.analyst),
        )
    body = assert_problem(response, 503, "service_unavailable")
    assert "LICENSESVC_SIGNING_KEY_PASSPHRASE" in body["detail"]
    assert session.scalar(select(func.count()).select_from(IssuedKey)) == keys_before
    # a dry run signs nothing, so it still answers
    dry = client.post(
        "/v1/key-requests",
        json={"license_id": world.base_license, "kind": "standard", "dry_run": True},
        headers=bearer(tokens_for.analyst),
    )
    assert dry.status_code == 200, dry.get_json()
