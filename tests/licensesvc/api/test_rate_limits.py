"""Rate limits: each limit, when met, answers 429 problem+json `rate_limited` with
Retry-After; ordinary use with the default limits never meets one; several app servers share
their counters through Redis."""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from licensesvc.app import create_app
from licensesvc.config import Settings
from licensesvc.ratelimit import (
    RateLimitConfigurationError,
    RateLimits,
    SignInThrottled,
    count_sign_in_failure,
    hit_sign_in,
    token_prefix,
)
from licensesvc.runtime import Runtime
from tests.conftest import FakeClock, World
from tests.licensesvc.api.api_helpers import Caller, Tokens, assert_problem, bearer
from tests.support.apps import AppCache, app_on

REDIS_URL = os.environ.get("LICENSESVC_TEST_REDIS_URL", "redis://127.0.0.1:6379/5")

#: low limits, so that a test meets each one in a few requests
LOW = {
    "LICENSESVC_RATELIMIT_FAILED_AUTH": "3/minute",
    "LICENSESVC_RATELIMIT_VERIFY": "4/minute",
    "LICENSESVC_RATELIMIT_KEY_REQUESTS": "3/minute",
    "LICENSESVC_RATELIMIT_ESCALATIONS": "2/minute",
    "LICENSESVC_RATELIMIT_SIGN_IN_ADDRESS": "5/minute",
    "LICENSESVC_RATELIMIT_SIGN_IN_EMAIL": "3/minute",
}


def _make_app(session: Session, settings: Settings, clock: FakeClock, engine: Engine) -> Flask:
    sessions = sessionmaker(
        bind=session.get_bind(), join_transaction_mode="create_savepoint", expire_on_commit=False
    )
    return create_app(runtime=Runtime(settings, engine, sessions, clock))


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
    """The app with low limits, unless the test is marked `default_limits` (made once per
    configuration and process: tests/support/apps.py)."""
    if "default_limits" not in request.keywords:
        for name, value in LOW.items():
            monkeypatch.setenv(name, value)
    sessions = sessionmaker(
        bind=session.get_bind(), join_transaction_mode="create_savepoint", expire_on_commit=False
    )
    return app_on(Runtime(settings, engine, sessions, clock), app_cache, request)


def assert_rate_limited(response: Any) -> int:
    body = assert_problem(response, 429, "rate_limited")
    retry_after = int(response.headers["Retry-After"])
    assert 1 <= retry_after <= 61
    assert body["retry_after"] == retry_after
    assert f"try again in {retry_after} s" in body["detail"]
    return retry_after


def test_failed_authentications_from_one_address_are_limited_and_logged(
    as_base: Caller, api_client: FlaskClient, caplog: pytest.LogCaptureFixture
) -> None:
    bad = "lsc_cust_WRONGwrongWRONGwrongWRONGwr"
    with caplog.at_level(logging.WARNING, logger="licensesvc.auth"):
        for _ in range(3):
            assert_problem(
                api_client.get("/v1/entitlements", headers=bearer(bad)), 401, "unauthorized"
            )
        assert_rate_limited(api_client.get("/v1/entitlements", headers=bearer(bad)))
        # the address is blocked whatever it sends next, a valid token included
        assert_rate_limited(as_base.get("/v1/entitlements"))
    failures = [r for r in caplog.records if r.name == "licensesvc.auth"]
    assert len(failures) == 3
    assert all("lsc_cust_WRON" in r.getMessage() for r in failures)
    assert not any(bad in r.getMessage() for r in failures)
    # another address is not affected
    r = api_client.get(
        "/v1/entitlements",
        headers=bearer(as_base.token),
        environ_base={"REMOTE_ADDR": "192.0.2.7"},
    )
    assert r.status_code == 200


def test_successful_requests_do_not_count_as_failed_authentications(as_base: Caller) -> None:
    for _ in range(10):
        assert as_base.get("/v1/entitlements").status_code == 200


def test_online_verify_is_limited_per_address(api_client: FlaskClient, world: World) -> None:
    for _ in range(4):
        assert api_client.post("/v1/keys/verify", json={"key": "LK1.x.y"}).status_code == 200
    assert_rate_limited(api_client.post("/v1/keys/verify", json={"key": "LK1.x.y"}))
    other = api_client.post(
        "/v1/keys/verify", json={"key": "LK1.x.y"}, environ_base={"REMOTE_ADDR": "192.0.2.8"}
    )
    assert other.status_code == 200


def test_key_requests_are_limited_per_customer_not_per_address(
    as_base: Caller, as_premium: Caller, as_analyst: Caller, world: World
) -> None:
    for _ in range(3):
        assert as_base.ask_for_key("replacement", dry_run=True).status_code == 200
    assert_rate_limited(as_base.ask_for_key("replacement", dry_run=True))
    # the same address, another customer: its own count
    assert as_premium.ask_for_key("replacement", dry_run=True).status_code == 200
    # analysts are exempt
    for _ in range(5):
        r = as_analyst.ask_for_key("replacement", license_id=world.base_license, dry_run=True)
        assert r.status_code == 200


def test_a_rate_limited_key_request_records_no_case(as_base: Caller, session: Session) -> None:
    from tests.licensesvc.api.api_helpers import no_new_case

    for _ in range(3):
        as_base.ask_for_key("temporary", reason="usage_spike")  # refused: Base plan
    with no_new_case(session):
        assert_rate_limited(as_base.ask_for_key("temporary", reason="usage_spike"))


def test_escalations_are_limited_per_customer(as_base: Caller) -> None:
    cases = []
    for _ in range(3):
        r = as_base.ask_for_key("temporary", reason="usage_spike")
        assert_problem(r, 403, "plan_not_eligible")
        cases.append(r.get_json()["case_number"])
    for case in cases[:2]:
        assert as_base.on_case(case, "escalate", note="please review").status_code == 200
    assert_rate_limited(as_base.on_case(cases[2], "escalate", note="please review"))
    assert as_base.case(cases[2])["status"] == "refused"  # nothing changed


def test_sign_in_attempts_are_limited_per_email_and_per_address(app: Flask) -> None:
    with app.test_request_context("/login", method="POST"):
        for _ in range(3):
            hit_sign_in("Admin@Acme.example")
            count_sign_in_failure("Admin@Acme.example")
        with pytest.raises(SignInThrottled) as caught:
            hit_sign_in(" admin@acme.example ")  # the same person, typed differently
        assert 1 <= caught.value.retry_after <= 61
        hit_sign_in("someone@acme.example")  # the fifth attempt from this address
        with pytest.raises(SignInThrottled):
            hit_sign_in("third@acme.example")
    with app.test_request_context("/login", method="POST", environ_base={"REMOTE_ADDR": "1.2.3.4"}):
        # the same email from an address without failures of its own
        hit_sign_in("admin@acme.example")


@pytest.mark.default_limits
def test_ordinary_use_never_meets_the_default_limits(
    as_base: Caller, as_premium: Caller, api_client: FlaskClient, tokens_for: Tokens
) -> None:
    """A busy customer's day in one minute: entitlements, dry runs and requests, escalations,
    an installer verifying its keys, a few mistyped tokens."""
    statuses: list[int] = []
    key = as_premium.issue("temporary", reason="usage_spike")["key"]
    for _ in range(60):
        statuses.append(as_base.get("/v1/entitlements").status_code)
        statuses.append(as_base.ask_for_key("replacement", dry_run=True).status_code)
        statuses.append(api_client.post("/v1/keys/verify", json={"key": key}).status_code)
    for _ in range(10):
        r = as_base.ask_for_key("temporary", reason="usage_spike")
        statuses.append(r.status_code)
        statuses.append(
            as_base.on_case(
                r.get_json()["case_number"], "escalate", note="please review"
            ).status_code
        )
    for _ in range(5):
        statuses.append(api_client.get("/v1/keys", headers=bearer("lsc_cust_typo")).status_code)
    assert 429 not in statuses
    assert set(statuses) <= {200, 401, 403}


def test_limits_are_configurable_and_bad_values_name_the_variable() -> None:
    limits = RateLimits.from_env(
        {
            "LICENSESVC_RATELIMIT_VERIFY": "10/second",
            "LICENSESVC_RATELIMIT_STORAGE_URL": "redis://127.0.0.1:6379/3",
            "LICENSESVC_TRUSTED_PROXIES": "1",
        }
    )
    assert limits.verify == "10/second"
    assert limits.storage_url == "redis://127.0.0.1:6379/3"
    assert limits.trusted_proxies == 1
    assert RateLimits.from_env({}) == RateLimits()
    for name, value in (
        ("LICENSESVC_RATELIMIT_VERIFY", "lots"),
        ("LICENSESVC_RATELIMIT_ENABLED", "maybe"),
        ("LICENSESVC_RATELIMIT_STORAGE_URL", "127.0.0.1:6379"),
        ("LICENSESVC_TRUSTED_PROXIES", "-1"),
    ):
        with pytest.raises(RateLimitConfigurationError, match=name):
            RateLimits.from_env({name: value})


def test_log_lines_name_a_token_by_its_prefix_only() -> None:
    assert token_prefix("lsc_anl_abcdEFGHijklMNOP") == "lsc_anl_abcd"
    assert token_prefix("hunter2hunter2") == "<14 chars, not an lsc_ token>"
    assert token_prefix(None) == "none"


def test_behind_a_trusted_proxy_the_forwarded_address_is_counted(
    session: Session,
    settings: Settings,
    clock: FakeClock,
    engine: Engine,
    monkeypatch: pytest.MonkeyPatch,
    world: World,
) -> None:
    session.commit()
    monkeypatch.setenv("LICENSESVC_RATELIMIT_VERIFY", "2/minute")
    monkeypatch.setenv("LICENSESVC_TRUSTED_PROXIES", "1")
    client = _make_app(session, settings, clock, engine).test_client()

    def verify(client_address: str) -> int:
        return client.post(
            "/v1/keys/verify", json={"key": "x"}, headers={"X-Forwarded-For": client_address}
        ).status_code

    assert [verify("198.51.100.1") for _ in range(3)] == [200, 200, 429]
    assert verify("198.51.100.2") == 200


@pytest.fixture
def redis_url() -> Iterator[str]:
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_timeout=2).ping()
    except redis.RedisError as error:
        if os.environ.get("CI"):
            pytest.fail(f"Redis is needed at {REDIS_URL}: {error}")
        pytest.skip(f"Redis not reachable at {REDIS_URL} (scripts/ensure-services.sh starts it)")
    yield REDIS_URL


def test_two_app_servers_share_their_counters_through_redis(
    session: Session,
    settings: Settings,
    clock: FakeClock,
    engine: Engine,
    monkeypatch: pytest.MonkeyPatch,
    redis_url: str,
    world: World,
) -> None:
    session.commit()
    monkeypatch.setenv("LICENSESVC_RATELIMIT_VERIFY", "4/minute")
    monkeypatch.setenv("LICENSESVC_RATELIMIT_STORAGE_URL", redis_url)
    first = _make_app(session, settings, clock, engine).test_client()
    second = _make_app(session, settings, clock, engine).test_client()
    # an address of this test's own, so that earlier runs' counters do not matter
    address = {"REMOTE_ADDR": f"10.{uuid.uuid4().int % 250}.{os.getpid() % 250}.9"}
    statuses = [
        client.post("/v1/keys/verify", json={"key": "x"}, environ_base=address).status_code
        for client in (first, second, first, second)
    ]
    assert statuses == [200, 200, 200, 200]
    assert_rate_limited(second.post("/v1/keys/verify", json={"key": "x"}, environ_base=address))
    assert_rate_limited(first.post("/v1/keys/verify", json={"key": "x"}, environ_base=address))


def test_in_memory_counters_start_no_thread_and_still_expire(
    session: Session,
    settings: Settings,
    clock: FakeClock,
    engine: Engine,
    monkeypatch: pytest.MonkeyPatch,
    world: World,
) -> None:
    import threading
    import time

    session.commit()
    monkeypatch.setenv("LICENSESVC_RATELIMIT_VERIFY", "2/2 seconds")
    client = _make_app(session, settings, clock, engine).test_client()
    started: list[object] = []
    monkeypatch.setattr(threading.Timer, "start", lambda self: started.append(self))
    # start early in a 2-second window (they are aligned to the epoch): three requests that
    # straddle a window's end weigh the previous window's two hits at just under 2, which the
    # counter floors to 1, and the third is allowed
    while time.time() % 2 > 0.5:
        time.sleep(0.05)
    statuses = [client.post("/v1/keys/verify", json={"key": "x"}).status_code for _ in range(3)]
    assert statuses == [200, 200, 429]
    # the window has passed (a sliding window spans two periods), well inside the database's
    # idle-in-transaction timeout that would end the test's outer transaction
    time.sleep(4.2)
    assert client.post("/v1/keys/verify", json={"key": "x"}).status_code == 200
    assert started == []  # limits' stock memory storage would start a Timer thread


def test_an_unreachable_shared_store_counts_in_memory_and_keeps_serving(
    session: Session,
    settings: Settings,
    clock: FakeClock,
    engine: Engine,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    world: World,
) -> None:
    session.commit()
    monkeypatch.setenv("LICENSESVC_RATELIMIT_VERIFY", "3/minute")
    # nothing listens on port 9 of 127.0.0.1 (discard): every Redis call fails at once
    monkeypatch.setenv("LICENSESVC_RATELIMIT_STORAGE_URL", "redis://127.0.0.1:9/0")
    client = _make_app(session, settings, clock, engine).test_client()
    with caplog.at_level(logging.WARNING, logger="licensesvc.auth"):
        statuses = [client.post("/v1/keys/verify", json={"key": "x"}).status_code for _ in range(3)]
        assert statuses == [200, 200, 200]
        # the limit still holds, counted in memory
        assert_rate_limited(client.post("/v1/keys/verify", json={"key": "x"}))
    warnings = [r.getMessage() for r in caplog.records if r.name == "licensesvc.auth"]
    assert warnings == ["rate limit storage unreachable: counting in memory for now"]
