"""Contracts and licenses over the API (analyst tokens): plan changes, renewals,
terminations, the payment ledger, license changes and retirement, customer calendars; and
the support plan on cases: escalation reasons, the phone notice, status updates the customer
sees, the original refusal kept. Refusals answer problem+json and change nothing."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from tests.conftest import FakeClock, World
from tests.licensesvc.api.api_helpers import Caller, assert_problem, bearer


def patch(caller: Caller, path: str, body: dict[str, object]) -> TestResponse:
    return caller.client.patch(path, json=body, headers=bearer(caller.token))


def contract_url(world: World, tail: str = "") -> str:
    return f"/v1/contracts/{world.base_contract}{tail}"


def test_an_analyst_changes_a_plan_and_the_customer_sees_it(
    as_analyst: Caller, as_base: Caller, world: World, clock: FakeClock
) -> None:
    today = clock.today
    r = as_analyst.post(
        contract_url(world, "/plan-changes"),
        {"plan": "premium", "effective_from": today.isoformat(), "reason": "upgrade signed"},
    )
    assert r.status_code == 201, r.get_json()
    body = r.get_json()
    assert body["plan"] == "base" and body["plan_today"] == "premium"
    assert [p["plan"] for p in body["plan_history"]] == ["base", "premium"]
    report = as_base.read("/v1/entitlements")
    assert report["plan"] == "premium" and "temporary" in report["allowed_key_kinds"]
    assert as_base.read(contract_url(world))["plan_today"] == "premium"


def test_a_customer_cannot_change_its_contract(
    as_base: Caller, world: World, clock: FakeClock
) -> None:
    r = as_base.post(
        contract_url(world, "/plan-changes"),
        {"plan": "premium", "effective_from": clock.today.isoformat(), "reason": "please"},
    )
    assert_problem(r, 403, "forbidden")
    assert as_base.read("/v1/entitlements")["plan"] == "base"


def test_renewal_and_termination_over_the_api(as_analyst: Caller, world: World) -> None:
    contract = as_analyst.read(contract_url(world))
    end = contract["end"]
    r = as_analyst.post(contract_url(world, "/renewal"), {"end": "2028-01-31", "plan": "premium"})
    assert r.status_code == 201, r.get_json()
    renewal = r.get_json()
    assert renewal["renews"] == world.base_contract and renewal["plan"] == "premium"
    assert renewal["start"] > end
    assert as_analyst.read(contract_url(world))["renewed_by"] == renewal["id"]
    body = assert_problem(
        as_analyst.post(contract_url(world, "/renewal"), {"end": "2029-01-31"}),
        409,
        "invalid_state",
    )
    assert f"already renewed by contract {renewal['id']}" in body["detail"]
    r = as_analyst.post(
        f"/v1/contracts/{renewal['id']}/termination", {"on": "2027-06-30", "reason": "insolvent"}
    )
    assert r.status_code == 200 and r.get_json()["terminated_on"] == "2027-06-30"
    assert_problem(
        as_analyst.post(
            f"/v1/contracts/{renewal['id']}/termination", {"on": "2027-06-30", "reason": "again"}
        ),
        409,
        "invalid_state",
    )


def test_the_payment_ledger_over_the_api(as_analyst: Caller, as_base: Caller, world: World) -> None:
    url = contract_url(world, "/payments")
    end = as_analyst.read(contract_url(world))["end"]
    body = assert_problem(
        as_analyst.post(url, {"paid_through": "2030-12-31"}), 422, "validation_error"
    )
    assert body["detail"] == (
        f"maintenance cannot be paid through 2030-12-31: the contract ends on {end}; record "
        "the payment on its renewal (`licensesvc contract renew`)"
    )
    r = as_analyst.post(
        url, {"paid_through": "2026-06-30", "correction": True, "reason": "INV-9 was half a year"}
    )
    assert r.status_code == 201 and r.get_json()["correction"] is True
    r = as_analyst.post(url, {"paid_through": end, "invoice": "INV-10"})
    assert r.status_code == 201
    ledger = as_base.read(url)  # the customer reads its own ledger, newest first
    assert [(e["paid_through"], e["invoice"], e["correction"]) for e in ledger] == [
        (end, "INV-10", False),
        ("2026-06-30", None, True),
        (end, None, False),
    ]
    assert_problem(as_base.post(url, {"paid_through": end}), 403, "forbidden")
    assert len(as_base.read(url)) == 3


def test_a_renewal_ending_before_it_starts_is_refused(as_analyst: Caller, world: World) -> None:
    r = as_analyst.post(contract_url(world, "/renewal"), {"end": "2026-01-01"})
    body = assert_problem(r, 422, "validation_error")
    assert "the renewal starts on" in body["detail"]


def test_license_changes_and_retirement_over_the_api(
    as_analyst: Caller, as_base: Caller, world: World
) -> None:
    url = f"/v1/licenses/{world.base_license}"
    r = as_analyst.post(f"{url}/changes", {"agents": 40, "reason": "bought 30 agents"})
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["agents"] == 40
    assert r.get_json()["changes"][0]["changes"] == {"agents": [10, 40]}
    body = assert_problem(
        as_analyst.post(f"{url}/changes", {"host": "bad host", "reason": "x"}),
        422,
        "validation_error",
    )
    assert "is not a host name" in body["detail"]
    assert_problem(as_base.post(f"{url}/changes", {"agents": 99, "reason": "x"}), 403, "forbidden")
    assert as_base.read(url)["agents"] == 40
    r = as_analyst.post(f"{url}/retirement", {"reason": "decommissioned"})
    assert r.status_code == 200 and r.get_json()["retired_at"]
    refusal = assert_problem(as_base.ask_for_key("replacement"), 422, "validation_error")
    assert f"license {world.base_license} was retired on" in refusal["detail"]
    assert refusal["case_number"]


def test_customer_region_and_holidays_over_the_api(as_analyst: Caller, world: World) -> None:
    url = f"/v1/customers/{world.premium_customer}"
    r = patch(as_analyst, url, {"holidays": "GB-SCT"})
    assert r.status_code == 200 and r.get_json()["holidays"] == "GB-SCT"
    body = assert_problem(patch(as_analyst, url, {"holidays": "ZZ"}), 422, "validation_error")
    assert "unknown holiday country 'ZZ'" in body["detail"]
    assert_problem(patch(as_analyst, url, {"region": "mars"}), 422, "validation_error")


@pytest.fixture
def refused_number(as_base: Caller) -> str:
    r = as_base.ask_for_key("temporary", reason="usage_spike")
    assert r.status_code == 403
    return str(r.get_json()["case_number"])


def test_a_sev_1_escalation_says_to_phone_and_updates_reach_the_customer(
    as_base: Caller, as_analyst: Caller, refused_number: str, clock: FakeClock
) -> None:
    r = as_base.on_case(refused_number, "escalate", severity=1, reason="review_refusal")
    assert r.status_code == 200, r.get_json()
    case = r.get_json()
    assert case["escalation_reason"] == "review_refusal"
    assert case["phone_required"] is True and case["support_phone"] == "1-800-261-5267"
    assert "Phone call is required" in case["notice"]
    # Monday 10:00 EST, Base Sev 1: 1 hour of 24x5 cover; updates daily (24 hours)
    assert case["respond_by"] == "2026-03-02T16:00:00Z"
    assert case["next_update_due"] == "2026-03-03T15:00:00Z"
    assert case["overdue"] is False
    assert_problem(
        as_base.post(f"/v1/key-requests/{refused_number}/updates", {"text": "me"}), 403, "forbidden"
    )
    clock.advance(hours=2)
    seen = as_base.case(refused_number)
    assert seen["overdue"] is True and seen["overdue_reason"].startswith("no response by")
    r = as_analyst.post(f"/v1/key-requests/{refused_number}/updates", {"text": "Calling you now"})
    assert r.status_code == 201, r.get_json()
    seen = as_base.case(refused_number)
    assert [u["text"] for u in seen["updates"]] == ["Calling you now"]
    assert seen["next_update_due"] == "2026-03-03T17:00:00Z" and seen["overdue"] is False


def test_escalating_an_on_time_case_again_is_invalid_state(
    as_base: Caller, refused_number: str
) -> None:
    assert as_base.on_case(refused_number, "escalate").status_code == 200
    body = assert_problem(
        as_base.on_case(refused_number, "escalate", reason="response_time_not_met"),
        409,
        "invalid_state",
    )
    assert "already escalated and on time" in body["detail"]
    assert_problem(
        as_base.on_case(refused_number, "escalate", reason="bored"), 422, "validation_error"
    )


def test_a_granted_case_shows_its_original_refusal(
    as_base: Caller, as_analyst: Caller, refused_number: str
) -> None:
    r = as_analyst.on_case(refused_number, "grant", reason="goodwill")
    assert r.status_code == 200
    case = as_base.case(refused_number)
    assert case["status"] == "granted" and case["refusal_code"] is None
    assert case["original_refusal_code"] == "plan_not_eligible"
    assert case["original_refusal_message"].startswith("temporary keys are a Premium plan")


def test_lifecycle_routes_need_a_token(api_client: FlaskClient, world: World) -> None:
    r = api_client.post(f"/v1/contracts/{world.base_contract}/termination", json={})
    assert_problem(r, 401, "unauthorized")
