"""Key requests over HTTP: grants, every refusal with its case, dry runs, escalation and the
analysts' decisions."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from licensesvc.platform.context import ServiceContext
from tests.conftest import FakeClock, World
from tests.licensesvc.api.api_helpers import (
    Caller,
    Tokens,
    add_customer,
    assert_problem,
    days,
    no_new_case,
)


def test_premium_customer_gets_a_120_day_temporary_key(as_premium: Caller, world: World) -> None:
    r = as_premium.ask_for_key("temporary", reason="usage_spike")
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
    case = as_premium.read(r.headers["Location"])
    assert case["status"] == "granted" and case["key_serial"] == key["serial"]


def test_base_customer_gets_a_replacement_that_supersedes_the_standard_key(
    as_base: Caller, as_analyst: Caller, world: World
) -> None:
    old_serial = as_analyst.issue("standard", license_id=world.base_license)["serial"]
    key = as_base.issue("replacement", host="new-sched.acme.example")
    assert key["supersedes"] == old_serial
    assert key["host"] == "new-sched.acme.example"
    old = as_base.read(f"/v1/keys/{old_serial}")
    assert old["status"] == "superseded"
    assert old["superseded_by"] == key["serial"]
    assert old["usable_until"] == "2026-03-16T15:00:00Z"  # the 14-day overlap


def test_base_customer_gets_a_dr_test_key_valid_around_the_test_date(as_base: Caller) -> None:
    key = as_base.issue("dr_test", dr_test_date="2026-03-20", host="dr.acme.example")
    assert key["kind"] == "dr_test"
    assert key["dr_test_date"] == "2026-03-20"
    # Acme's calendar days (America/New_York, EDT): 18 March 00:00 to 25 March 23:59:59
    assert key["not_before"] == "2026-03-18T04:00:00Z"
    assert key["expires_at"] == "2026-03-26T03:59:59Z"


@pytest.mark.parametrize(
    ("kind", "fields"),
    [
        pytest.param("standard", {}, id="ask_for_a_standard_key"),
        pytest.param(
            "temporary",
            {"reason": "usage_spike", "override_reason": "I insist"},
            id="override_policy",
        ),
    ],
)
def test_customer_cannot(as_base: Caller, kind: str, fields: dict[str, Any]) -> None:
    assert_problem(as_base.ask_for_key(kind, **fields), 403, "forbidden")


def test_base_customer_cannot_get_temporary_key(as_base: Caller) -> None:
    r = as_base.ask_for_key("temporary", reason="seasonal_testing")
    body = assert_problem(r, 403, "plan_not_eligible")
    assert body["case_number"].startswith("CS-20260302-")
    assert body["instance"] == f"/v1/key-requests/{body['case_number']}"
    assert "Premium" in body["detail"]
    case = as_base.read(body["instance"])
    assert case["status"] == "refused"
    assert case["refusal_code"] == "plan_not_eligible"


@pytest.fixture
def expired_and_lapsed(
    api_client: FlaskClient, analyst: ServiceContext, tokens_for: Tokens, clock: FakeClock
) -> dict[str, Caller]:
    """A Base customer whose contract ended yesterday, and a Premium one whose maintenance was
    paid through yesterday; each asking about its own license."""
    today = clock.today
    expired = add_customer(
        analyst,
        tokens_for,
        "Initech",
        "base",
        start=today - days(400),
        end=today - days(1),
        paid_through=today - days(1),
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
    return {
        name: Caller(api_client, tokens_for.of(customer), lic)
        for name, (customer, lic) in {"expired": expired, "lapsed": lapsed}.items()
    }


@pytest.mark.parametrize(
    ("customer", "code", "detail_says"),
    [
        pytest.param("expired", "contract_expired", "ended on 2026-03-01", id="expired_contract"),
        pytest.param(
            "lapsed", "maintenance_lapsed", "paid through 2026-03-01", id="lapsed_maintenance"
        ),
    ],
)
def test_a_customer_is_refused_with_a_case_for(
    expired_and_lapsed: dict[str, Caller], customer: str, code: str, detail_says: str
) -> None:
    caller = expired_and_lapsed[customer]
    body = assert_problem(caller.ask_for_key("replacement"), 403, code)
    assert detail_says in body["detail"]
    case = caller.read(body["instance"])
    assert case["status"] == "refused" and case["refusal_code"] == code


def test_expired_contract_wins_over_a_premium_only_kind(
    expired_and_lapsed: dict[str, Caller],
) -> None:
    # a Base contract, and expired
    r = expired_and_lapsed["expired"].ask_for_key("temporary", reason="usage_spike")
    assert_problem(r, 403, "contract_expired")


@pytest.mark.parametrize(
    ("fields", "code", "detail_says"),
    [
        pytest.param(
            {}, "validation_error", "dr_test_date", id="without_a_date_as_a_validation_error"
        ),
        pytest.param(
            {"dr_test_date": "2026-03-02"},
            "invalid_window",
            "in advance",
            id="on_the_same_day_as_an_invalid_window",
        ),
    ],
)
def test_a_dr_test_request_is_refused_with_a_case(
    as_base: Caller, fields: dict[str, Any], code: str, detail_says: str
) -> None:
    body = assert_problem(as_base.ask_for_key("dr_test", **fields), 422, code)
    assert detail_says in body["detail"]
    assert body["case_number"]


def test_third_dr_test_key_of_the_contract_year_exceeds_the_quota(as_base: Caller) -> None:
    for test_day in ("2026-04-01", "2026-05-01"):
        as_base.issue("dr_test", dr_test_date=test_day)
    r = as_base.ask_for_key("dr_test", dr_test_date="2026-06-01")
    body = assert_problem(r, 409, "quota_exceeded")
    assert "2 of 2" in body["detail"]
    assert as_base.read(body["instance"])["refusal_code"] == "quota_exceeded"


def test_dry_run_explains_a_refusal_and_records_nothing(as_base: Caller, session: Session) -> None:
    with no_new_case(session):
        r = as_base.ask_for_key("temporary", reason="usage_spike", dry_run=True)
    assert r.status_code == 200
    body = r.get_json()
    assert body["dry_run"] is True
    assert body["outcome"] == "refused"
    assert body["code"] == "plan_not_eligible"
    assert body["would_issue"] is None
    checks = {c["check"]: c for c in body["checks"]}
    assert checks["plan_eligible"]["passed"] is False
    assert checks["contract_active"]["passed"] is True
    assert set(checks["quota_available"]) == {"check", "code", "passed", "detail", "overridable"}


def test_dry_run_of_a_grant_says_what_would_be_issued_and_records_nothing(
    as_base: Caller, session: Session
) -> None:
    with no_new_case(session):
        r = as_base.ask_for_key("dr_test", dr_test_date="2026-03-20", dry_run=True)
    body = r.get_json()
    assert r.status_code == 200
    assert body["outcome"] == "granted" and body["code"] is None
    assert body["would_issue"] == {
        "kind": "dr_test",
        "not_before": "2026-03-18T04:00:00Z",  # Acme's days: America/New_York, EDT
        "expires_at": "2026-03-26T03:59:59Z",
    }
    assert all(c["passed"] for c in body["checks"])
    assert as_base.read("/v1/keys") == []


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
    as_base: Caller, world: World, session: Session, body: dict[str, Any], field: str
) -> None:
    with no_new_case(session):
        r = as_base.post("/v1/key-requests", {"license_id": world.base_license, **body})
    problem = assert_problem(r, 422, "validation_error")
    assert field in problem["errors"]
    assert "case_number" not in problem


def test_customer_cannot_request_a_key_for_another_customers_license(
    as_base: Caller, world: World, session: Session
) -> None:
    with no_new_case(session):
        r = as_base.ask_for_key("replacement", license_id=world.premium_license)
    assert_problem(r, 404, "not_found")


def test_analyst_override_grants_what_policy_refuses(as_analyst: Caller, world: World) -> None:
    r = as_analyst.ask_for_key(
        "temporary",
        license_id=world.base_license,
        reason="usage_spike",
        override_reason="goodwill during the migration, approved by J. Doe",
    )
    assert r.status_code == 201, r.get_json()
    body = r.get_json()
    assert body["decision_reason"] == "goodwill during the migration, approved by J. Doe"
    assert body["decided_by"] == "analyst:bob"


def test_customer_a_cannot_read_customer_b_case(as_base: Caller, as_premium: Caller) -> None:
    case_number = as_premium.ask_for_key("replacement").get_json()["case_number"]
    assert_problem(as_base.get(f"/v1/key-requests/{case_number}"), 404, "not_found")
    assert_problem(as_base.on_case(case_number, "escalate"), 404, "not_found")
    assert_problem(as_base.get("/v1/key-requests/CS-NOPE"), 404, "not_found")


def test_case_lists_show_customers_their_own_and_analysts_everything(
    as_base: Caller, as_premium: Caller, as_analyst: Caller, world: World
) -> None:
    as_premium.ask_for_key("dr_test")
    as_base.ask_for_key("temporary", reason="usage_spike")
    mine = as_base.read("/v1/key-requests")
    assert [c["customer_id"] for c in mine] == [world.base_customer]
    everything = as_analyst.read("/v1/key-requests")
    assert {c["customer_id"] for c in everything} == {world.base_customer, world.premium_customer}
    theirs = as_analyst.read(f"/v1/key-requests?customer_id={world.premium_customer}")
    assert [c["customer_id"] for c in theirs] == [world.premium_customer]


@pytest.fixture
def refused_case(as_base: Caller) -> str:
    """The number of the Base customer's refused request for a temporary key."""
    r = as_base.ask_for_key("temporary", reason="usage_spike")
    assert r.status_code == 403
    case_number: str = r.get_json()["case_number"]
    return case_number


def test_customer_escalates_a_refused_case_and_gets_a_respond_by_time(
    as_base: Caller, as_analyst: Caller, refused_case: str
) -> None:
    r = as_base.on_case(refused_case, "escalate", note="we are migrating this weekend", severity=2)
    assert r.status_code == 200, r.get_json()
    case = r.get_json()
    assert case["status"] == "escalated"
    assert case["severity"] == 2
    assert case["escalated_at"] == "2026-03-02T15:00:00Z"
    # Base, Sev 2: 4 business hours; Monday 10:00 in New York -> 14:00 = 19:00Z
    assert case["respond_by"] == "2026-03-02T19:00:00Z"
    assert case["escalation_note"] == "we are migrating this weekend"
    listed = as_analyst.read("/v1/key-requests?status=escalated")
    assert [c["case_number"] for c in listed] == [refused_case]


def test_a_granted_case_cannot_be_escalated(as_base: Caller) -> None:
    response = as_base.ask_for_key("dr_test", dr_test_date="2026-03-20", host="dr.acme.example")
    case_number = response.get_json()["case_number"]
    assert_problem(as_base.on_case(case_number, "escalate"), 409, "invalid_state")


def test_customer_cannot_grant_or_deny_a_case(as_base: Caller, refused_case: str) -> None:
    for verb in ("grant", "deny"):
        assert_problem(as_base.on_case(refused_case, verb, reason="please"), 403, "forbidden")
    assert as_base.case(refused_case)["status"] == "refused"


def test_analyst_grants_an_escalated_case_with_a_reason(
    as_base: Caller, as_analyst: Caller, refused_case: str
) -> None:
    as_base.on_case(refused_case, "escalate")
    r = as_analyst.on_case(
        refused_case, "grant", reason="upgrade to Premium signed, paperwork pending"
    )
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert body["status"] == "granted"
    assert body["decision_reason"] == "upgrade to Premium signed, paperwork pending"
    assert body["key"]["kind"] == "temporary"
    assert body["key"]["case_number"] == refused_case
    again = as_analyst.on_case(refused_case, "deny", reason="changed my mind")
    assert_problem(again, 409, "invalid_state")


def test_analyst_denies_a_case_with_a_reason(as_analyst: Caller, refused_case: str) -> None:
    r = as_analyst.on_case(refused_case, "deny", reason="temporary keys are a Premium service")
    assert r.status_code == 200
    body = r.get_json()
    assert body["status"] == "denied"
    assert body["decided_by"] == "analyst:bob"
    assert body["decided_at"] == "2026-03-02T15:00:00Z"


def test_a_decision_needs_a_reason(as_analyst: Caller, refused_case: str) -> None:
    r = as_analyst.on_case(refused_case, "deny")
    assert "reason" in assert_problem(r, 422, "validation_error")["errors"]
    assert_problem(as_analyst.on_case(refused_case, "deny", reason="   "), 422, "validation_error")


def test_a_temporary_key_past_the_contract_end_is_an_invalid_window(
    as_premium: Caller, clock: FakeClock
) -> None:
    clock.advance(days=300)  # the contract ends 35 days later
    r = as_premium.ask_for_key("temporary", reason="infrastructure_change")
    body = assert_problem(r, 422, "invalid_window")
    assert body["case_number"]
