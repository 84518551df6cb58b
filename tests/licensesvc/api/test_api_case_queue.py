"""The analysts' queue over HTTP: assign, internal notes, severity with a reason; analyst
tokens only, strict bodies, and notes never in what the customer reads."""

from __future__ import annotations

import pytest

from tests.licensesvc.api.api_helpers import Caller, assert_problem


@pytest.fixture
def escalated_number(as_base: Caller) -> str:
    r = as_base.ask_for_key("temporary", reason="usage_spike")
    number = str(r.get_json()["case_number"])
    assert as_base.on_case(number, "escalate", severity=3).status_code == 200
    return number


def test_an_analyst_assigns_notes_and_raises_severity(
    as_base: Caller, as_analyst: Caller, escalated_number: str
) -> None:
    path = f"/v1/key-requests/{escalated_number}"
    r = as_analyst.post(f"{path}/assign", {"owner": "bob"})
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["owner"] == "bob"
    r = as_analyst.post(f"{path}/notes", {"text": "internal: their admin is on leave"})
    assert r.status_code == 201, r.get_json()
    assert [n["text"] for n in r.get_json()["notes"]] == ["internal: their admin is on leave"]
    before = as_base.case(escalated_number)["respond_by"]
    r = as_analyst.post(f"{path}/severity", {"severity": 1, "reason": "production down"})
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["severity"] == 1 and r.get_json()["respond_by"] != before
    seen = as_base.get(path)
    assert seen.status_code == 200
    assert "leave" not in seen.get_data(as_text=True)
    assert "owner" not in seen.get_json() and "notes" not in seen.get_json()
    assert seen.get_json()["severity"] == 1


@pytest.mark.parametrize(
    ("verb", "body"),
    [
        ("assign", {"owner": "bob", "extra": 1}),
        ("assign", {"owner": ""}),
        ("notes", {}),
        ("notes", {"text": "a\x1bb"}),
        ("severity", {"severity": 5, "reason": "x"}),
        ("severity", {"severity": "1", "reason": "x"}),
        ("severity", {"severity": 2}),
    ],
)
def test_bodies_are_strict(
    as_analyst: Caller, escalated_number: str, verb: str, body: dict[str, object]
) -> None:
    r = as_analyst.post(f"/v1/key-requests/{escalated_number}/{verb}", body)
    assert_problem(r, 422, "validation_error")


def test_the_same_severity_again_is_a_conflict(as_analyst: Caller, escalated_number: str) -> None:
    r = as_analyst.post(
        f"/v1/key-requests/{escalated_number}/severity", {"severity": 3, "reason": "same"}
    )
    assert_problem(r, 409, "invalid_state")
