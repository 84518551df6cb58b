"""The API under test: the real app factory (its app made once per process) on a Runtime whose
sessions join the test's outer transaction (each request commits into a savepoint that the
test rolls back), with the test's FakeClock, and bearer tokens for a Base customer, a Premium
customer and an analyst."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from licensesvc.config import Settings
from licensesvc.identity import tokens
from licensesvc.platform.context import ServiceContext
from licensesvc.runtime import Runtime
from tests.conftest import FakeClock, World
from tests.licensesvc.api.api_helpers import Caller, Tokens
from tests.support.apps import AppCache, app_on


@pytest.fixture
def app(
    session: Session,
    settings: Settings,
    clock: FakeClock,
    engine: Engine,
    app_cache: AppCache,
    request: pytest.FixtureRequest,
) -> Flask:
    """The app on this test's runtime (made once per process: tests/support/apps.py; a test
    marked `own_app` gets one of its own)."""
    sessions = sessionmaker(
        bind=session.get_bind(),
        join_transaction_mode="create_savepoint",
        expire_on_commit=False,
    )
    return app_on(Runtime(settings, engine, sessions, clock), app_cache, request)


@pytest.fixture
def api_client(app: Flask, session: Session) -> Iterator[FlaskClient]:
    # what the fixtures made is committed into the outer transaction, visible to the app
    session.commit()
    yield app.test_client()


@pytest.fixture
def tokens_for(world: World, analyst: ServiceContext) -> Tokens:
    _, base = tokens.create_token(analyst, customer_id=world.base_customer)
    _, premium = tokens.create_token(analyst, customer_id=world.premium_customer)
    _, anl = tokens.create_token(analyst, analyst="bob")
    return Tokens(base, premium, anl, {})


@pytest.fixture
def as_base(api_client: FlaskClient, tokens_for: Tokens, world: World) -> Caller:
    """The Base customer (Acme), asking about its own license."""
    return Caller(api_client, tokens_for.base, world.base_license)


@pytest.fixture
def as_premium(api_client: FlaskClient, tokens_for: Tokens, world: World) -> Caller:
    """The Premium customer (Globex), asking about its own license."""
    return Caller(api_client, tokens_for.premium, world.premium_license)


@pytest.fixture
def as_analyst(api_client: FlaskClient, tokens_for: Tokens) -> Caller:
    """The analyst bob; names the license of every key request."""
    return Caller(api_client, tokens_for.analyst)
