"""Issue 24 (what an attacker found), the portal's findings, each reproduced as the issue
wrote it and seen refused: a disabled user's tokens (4), the failed-authentication limit on
portal pages (6), a chosen admin locked out (8), the portal outside the per-customer limits
(11), the session cookie's prefix (17)."""

from __future__ import annotations

import json
import logging
import re
import time

import pytest
from click.testing import CliRunner
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cli.main import cli
from cli.state import CliState
from licensesvc.models import KeyRequest, User
from licensesvc.web import runtime_of
from tests.conftest import World
from tests.licensesvc.portal.conftest import HTML, Browser, LimiterTime, csrf_of

_NEW_TOKEN = re.compile(r'id="new-token" class="key-text" type="text" readonly value="([^"]+)"')


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _portal_token(b: Browser) -> str:
    page = b.post("/tokens", {"name": "ci", "expires_in_days": "0"})
    assert page.status_code == 200
    found = _NEW_TOKEN.search(page.get_data(as_text=True))
    assert found, "the page shows no new token"
    return found.group(1)


def _licensesvc(app: Flask, *args: str) -> str:
    """`licensesvc ARGS` run by analyst alice on the portal's database; its stdout."""
    result = CliRunner().invoke(
        cli, list(args), obj=CliState(runtime=runtime_of(app), analyst="alice")
    )
    assert result.exit_code == 0, result.output
    return result.stdout


def _start_of_a_minute(limiter_time: LimiterTime) -> None:
    """Move the limiter's clock to a second past a whole minute: the limits' sliding windows
    are whole minutes, and a test that crossed into the next one would see part of its count
    forgotten (the previous window is weighted by what is left of it)."""
    limiter_time.advance(seconds=61 - time.time() % 60)


# -- 4: a disabled portal user's API tokens keep working ------------------------------------


def test_disabling_a_user_revokes_the_tokens_they_made_in_the_portal(
    app: Flask, base_admin: Browser, session: Session
) -> None:
    token = _portal_token(base_admin)
    api = app.test_client()
    assert api.get("/v1/keys", headers=_bearer(token)).status_code == 200
    # token list shows who made it, in words and in JSON
    listed = json.loads(_licensesvc(app, "--json", "token", "list"))
    mine = next(t for t in listed if token.startswith(t["prefix"]))
    assert mine["created_by"] == "user:admin@acme.example" and mine["revoked_at"] is None
    table = _licensesvc(app, "token", "list")
    assert "MADE BY" in table.splitlines()[0]
    assert "user:admin@acme.example" in table
    user_id = session.scalar(select(User.id).where(User.email == "admin@acme.example"))
    _licensesvc(app, "user", "disable", str(user_id))
    refused = api.get("/v1/keys", headers=_bearer(token))
    assert refused.status_code == 401
    assert "key_text" not in refused.get_data(as_text=True)
    listed = json.loads(_licensesvc(app, "--json", "token", "list"))
    assert next(t for t in listed if t["id"] == mine["id"])["revoked_at"] is not None
    trail = json.loads(_licensesvc(app, "--json", "audit", "list", "--entity", f"user:{user_id}"))
    disabled = next(r for r in trail if r["action"] == "user.disabled")
    assert disabled["details"]["tokens_revoked"] == [mine["id"]]
    trail = json.loads(
        _licensesvc(app, "--json", "audit", "list", "--entity", f"token:{mine['id']}")
    )
    assert [r["action"] for r in trail][0] == "token.revoked"


# -- 6: the failed-authentication limit turned every portal page into a 500 -----------------


def test_portal_pages_answer_429_after_the_failed_authentication_limit(
    app: Flask, anonymous: Browser, caplog: pytest.LogCaptureFixture, limiter_time: LimiterTime
) -> None:
    _start_of_a_minute(limiter_time)
    api = app.test_client()
    for n in range(70):
        api.get("/v1/keys", headers=_bearer(f"lsc_cust_madeup{n:04d}xxxxxxxxxxxxxxxx"))
    caplog.clear()
    with caplog.at_level(logging.ERROR):
        page = anonymous.get("/login")
    assert page.status_code == 429
    assert 1 <= int(page.headers["Retry-After"]) <= 3600
    assert page.mimetype == "text/html"
    assert "Too many requests. Try again in" in page.get_data(as_text=True)
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []


# -- 8: anyone could lock a chosen customer admin out for hours ------------------------------


def test_wrong_passwords_from_many_addresses_never_lock_out_the_right_one(
    anonymous: Browser, limiter_time: LimiterTime
) -> None:
    """100 wrong passwords for the victim's email from 100 addresses over 11 minutes; then the
    victim, from an address with no failures, signs in with the right password."""
    victim = anonymous.email
    csrf = csrf_of(anonymous.get("/login"))
    for n in range(100):
        limiter_time.advance(seconds=6.6)
        page = anonymous.client.post(
            "/login",
            data={"email": victim, "password": "wrong password!", "csrf_token": csrf},
            headers=HTML,
            environ_base={"REMOTE_ADDR": f"198.51.{n // 200}.{n % 200 + 1}"},
        )
        assert page.status_code in (401, 429)
    # an attacker's address that failed is held back, briefly
    again = anonymous.client.post(
        "/login",
        data={"email": victim, "password": "wrong password!", "csrf_token": csrf},
        headers=HTML,
        environ_base={"REMOTE_ADDR": "198.51.0.100"},
    )
    assert again.status_code == 429
    assert int(again.headers["Retry-After"]) <= 600
    # the victim's right password, from the office
    page = anonymous.client.post(
        "/login",
        data={"email": victim, "password": "correct horse battery", "csrf_token": csrf},
        headers=HTML,
        environ_base={"REMOTE_ADDR": "203.0.113.7"},
    )
    assert page.status_code == 302 and page.headers["Location"] == "/"


@pytest.mark.sign_in_limits(email="3/minute")
def test_one_address_guessing_one_email_is_still_stopped(anonymous: Browser) -> None:
    for _ in range(3):
        assert anonymous.sign_in("wrong password!").status_code == 401
    assert anonymous.sign_in().status_code == 429  # this address used up its failures


# -- 11: the portal was not counted against the key-request and escalation limits -----------


def _refused_case(api: Flask, token: str, license_id: int) -> str:
    r = api.test_client().post(
        "/v1/key-requests",
        json={"license_id": license_id, "kind": "temporary", "reason": "usage_spike"},
        headers=_bearer(token),
    )
    assert r.status_code == 403, r.get_json()
    case: str = r.get_json()["case_number"]
    return case


def test_the_portal_counts_against_the_apis_per_customer_limits(
    app: Flask, base_admin: Browser, session: Session, world: World, limiter_time: LimiterTime
) -> None:
    token = _portal_token(base_admin)
    _start_of_a_minute(limiter_time)
    api = app.test_client()
    dry = {"license_id": world.base_license, "kind": "replacement", "dry_run": True}
    statuses = [
        api.post("/v1/key-requests", json=dry, headers=_bearer(token)).status_code
        for _ in range(121)
    ]
    assert statuses[-1] == 429 and 429 not in statuses[:120]
    cases_before = session.scalar(select(func.count()).select_from(KeyRequest))
    page = base_admin.get(f"/requests/new?kind=replacement&license_id={world.base_license}")
    assert page.status_code == 429 and "Retry-After" in page.headers
    form = {
        "csrf_token": csrf_of(base_admin.get("/cases")),
        "form_token": "f" * 32,
        "kind": "replacement",
        "license_id": world.base_license,
    }
    for _ in range(20):  # dry runs
        checked = base_admin.client.post("/requests/new", data={**form, "check": "1"}, headers=HTML)
        assert checked.status_code == 429
    submitted = base_admin.client.post("/requests/new", data={**form, "confirm": "1"}, headers=HTML)
    assert submitted.status_code == 429
    assert session.scalar(select(func.count()).select_from(KeyRequest)) == cases_before


def test_the_portal_counts_against_the_apis_escalation_limit(
    app: Flask, base_admin: Browser, session: Session, world: World, limiter_time: LimiterTime
) -> None:
    token = _portal_token(base_admin)
    _start_of_a_minute(limiter_time)
    first = _refused_case(app, token, world.base_license)
    second = _refused_case(app, token, world.base_license)
    api = app.test_client()
    statuses = [
        api.post(
            f"/v1/key-requests/{first}/escalate", json={"note": "please"}, headers=_bearer(token)
        ).status_code
        for _ in range(31)
    ]
    assert statuses[-1] == 429 and 429 not in statuses[:30]
    page = base_admin.post(
        f"/cases/{second}/escalate",
        {"reason": "review_refusal", "severity": "3"},
        csrf_from=f"/cases/{second}",
    )
    assert page.status_code == 429 and "Retry-After" in page.headers
    status = session.scalar(select(KeyRequest.status).where(KeyRequest.case_number == second))
    assert status == "refused"


# -- 17: the session cookie lacked the __Host- prefix -----------------------------------------


def test_a_secure_session_cookie_is_host_prefixed(app: Flask, anonymous: Browser) -> None:
    app.config["SESSION_COOKIE_SECURE"] = True
    page = anonymous.sign_in()
    assert page.status_code == 302
    cookie = page.headers["Set-Cookie"]
    assert cookie.startswith("__Host-licensesvc_portal=")
    assert "Secure" in cookie and "Path=/" in cookie and "Domain" not in cookie
    stored = anonymous.client.get_cookie("__Host-licensesvc_portal")
    assert stored is not None and anonymous.client.get_cookie("licensesvc_portal") is None
    home = anonymous.client.get("/", headers=HTML, base_url="https://localhost")
    assert home.status_code == 200 and "Acme" in home.get_data(as_text=True)


def test_plain_http_development_keeps_an_unprefixed_cookie(app: Flask, anonymous: Browser) -> None:
    """Without Secure (LICENSESVC_PORTAL_COOKIE_SECURE=false, development's default) a
    browser would drop a `__Host-` cookie, so the name carries no prefix there."""
    assert app.config["SESSION_COOKIE_SECURE"] is False
    page = anonymous.sign_in()
    assert page.headers["Set-Cookie"].startswith("licensesvc_portal=")
    assert "Acme" in anonymous.text("/")
