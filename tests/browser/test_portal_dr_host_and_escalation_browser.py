"""In a real Chromium: a DR-test request says, before it is sent, that the key will be bound to
the license's failover host; "Escalate again" starts from the case's own severity, shows what
each severity means, and a careless submit answers with the API's words and changes nothing."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

import keys
from licensesvc.domain import support_plan
from licensesvc.models import IssuedKey, KeyRequest
from tests.browser.conftest import Portal, in_days, sign_in
from tests.browser.test_portal_browser import assert_accessible

pytestmark = pytest.mark.e2e


def _case(portal: Portal, number: str) -> tuple[KeyRequest, IssuedKey | None]:
    runtime = portal.runtime()
    try:
        with runtime.sessions() as db:
            case = db.scalar(select(KeyRequest).where(KeyRequest.case_number == number))
            assert case is not None
            key = None
            if case.key_serial:
                key = db.scalar(select(IssuedKey).where(IssuedKey.serial == case.key_serial))
            return case, key
    finally:
        runtime.engine.dispose()


def test_a_dr_test_request_without_a_host_is_bound_to_the_failover_host(
    page: Any, portal: Portal
) -> None:
    sign_in(page, portal, "Acme")
    page.goto(portal.url("/requests/new"))
    assert page.get_by_text(
        "on your DR host: the license's failover host unless you name another"
    ).is_visible()
    page.goto(portal.url("/requests/new?kind=dr_test"))
    label = page.get_by_label("DR host")
    assert label.is_visible() and label.input_value() == ""
    assert page.get_by_text(
        "DR host (optional: leave empty for the license's failover host; required when the "
        "license has none)"
    ).is_visible()
    page.get_by_label("Date of the DR test").fill(in_days(portal.made, 25))
    page.get_by_role("button", name="Check this request").click()
    assert page.get_by_text(
        "bound to the DR host dr.acme.example, the license's failover host"
    ).is_visible()
    page.get_by_role("button", name="Submit request").click()
    page.wait_for_url("**/cases/CS-*")
    assert page.get_by_role("heading", name="Key issued").is_visible()
    case, key = _case(portal, page.url.rsplit("/", 1)[1])
    assert key is not None and keys.decode_unverified(key.key_text).host == "dr.acme.example"


def test_escalate_again_keeps_the_severity_and_says_why_not(page: Any, portal: Portal) -> None:
    sign_in(page, portal, "Acme")
    page.goto(portal.url("/requests/new?kind=dr_test"))
    page.get_by_label("Date of the DR test").fill(
        in_days(portal.made, -1)
    )  # too soon in every zone
    page.get_by_role("button", name="Submit request").click()
    page.wait_for_url("**/cases/CS-*")
    number = page.url.rsplit("/", 1)[1]
    # the severity list explains each level where it is chosen
    for s in support_plan.SEVERITIES:
        assert page.get_by_text(s.definition).is_visible()
    page.get_by_label("Severity").select_option("1")
    page.get_by_role("button", name="Escalate").click()
    page.wait_for_url(f"**/cases/{number}")
    assert page.get_by_role("heading", name="Escalate again").is_visible()
    # "Escalate again" starts from the case's Sev 1, not "3 - Normal"
    assert page.get_by_label("Severity").input_value() == "1"
    assert page.locator('input[name="reason"]:checked').count() == 0
    assert page.locator('input[name="reason"][value="review_refusal"]').count() == 0
    assert_accessible(page)
    page.get_by_role("button", name="Escalate").click()  # a careless submit
    alert = page.get_by_role("alert")
    assert alert.is_visible()
    assert "already escalated and on time" in alert.inner_text()
    assert "handling_concern" in alert.inner_text()
    case, _ = _case(portal, number)
    assert case.severity == 1 and case.escalation_reason == "review_refusal"
    # a concern about the handling is heard while the case is on time
    page.get_by_label("I have a concern about how the case is handled").check()
    page.get_by_label("Note for the analyst").fill("Nobody has called us back.")
    page.get_by_role("button", name="Escalate").click()
    page.wait_for_url(f"**/cases/{number}")
    assert page.get_by_text(f"Case {number} is escalated").is_visible()
    case, _ = _case(portal, number)
    assert case.severity == 1 and case.escalation_reason == "handling_concern"


def test_a_move_mid_overlap_asks_before_the_old_server_stops(page: Any, portal: Portal) -> None:
    sign_in(page, portal, "Globex")
    for host in ("jams2.globex.example", "jams3.globex.example"):
        page.goto(portal.url("/requests/new?kind=replacement"))
        page.get_by_label("New host").fill(host)
        page.get_by_role("button", name="Submit request").click()
        if host == "jams2.globex.example":
            page.wait_for_url("**/cases/CS-*")
    # the second move would end the first one's overlap: nothing is issued before consent
    warning = page.locator("#stops-working")
    assert warning.is_visible()
    assert "Your key on sched.globex.example stops working now." in warning.inner_text()
    assert "/cases/" not in page.url
    assert_accessible(page)
    page.get_by_label("I understand: my key on sched.globex.example stops working now").check()
    page.get_by_role("button", name="Submit request").click()
    page.wait_for_url("**/cases/CS-*")
    assert page.get_by_role("heading", name="Key issued").is_visible()
