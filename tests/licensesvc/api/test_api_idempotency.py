"""Idempotency-Key on key requests and escalations: a retry gets the first answer again and
changes nothing; the same key for another request, or a duplicate still in flight, is refused."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import Engine, event, func, select
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from licensesvc.models import AuditRecord, IdempotencyKey, IssuedKey, KeyRequest
from tests.conftest import FakeClock, World
from tests.licensesvc.api.api_helpers import Caller, assert_problem, bearer

KEY_REQUESTS = "/v1/key-requests"


def post(caller: Caller, path: str, body: dict[str, Any], key: str | None) -> TestResponse:
    headers = bearer(caller.token)
    if key is not None:
        headers["Idempotency-Key"] = key
    return caller.client.post(path, json=body, headers=headers)


def counts(session: Session) -> tuple[int, int, int]:
    """(cases, keys, audit records) as they stand."""
    session.expire_all()
    return (
        session.scalar(select(func.count()).select_from(KeyRequest)) or 0,
        session.scalar(select(func.count()).select_from(IssuedKey)) or 0,
        session.scalar(select(func.count()).select_from(AuditRecord)) or 0,
    )


def test_a_retried_key_request_gets_the_first_key_and_issues_nothing_more(
    as_premium: Caller, world: World, session: Session
) -> None:
    body = {"kind": "temporary", "license_id": world.premium_license, "reason": "usage_spike"}
    first = post(as_premium, KEY_REQUESTS, body, "retry-1")
    assert first.status_code == 201, first.get_json()
    assert "Idempotent-Replayed" not in first.headers
    before = counts(session)
    # the same body in another order and spacing is the same request
    again = post(as_premium, KEY_REQUESTS, dict(reversed(list(body.items()))), "retry-1")
    assert again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json() == first.get_json()
    assert again.headers["Location"] == first.headers["Location"]
    assert counts(session) == before
    # without a key, a second request is a second request (and the active temporary key
    # of this license is now taken)
    assert_problem(post(as_premium, KEY_REQUESTS, body, None), 409, "quota_exceeded")
    assert counts(session)[0] == before[0] + 1


def test_a_retried_refusal_gets_the_same_case_again(
    as_base: Caller, world: World, session: Session
) -> None:
    body = {"kind": "temporary", "license_id": world.base_license, "reason": "usage_spike"}
    first = assert_problem(post(as_base, KEY_REQUESTS, body, "refused-1"), 403, "plan_not_eligible")
    before = counts(session)
    r = post(as_base, KEY_REQUESTS, body, "refused-1")
    again = assert_problem(r, 403, "plan_not_eligible")
    assert r.headers["Idempotent-Replayed"] == "true"
    assert again == first and again["case_number"]
    assert counts(session) == before


def test_the_same_key_for_another_body_is_refused_and_changes_nothing(
    as_premium: Caller, world: World, session: Session
) -> None:
    body = {"kind": "temporary", "license_id": world.premium_license, "reason": "usage_spike"}
    assert post(as_premium, KEY_REQUESTS, body, "k-2").status_code == 201
    before = counts(session)
    other = {**body, "reason": "server_migration"}
    problem = assert_problem(
        post(as_premium, KEY_REQUESTS, other, "k-2"), 422, "idempotency_key_reused"
    )
    assert "different request" in problem["detail"]
    assert counts(session) == before


def test_keys_belong_to_their_caller(
    as_base: Caller, as_premium: Caller, as_analyst: Caller, world: World, session: Session
) -> None:
    as_analyst.issue("standard", license_id=world.base_license)  # what the replacement replaces
    assert (
        post(
            as_premium,
            KEY_REQUESTS,
            {"kind": "temporary", "license_id": world.premium_license, "reason": "usage_spike"},
            "shared-name",
        ).status_code
        == 201
    )
    r = post(
        as_base,
        KEY_REQUESTS,
        {"kind": "replacement", "license_id": world.base_license, "host": "n.acme.example"},
        "shared-name",
    )
    assert r.status_code == 201, r.get_json()
    assert "Idempotent-Replayed" not in r.headers


def test_a_retried_escalation_is_escalated_once(
    as_base: Caller, world: World, session: Session
) -> None:
    refused = as_base.ask_for_key("temporary", reason="usage_spike").get_json()
    path = f"{KEY_REQUESTS}/{refused['case_number']}/escalate"
    first = post(as_base, path, {"note": "we need it", "severity": 2}, "esc-1")
    assert first.status_code == 200, first.get_json()
    before = counts(session)
    again = post(as_base, path, {"note": "we need it", "severity": 2}, "esc-1")
    assert again.status_code == 200
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json() == first.get_json()
    assert counts(session) == before
    # without the key, the retry meets the escalated case
    assert_problem(post(as_base, path, {"note": "we need it"}, None), 409, "invalid_state")


def test_a_key_is_kept_24_hours_then_purged(
    as_premium: Caller, world: World, session: Session, clock: FakeClock
) -> None:
    body = {"kind": "temporary", "license_id": world.premium_license, "reason": "usage_spike"}
    first = post(as_premium, KEY_REQUESTS, body, "day-1").get_json()
    clock.advance(hours=23, minutes=59)
    assert post(as_premium, KEY_REQUESTS, body, "day-1").headers.get("Idempotent-Replayed")
    clock.advance(minutes=2)
    later = post(as_premium, KEY_REQUESTS, body, "day-1")
    assert_problem(later, 409, "quota_exceeded")  # a new request: the license's slot is taken
    assert "Idempotent-Replayed" not in later.headers
    assert later.get_json()["case_number"] != first["case_number"]
    session.expire_all()
    assert session.scalar(select(func.count()).select_from(IdempotencyKey)) == 1


def test_an_error_that_records_nothing_is_not_kept(
    as_premium: Caller, world: World, session: Session
) -> None:
    body = {"kind": "temporary", "license_id": 999_999, "reason": "usage_spike"}
    assert_problem(post(as_premium, KEY_REQUESTS, body, "nf-1"), 404, "not_found")
    session.expire_all()
    assert session.scalar(select(func.count()).select_from(IdempotencyKey)) == 0


@pytest.mark.parametrize("key", ["", "x" * 256, "tab\tin"], ids=["empty", "too_long", "control"])
def test_a_malformed_key_is_refused(
    api_client: FlaskClient, as_premium: Caller, world: World, session: Session, key: str
) -> None:
    before = counts(session)
    body = {"kind": "temporary", "license_id": world.premium_license, "reason": "usage_spike"}
    problem = assert_problem(post(as_premium, KEY_REQUESTS, body, key), 422, "validation_error")
    assert "Idempotency-Key" in problem["detail"]
    assert counts(session) == before


def test_the_openapi_documents_the_header(api_client: FlaskClient) -> None:
    spec = api_client.get("/openapi.json").get_json()
    for path in (KEY_REQUESTS, KEY_REQUESTS + "/{case_number}/escalate"):
        operation = spec["paths"][path]["post"]
        names = [p.get("name") for p in operation.get("parameters", [])]
        assert "Idempotency-Key" in names, path
        assert {"409", "422"} <= set(operation["responses"])


def test_a_key_costs_a_request_three_round_trips_more_and_a_replay_two(
    as_base: Caller, world: World, engine: Engine
) -> None:
    """What the header costs (platform/idempotency.py): the lock with the purge, the lookup,
    and the row with its answer; a replay, the first two and no work."""
    body = {"kind": "temporary", "license_id": world.base_license, "reason": "usage_spike"}

    def statements(key: str | None) -> list[str]:
        found: list[str] = []

        def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
            if statement.split(None, 1)[0].upper() not in ("SAVEPOINT", "RELEASE"):
                found.append(statement)

        event.listen(engine, "before_cursor_execute", count)
        try:
            refused = post(as_base, KEY_REQUESTS, body, key)  # a Base plan: a refused case
        finally:
            event.remove(engine, "before_cursor_execute", count)
        assert_problem(refused, 403, "plan_not_eligible")
        return found

    def keys_table(found: list[str]) -> list[str]:
        return [s for s in found if "idempotency_keys" in s]

    statements(None)  # warm
    plain = statements(None)
    keyed = statements("rt-1")
    assert (len(keyed) - len(plain), len(keys_table(keyed))) == (3, 3), keys_table(keyed)
    replayed = statements("rt-1")
    assert len(keys_table(replayed)) == 2, keys_table(replayed)
    assert len(replayed) < len(plain)  # no work: no case, no audit record
