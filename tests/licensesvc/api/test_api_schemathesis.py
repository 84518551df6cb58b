"""Property-based tests of the whole API from its own /openapi.json (schemathesis), in process
against the WSGI app on the test database: every operation, every check, with a customer's and
an analyst's token. 0 server errors and 0 answers outside their documented schemas and status
codes. 25 examples per operation and role by default, 100 in the full run
(LICENSESVC_FULL_TESTS=1); LICENSESVC_SCHEMATHESIS_EXAMPLES sets any other number."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from hypothesis import HealthCheck, settings

if os.environ.get("CI"):
    import schemathesis  # CI must run these tests, never skip them for a missing package
else:
    schemathesis = pytest.importorskip(
        "schemathesis", reason="pip install -e '.[dev]' (schemathesis)"
    )

from licensesvc.web import EXTENSION  # noqa: E402
from tests.licensesvc.api.api_helpers import Tokens  # noqa: E402
from tests.support.runs import size  # noqa: E402

#: every check but positive_data_acceptance: a request that fits the schema may still be
#: refused by policy (a refused key request is a recorded case answered 403/409/422; an
#: unknown license is 404; an analyst names the customer of /v1/entitlements), all documented
EXCLUDED = [schemathesis.checks.positive_data_acceptance]
EXAMPLES = int(os.environ.get("LICENSESVC_SCHEMATHESIS_EXAMPLES", size(100, 25)))


def _schema_app() -> Flask:
    """An app to read /openapi.json from at collection time; each test points it at its own
    runtime (the test database, clock and tokens) before the first call."""
    from licensesvc.app import create_app
    from licensesvc.config import Policy, Settings
    from licensesvc.runtime import Runtime

    settings_ = Settings(
        database_url="sqlite://",
        secret_key="schema-only",
        signing_key_passphrase="schema-only",
        data_dir=Path(tempfile.gettempdir()),
        policy=Policy(),
    )
    app = create_app(runtime=Runtime.from_settings(settings_))
    app.config["TESTING"] = True
    # hundreds of requests a second, many without a token, would meet the failed-auth limit and
    # turn expected 401s into 429s; the limits have their own tests (test_rate_limits.py)
    from licensesvc.ratelimit import EXTENSION as RATE_LIMITER

    app.extensions[RATE_LIMITER].enabled = False
    return app


SCHEMA_APP = _schema_app()
schema = schemathesis.openapi.from_wsgi("/openapi.json", SCHEMA_APP)


@pytest.fixture
def served(app: Flask, api_client: Any, tokens_for: Tokens) -> Tokens:
    """The schema's app now runs on this test's runtime; returns the tokens."""
    SCHEMA_APP.extensions[EXTENSION] = app.extensions[EXTENSION]
    return tokens_for


def _auth(case: Any, token: str) -> dict[str, str]:
    """The caller's token, unless the case is about bad headers (then schemathesis left the
    Authorization header out on purpose, and the answer must be a 401)."""
    from schemathesis.core.parameters import ParameterLocation

    info = case.meta.components.get(ParameterLocation.HEADER) if case.meta else None
    if info is not None and not info.mode.is_positive:
        return {}
    return {"Authorization": f"Bearer {token}"}


_SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)


@schema.parametrize()
@_SETTINGS
def test_api_answers_as_documented_to_a_customer(case: Any, served: Tokens) -> None:
    case.call_and_validate(headers=_auth(case, served.premium), excluded_checks=EXCLUDED)


@schema.parametrize()
@_SETTINGS
def test_api_answers_as_documented_to_an_analyst(case: Any, served: Tokens) -> None:
    case.call_and_validate(headers=_auth(case, served.analyst), excluded_checks=EXCLUDED)
