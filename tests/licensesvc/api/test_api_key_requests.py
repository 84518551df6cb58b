"""Key requests over HTTP: grants, every refusal with its case, dry runs, escalation and the
analysts' decisions."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from licensesvc.services.context import ServiceContext
from tests.conftest import FakeClock, World
from tests.licensesvc.api.api_helpers import (
    Tokens,
    add_customer,
    assert_problem,
    bearer,
    count_cases,
    days,
)


def request_key(client: FlaskClient, token: str, **body: Any) -> Any:
    return client.post("/v1/key-requests", json=body, headers=bearer(token))


def test_premium_customer_gets_a_120_day_temporary_key(
    api_client: FlaskClient, tokens_for: Tokens, world: World, clock: FakeClock
) -> None:
    r = request_key(
        api_client,
        tokens_for.premium,
        license_id=world.premium_license,
        kind="temporary",
        reason="usage_spike",
    )
    assert r.status_code == 201, r.get_json()
    body = r.get_json()
    assert body["status"] == "granted"
    assert r.headers["Location"] == f"/v1/key-requests/{body['case_number']}"
    key = body["key"]
    assert key["kind"] == "temporary"
    assert key["key"].startswith("LK1.")
    assert key["status"] == "active"
    assert key["license_id"] == world.premium_license
    assert key["case_number"] == body["case_number"]
    assert key["host"] == "sched.globex.example"
    assert key["issued_at"] == "2026-03-02T15:00:00Z"
    assert key["not_before"] == "2026-03-02T15:00:00Z"
    assert key["expires_at"] == "2026-06-30T15:00:00Z"  # 120 days later
    assert key["supersedes"] is None
    case = api_client.get(r.headers["Location"], headers=bearer(tokens_for.premium)).get_json()
    assert case["status"] == "granted" and case["key_serial"] == key["serial"]


def test_base_customer_gets_a_replacement_that_supersedes_the_standard_key(
    api_client: FlaskClient, tokens_for: Tokens, world: World
) -> None:
    standard = request_key(
        api_client, tokens_for.analyst, license_id=world.base_license, kind="standard"
    )
    assert standard.status_code == 201
    old_serial = standard.get_json()["key"]["serial"]
    r = request_key(
        api_client,
        tokens_for.base,
        license_id=world.base_license,
        kind="replacement",
        host="new-sched.acme.example",
    )
    assert r.status_code == 201, r.get_json()
    key = r.get_json()["key"]
    assert key["supersedes"] == old_serial
    assert key["host"] == "new-sched.acme.example"
    old = api_client.get(f"/v1/keys/{old_serial}", headers=bearer(tokens_for.base)).get_json()
    assert old["status"] == "superseded"
    assert old["superseded_by"] == key["serial"]
    assert old["usable_until"] == "2026-03-16T15:00:00Z"  # the 14-day overlap


def test_base_customer_gets_a_dr_test_key_valid_around_the_test_date(
    api_client: FlaskClient, tokens_for: Tokens, world: World
) -> None:
    r = request_key(
        api_client,
        tokens_for.base,
        license_id=world.base_license,
        kind="dr_test",
        dr_test_date="2026-03-20",
        host="dr.acme.example",
    )
    assert r.status_code == 201, r.get_json()
    key = r.get_json()["key"]
    assert key["kind"] == "dr_test"
    assert key["dr_test_date"] == "2026-03-20"
    assert key["not_before"] == "2026-03-18T00:00:00Z"
    assert key["expires_at"] == "2026-03-25T23:59:59Z"


def test_customer_cannot_ask_for_a_standard_key(
    api_client: FlaskClient, tokens_for: Tokens, world: World, session: Session
) -> None:
    r = request_key(api_client, tokens_for.base, license_id=world.base_license, kind="standard")
    assert_problem(r, 403, "forbidden")


def test_base_customer_cannot_get_temporary_key(
    api_client: FlaskClient, tokens_for: Tokens, world: World
) -> None:
    r = request_key(
        api_client,
        tokens_for.base,
        license_id=world.base_license,
        kind="temporary",
        reason="seasonal_testing",
    )
    body = assert_problem(r, 403, "plan_not_eligible")
    assert body["case_number"].startswith("CS-20260302-")
    assert body["instance"] == f"/v1/key-requests/{body['case_number']}"
    assert "Premium" in body["detail"]
    case = api_client.get(body["instance"], headers=bearer(tokens_for.base)).get_json()
    assert case["status"] == "refused"
    assert case["refusal_code"] == "plan_not_eligible"


@pytest.fixture
def expired_and_lapsed(
    analyst: ServiceContext, tokens_for: Tokens, clock: FakeClock
) -> dict[str, tuple[int, int]]:
    today = clock.today
    expired = add_customer(
        analyst,
        tokens_for,
        "Initech",
        "base",
        start=today - days(400),
        end=today - days(1),
        paid_through=today + days(30),
    )
    lapsed = add_customer(
        analyst,
        tokens_for,
        "Umbrella",
        "premium",
        start=today - days(100),
        end=today + days(265),
        paid_through=today - days(1),
    )
    return {"expired": expired, "lapsed": lapsed}


def test_expired_contract_is_refused_with_a_case(
    api_client: FlaskClient, tokens_for: Tokens, expired_and_lapsed: dict[str, tuple[int, int]]
) -> None:
    customer, lic = expired_and_lapsed["expired"]
    r = request_key(api_client, tokens_for.of(customer), license_id=lic, kind="replacement")
    body = assert_problem(r, 403, "contract_expired")
    assert "ended on 2026-03-01" in body["detail"]
    case = api_client.get(body["instance"], headers=bearer(tokens_for.of(customer))).get_json()
    assert case["refusal_code"] == "contract_expired"


def test_lapsed_maintenance_is_refused_with_a_case(
    api_client: FlaskClient, tokens_for: Tokens, expired_and_lapsed: dict[str, tuple[int, int]]
) -> None:
    customer, lic = expired_and_lapsed["lapsed"]
    r = request_key(api_client, tokens_for.of(customer), license_id=lic, kind="replacement")
    body = assert_problem(r, 403, "maintenance_lapsed")
    case = api_client.get(body["instance"], headers=bearer(tokens_for.of(customer))).get_json()
    assert case["status"] == "refused" and case["refusal_code"] == "maintenance_lapsed"


def test_expired_contract_wins_over_a_premium_only_kind(
    api_client: FlaskClient, tokens_for: Tokens, expired_and_lapsed: dict[str, tuple[int, int]]
) -> None:
    customer, lic = expired_and_lapsed["expired"]  # a Base contract, and expired
    r = request_key(
        api_client, tokens_for.of(customer), license_id=lic, kind="temporary", reason="usage_spike"
    )
    assert_problem(r, 403, "contract_expired")


def test_dr_test_without_a_date_is_refused_as_validation_error_with_a_case(
    api_client: FlaskClient, tokens_for: Tokens, world: World
) -> None:
    r = request_key(api_client, tokens_for.base, license_id=world.base_license, kind="dr_test")
    body = assert_problem(r, 422, "validation_error")
    assert "dr_test_date" in body["detail"]
    assert body["case_number"]


def test_dr_test_on_the_same_day_is_an_invalid_window(
    api_client: FlaskClient, tokens_for: Tokens, world: World
) -> None:
    r = request_key(
        api_client,
        tokens_for.base,
        license_id=world.base_license,
        kind="dr_test",
        dr_test_date="2026-03-02",
    )
    body = assert_problem(r, 422, "invalid_window")
    assert "in advance" in body["detail"]
    assert body["case_number"]


def test_third_dr_test_key_of_the_contract_year_exceeds_the_quota(
    api_client: FlaskClient, tokens_for: Tokens, world: World
) -> None:
    for test_day in ("2026-04-01", "2026-05-01"):
        r = request_key(
            api_client,
            tokens_for.base,
            license_id=world.base_license,
            kind="dr_test",
            dr_test_date=test_day,
        )
        assert r.status_code == 201
    r = request_key(
        api_client,
        tokens_for.base,
        license_id=world.base_license,
        kind="dr_test",
        dr_test_date="2026-06-01",
    )
    body = assert_problem(r, 409, "quota_exceeded")
    assert "2 of 2" in body["detail"]
    case = api_client.get(body["instance"], headers=bearer(tokens_for.base)).get_json()
    assert case["refusal_code"] == "quota_exceeded"


def test_dry_run_explains_a_refusal_and_records_nothing(
    api_client: FlaskClient, tokens_for: Tokens, world: World, session: Session
) -> None:
    before = count_cases(session)
    r = request_key(
        api_client,
        tokens_for.base,
        license_id=world.base_license,
        kind="temporary",
        reason="usage_spike",
        dry_run=True,
    )
    assert r.status_code == 200
    body = r.get_json()
    assert body["dry_run"] is True
    assert body["outcome"] == "refused"
    assert body["code"] == "plan_not_eligible"
    assert body["would_issue"] is None
    checks = {c["check"]: c for c in body["checks"]}
    assert checks["plan_eligible"]["passed"] is False
    assert checks["contract_active"]["passed"] is True
    assert set(checks["quota_available"]) == {"check", "code", "passed", "detail"}
    assert count_cases(session) == before


def test_dry_run_of_a_grant_says_what_would_be_issued_and_records_nothing(
    api_client: FlaskClient, tokens_for: Tokens, world: World, session: Session
) -> None:
    before = count_cases(session)
    r = request_key(
        api_client,
        tokens_for.base,
        license_id=world.base_license,
        kind="dr_test",
        dr_test_date="2026-03-20",
        dry_run=True,
    )
    body = r.get_json()
    assert r.status_code == 200
    assert body["outcome"] == "granted" and body["code"] is None
    assert body["would_issue"] == {
        "kind": "dr_test",
        "not_before": "2026-03-18T00:00:00Z",
        "expires_at": "2026-03-25T23:59:59Z",
    }
    assert all(c["passed"] for c in body["checks"])
    assert count_cases(session) == before
    keys = api_client.get("/v1/keys", headers=bearer(tokens_for.base)).get_json()
    assert keys == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"kind": "replacement", "colour": "blue"}, "colour"),
        ({"kind": "golden"}, "kind"),
        ({"kind": "temporary", "reason": "because"}, "reason"),
        ({"kind": "dr_test", "dr_test_date": "next tuesday"}, "dr_test_date"),
        ({"kind": "replacement", "severity": 9}, "severity"),
        ({"kind": "replacement", "license_id": "1"}, "license_id"),
        ({}, "kind"),
    ],
)
def test_a_request_that_breaks_the_schema_is_a_validation_error_without_a_case(
    api_client: FlaskClient,
    tokens_for: Tokens,
    world: World,
    session: Session,
    body: dict[str, Any],
    field: str,
) -> None:
    before = count_cases(session)
    payload = {"license_id": world.base_license, **body}
    r = request_key(api_client, tokens_for.base, **payload)
    problem = assert_problem(r, 422, "validation_error")
    assert field in problem["errors"]
    assert "case_number" not in problem
    assert count_cases(session) == before


def test_customer_cannot_request_a_key_for_another_customers_license(
    api_client: FlaskClient, tokens_for: Tokens, world: World, session: Session
) -> None:
    before = count_cases(session)
    r = request_key(
        api_client, tokens_for.base, license_id=world.premium_license, kind="replacement"
    )
    assert_problem(r, 404, "not_found")
    assert count_cases(session) == before


def test_customer_cannot_override_policy(
    api_client: FlaskClient, tokens_for: Tokens, world: World
) -> None:
    r = request_key(
        api_client,
        tokens_for.base,
        license_id=world.base_license,
        kind="temporary",
        reason="usage_spike",
        override_reason="I insist",
    )
    assert_problem(r, 403, "forbidden")


def test_analyst_override_grants_what_policy_refuses(
    api_client: FlaskClient, tokens_for: Tokens, world: World
) -> None:
    r = request_key(
        api_client,
        tokens_for.analyst,
        license_id=world.base_license,
        kind="temporary",
        reason="usage_spike",
        override_reason="goodwill during the migration, approved by J. Doe",
    )
    assert r.status_code == 201, r.get_json()
    body = r.get_json()
    assert body["decision_reason"] == "goodwill during the migration, approved by J. Doe"
    assert body["decided_by"] == "analyst:bob"


def test_customer_a_cannot_read_customer_b_case(
    api_client: FlaskClient, tokens_for: Tokens, world: World
) -> None:
    r = request_key(
        api_client, tokens_for.premium, license_id=world.premium_license, kind="replacement"
    )
    case_number = r.get_json()["case_number"]
    r = api_client.get(f"/v1/key-requests/{case_number}", headers=bearer(tokens_for.base))
    assert_problem(r, 404, "not_found")
    r = api_client.post(
        f"/v1/key-requests/{case_number}/escalate", json={}, headers=bearer(tokens_for.base)
    )
    assert_problem(r, 404, "not_found")
    assert_problem(
        api_client.get("/v1/key-requests/CS-NOPE", headers=bearer(tokens_for.base)),
        404,
        "not_found",
    )


def test_case_lists_show_customers_their_own_and_analysts_everything(
    api_client: FlaskClient, tokens_for: Tokens, world: World
) -> None:
    request_key(api_client, tokens_for.premium, license_id=world.premium_license, kind="dr_test")
    request_key(
        api_client,
        tokens_for.base,
        license_id=world.base_license,
        kind="temporary",
        reason="usage_spike",
    )
    mine = api_client.get("/v1/key-requests", headers=bearer(tokens_for.base)).get_json()
    assert [c["customer_id"] for c in mine] == [world.base_customer]
    everything = api_client.get("/v1/key-requests", headers=bearer(tokens_for.analyst)).get_json()
    assert {c["customer_id"] for c in everything} == {world.base_customer, world.premium_customer}
    r = api_client.get(
        f"/v1/key-requests?customer_id={world.premium_customer}", headers=bearer(tokens_for.analyst)
    )
    assert [c["customer_id"] for c in r.get_json()] == [world.premium_customer]


def refused_case(client: FlaskClient, tokens_for: Tokens, world: World) -> str:
    r = request_key(
        client,
        tokens_for.base,
        license_id=world.base_license,
        kind="temporary",
        reason="usage_spike",
    )
    assert r.status_code == 403
    case_number: str = r.get_json()["case_number"]
    return case_number


def test_customer_escalates_a_refused_case_and_gets_a_respond_by_time(
    api_client: FlaskClient, tokens_for: Tokens, world: World
) -> None:
    case_number = refused_case(api_client, tokens_for, world)
    r = api_client.post(
        f"/v1/key-requests/{case_number}/escalate",
        json={"note": "we are migrating this weekend", "severity": 2},
        headers=bearer(tokens_for.base),
    )
    assert r.status_code == 200, r.get_json()
    case = r.get_json()
    assert case["status"] == "escalated"
    assert case["severity"] == 2
    assert case["escalated_at"] == "2026-03-02T15:00:00Z"
    # Base, Sev 2: 4 business hours; Monday 10:00 in New York -> 14:00 = 19:00Z
    assert case["respond_by"] == "2026-03-02T19:00:00Z"
    assert case["escalation_note"] == "we are migrating this weekend"
    listed = api_client.get(
        "/v1/key-requests?status=escalated", headers=bearer(tokens_for.analyst)
    ).get_json()
    assert [c["case_number"] for c in listed] == [case_number]


def test_a_granted_case_cannot_be_escalated(
    api_client: FlaskClient, tokens_for: Tokens, world: World
) -> None:
    r = request_key(api_client, tokens_for.base, license_id=world.base_license, kind="replacement")
    case_number = r.get_json()["case_number"]
    r = api_client.post(
        f"/v1/key-requests/{case_number}/escalate", json={}, headers=bearer(tokens_for.base)
    )
    assert_problem(r, 409, "invalid_state")


def test_customer_cannot_grant_or_deny_a_case(
    api_client: FlaskClient, tokens_for: Tokens, world: World
) -> None:
    case_number = refused_case(api_client, tokens_for, world)
    for verb in ("grant", "deny"):
        r = api_client.post(
            f"/v1/key-requests/{case_number}/{verb}",
            json={"reason": "please"},
            headers=bearer(tokens_for.base),
        )
        assert_problem(r, 403, "forbidden")
    case = api_client.get(f"/v1/key-requests/{case_number}", headers=bearer(tokens_for.base))
    assert case.get_json()["status"] == "refused"


def test_analyst_grants_an_escalated_case_with_a_reason(
    api_client: FlaskClient, tokens_for: Tokens, world: World
) -> None:
    case_number = refused_case(api_client, tokens_for, world)
    api_client.post(
        f"/v1/key-requests/{case_number}/escalate", json={}, headers=bearer(tokens_for.base)
    )
    r = api_client.post(
        f"/v1/key-requests/{case_number}/grant",
        json={"reason": "upgrade to Premium signed, paperwork pending"},
        headers=bearer(tokens_for.analyst),
    )
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert body["status"] == "granted"
    assert body["decision_reason"] == "upgrade to Premium signed, paperwork pending"
    assert body["key"]["kind"] == "temporary"
    assert body["key"]["case_number"] == case_number
    again = api_client.post(
        f"/v1/key-requests/{case_number}/deny",
        json={"reason": "changed my mind"},
        headers=bearer(tokens_for.analyst),
    )
    assert_problem(again, 409, "invalid_state")


def test_analyst_denies_a_case_with_a_reason(
    api_client: FlaskClient, tokens_for: Tokens, world: World
) -> None:
    case_number = refused_case(api_client, tokens_for, world)
    r = api_client.post(
        f"/v1/key-requests/{case_number}/deny",
        json={"reason": "temporary keys are a Premium service"},
        headers=bearer(tokens_for.analyst),
    )
    assert r.status_code == 200
    body = r.get_json()
    assert body["status"] == "denied"
    assert body["decided_by"] == "analyst:bob"
    assert body["decided_at"] == "2026-03-02T15:00:00Z"


def test_a_decision_needs_a_reason(
    api_client: FlaskClient, tokens_for: Tokens, world: World
) -> None:
    case_number = refused_case(api_client, tokens_for, world)
    r = api_client.post(
        f"/v1/key-requests/{case_number}/deny", json={}, headers=bearer(tokens_for.analyst)
    )
    assert "reason" in assert_problem(r, 422, "validation_error")["errors"]
    r = api_client.post(
        f"/v1/key-requests/{case_number}/deny",
        json={"reason": "   "},
        headers=bearer(tokens_for.analyst),
    )
    assert_problem(r, 422, "validation_error")


def test_a_temporary_key_past_the_contract_end_is_an_invalid_window(
    api_client: FlaskClient, tokens_for: Tokens, world: World, clock: FakeClock
) -> None:
    clock.advance(days=300)  # the contract ends 35 days later
    r = request_key(
        api_client,
        tokens_for.premium,
        license_id=world.premium_license,
        kind="temporary",
        reason="infrastructure_change",
    )
    body = assert_problem(r, 422, "invalid_window")
    assert body["case_number"]
