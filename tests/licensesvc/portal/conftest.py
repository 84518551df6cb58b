"""The portal under test: the real app factory on a Runtime whose sessions join the test's
outer transaction (as the API tests do), the test's FakeClock, and a signed-in browser per
customer (Acme on Base, Globex on Premium)."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker
from werkzeug.test import TestResponse

from licensesvc.config import Settings
from licensesvc.identity import users
from licensesvc.issuance.key_requests import KeyRequestInput, request_key
from licensesvc.platform.context import ServiceContext
from licensesvc.runtime import Runtime
from tests.conftest import FakeClock, World
from tests.support.apps import AppCache, app_on

PASSWORD = "correct horse battery"
HTML = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}
_CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')
_FORM_TOKEN = re.compile(r'name="form_token" type="hidden" value="([^"]+)"')


def csrf_of(page: TestResponse) -> str:
    match = _CSRF.search(page.get_data(as_text=True))
    assert match, "the page has no CSRF token"
    return match.group(1)


def form_token_of(page: TestResponse) -> str:
    match = _FORM_TOKEN.search(page.get_data(as_text=True))
    assert match, "the page has no form token"
    return match.group(1)


@dataclass
class Browser:
    """A test client that behaves like a browser: asks for HTML, reads CSRF tokens."""

    client: FlaskClient
    email: str
    license_id: int

    def get(self, path: str, **kw: object) -> TestResponse:
        return self.client.get(path, headers=HTML, **kw)

    def post(
        self,
        path: str,
        data: dict[str, object] | None = None,
        *,
        csrf_from: str | None = None,
        **kw: object,
    ) -> TestResponse:
        """POST a form, with the CSRF token of the page at csrf_from (default: path)."""
        body = dict(data or {})
        if "csrf_token" not in body:
            body["csrf_token"] = csrf_of(self.get(csrf_from or path))
        return self.client.post(path, data=body, headers=HTML, **kw)

    def sign_in(self, password: str = PASSWORD) -> TestResponse:
        return self.post("/login", {"email": self.email, "password": password})

    def text(self, path: str) -> str:
        page = self.get(path)
        assert page.status_code == 200, (path, page.status_code)
        return page.get_data(as_text=True)


class LimiterTime:
    """The rate limiter's clock (the limits package reads time.time()), moved forward."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.offset = 0.0
        real = time.time
        monkeypatch.setattr(time, "time", lambda: real() + self.offset)

    def advance(self, *, seconds: float) -> None:
        self.offset += seconds


@pytest.fixture
def limiter_time(monkeypatch: pytest.MonkeyPatch) -> LimiterTime:
    return LimiterTime(monkeypatch)


@pytest.fixture
def app(
    session: Session,
    settings: Settings,
    clock: FakeClock,
    engine: Engine,
    monkeypatch: pytest.MonkeyPatch,
    request: pytest.FixtureRequest,
    app_cache: AppCache,
) -> Flask:
    """The portal's app (made once per process: tests/support/apps.py); a test marked
    `sign_in_limits(email=..., address=...)` gets those sign-in limits of the rate limiter
    (LICENSESVC_RATELIMIT_SIGN_IN_*), one marked `own_app` an app of its own."""
    marker = request.node.get_closest_marker("sign_in_limits")
    if marker is not None:
        for name, value in marker.kwargs.items():
            monkeypatch.setenv(f"LICENSESVC_RATELIMIT_SIGN_IN_{name.upper()}", value)
    sessions = sessionmaker(
        bind=session.get_bind(),
        join_transaction_mode="create_savepoint",
        expire_on_commit=False,
    )
    app = app_on(Runtime(settings, engine, sessions, clock), app_cache, request)
    app.config["SESSION_COOKIE_SECURE"] = False
    return app


@pytest.fixture
def portal_users(world: World, analyst: ServiceContext) -> dict[str, str]:
    users.create_user(analyst, world.base_customer, "admin@acme.example", PASSWORD)
    users.create_user(analyst, world.premium_customer, "admin@globex.example", PASSWORD)
    for lic in (world.base_license, world.premium_license):
        request_key(analyst, KeyRequestInput(license_id=lic, kind="standard"))
    return {"base": "admin@acme.example", "premium": "admin@globex.example"}


@pytest.fixture
def anonymous(
    app: Flask, session: Session, portal_users: dict[str, str], world: World
) -> Iterator[Browser]:
    session.commit()
    yield Browser(app.test_client(), portal_users["base"], world.base_license)


@pytest.fixture
def base_admin(app: Flask, session: Session, portal_users: dict[str, str], world: World) -> Browser:
    """Acme's administrator (Base plan), signed in."""
    session.commit()
    b = Browser(app.test_client(), portal_users["base"], world.base_license)
    assert b.sign_in().status_code == 302
    return b


@pytest.fixture
def premium_admin(
    app: Flask, session: Session, portal_users: dict[str, str], world: World
) -> Browser:
    """Globex's administrator (Premium plan), signed in."""
    session.commit()
    b = Browser(app.test_client(), portal_users["premium"], world.premium_license)
    assert b.sign_in().status_code == 302
    return b
