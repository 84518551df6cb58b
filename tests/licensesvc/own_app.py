"""An app whose sessions are its own (as in production, unlike the API tests' sessions, which
join a transaction the test holds), and a count of the SQL statements of its requests: for the
tests of what a request costs in round trips once warm (the token check kept in the process,
platform/changefeed.py)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event, text
from werkzeug.test import TestResponse

from licensesvc.app import create_app
from licensesvc.identity import tokens
from licensesvc.runtime import Runtime
from tests.conftest import FakeClock, fresh_database_url
from tests.e2e.e2e_helpers import Prepared, e2e_settings, issue_standard_key, prepare


@dataclass
class OwnApp:
    """An app on a database of its own, its runtime (clock by hand) and the prepared data."""

    app: Flask
    client: FlaskClient
    runtime: Runtime
    clock: FakeClock
    data: Prepared
    url: str

    def ask_for_replacement(self, token: str | None = None) -> TestResponse:
        return self.client.post(
            "/v1/key-requests",
            json={"license_id": self.data.license["Acme"], "kind": "replacement"},
            headers={"Authorization": f"Bearer {token or self.data.token['Acme']}"},
        )

    def token_id(self, name: str) -> int:
        with self.runtime.engine.connect() as conn:
            found = conn.execute(
                text("SELECT id FROM api_tokens WHERE token_hash = :h"),
                {"h": tokens.token_hash(self.runtime.settings, self.data.token[name])},
            ).scalar_one()
            return int(found)


@pytest.fixture(name="own_app")
def own_app_fixture(tmp_path: Path) -> Iterator[OwnApp]:
    """An OwnApp on a fresh database (the suite's SQLite or PostgreSQL), Acme with a
    standard key."""
    for url in fresh_database_url(tmp_path, "tokcheck"):
        settings = e2e_settings(url, tmp_path)
        data = prepare(settings, [("Acme", "base", "na", -30, 335, 335)])
        issue_standard_key(settings, data.license["Acme"])
        clock = FakeClock(datetime.now(UTC).replace(microsecond=0))
        runtime = Runtime.from_settings(settings, clock=clock)
        try:
            app = create_app(runtime=runtime)
            yield OwnApp(app, app.test_client(), runtime, clock, data, url)
        finally:
            runtime.engine.dispose()


@dataclass
class Counted:
    """The SQL statements of the request's thread, and how many ran before the view (the
    request's preprocessing: the token check)."""

    statements: list[str]
    before_view: int | None = None


@contextmanager
def counting(own: OwnApp, blueprint: str) -> Iterator[Counted]:
    counted = Counted([])
    here = threading.get_ident()

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if threading.get_ident() == here:
            counted.statements.append(statement)

    def mark() -> None:  # runs after the blueprint's require_token
        counted.before_view = len(counted.statements)

    funcs = own.app.before_request_funcs.setdefault(blueprint, [])
    funcs.append(mark)
    event.listen(own.runtime.engine, "before_cursor_execute", count)
    try:
        yield counted
    finally:
        event.remove(own.runtime.engine, "before_cursor_execute", count)
        funcs.remove(mark)
