"""In a real Chromium: the dashboard tells the truth about today (issue 19 point 4) and the rest
of the portal a busy admin notices (point 5). A quota an analyst overrode shows "0 of 2 left"
with the grant over quota said apart, never "-1"; "Keys you can request today" offers only what
the policy would grant each license now; refusal words keep their case ("DR-test", "…Z") and
every time in them is in the customer's zone; the case page's phone is a `tel:` link beside the
support e-mail; tokens have names and revoking one asks first, reachable at 360 px; a temporary
key for an infrastructure change names its new host; a Base customer asks for a temporary key
and escalates the refusal; serials never wrap; core hours read as core hours."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

import keys
from licensesvc.accounts.premium_services import record_service, request_service
from licensesvc.config import DEFAULT_SUPPORT_EMAIL, DEFAULT_SUPPORT_PHONE
from licensesvc.issuance.key_requests import KeyRequestInput, request_key
from licensesvc.models import ApiToken, IssuedKey, KeyRequest
from licensesvc.platform.context import Actor
from tests.browser.conftest import Portal, screenshot, sign_in
from tests.browser.test_portal_browser import WIDER_THAN_THE_SCREEN, assert_accessible

pytestmark = pytest.mark.e2e

#: a moment as the domain's words write it in UTC, or mangled by `capitalize` ("19:34z")
UTC_MOMENT = re.compile(r"\d{2}:\d{2}[Zz]\b")
#: the serials and case numbers on a page that take more than one line
WRAPPED_SERIALS = r"""() => [...document.querySelectorAll('main a, main code, main strong')]
    .filter(e => /^(SN|CS)-[A-Z0-9]{4}(-[A-Z0-9]{4})+$/.test(e.textContent.trim()))
    .filter(e => e.getClientRects().length > 1)
    .map(e => e.textContent.trim())"""


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


def _dr_keys_granted_over_quota(portal: Portal, customer: str) -> None:
    """Acme's two DR-test keys of the year, and a third an analyst grants over the quota."""
    runtime = portal.runtime()
    try:
        for n, override in ((30, None), (40, None), (50, "DR rehearsal agreed with support")):
            with runtime.unit_of_work(Actor.analyst("alice")) as ctx:
                req = KeyRequestInput(
                    license_id=portal.made.license[customer],
                    kind="dr_test",
                    dr_test_date=portal.made.today + timedelta(days=n),
                )
                outcome = request_key(ctx, req, override_reason=override)
                assert outcome.key is not None, outcome
    finally:
        runtime.engine.dispose()


def test_the_dashboard_after_an_override_never_shows_a_negative_quota(
    page: Any, portal: Portal, screenshot_dir: Path
) -> None:
    _dr_keys_granted_over_quota(portal, "Acme")
    sign_in(page, portal, "Acme")
    quota = page.locator("#dr-quota").inner_text()
    assert "DR-test keys this contract year: 0 of 2 left (1 granted over quota by support)" in (
        quota
    )
    assert re.search(r"; the count restarts \d{4}-\d{2}-\d{2}\.$", quota), quota
    assert "-1 of" not in page.locator("main").inner_text()
    # "Keys you can request today" offers what the policy grants now: no DR-test key
    today = page.locator("#kinds-today")
    assert today.get_by_role("link", name="Replacement").count() == 1
    assert today.get_by_role("link", name="DR test").count() == 0
    not_today = page.locator("#kinds-not-today").inner_text()
    assert "DR test: not today, 3 of 2 DR-test keys this contract year used" in not_today
    assert "quota_exceeded" in not_today
    # core support hours read as such, in the customer's region (Acme: North America)
    assert page.get_by_text("Core support hours: 08:00-18:00 EST/EDT (America/New_York)").count()
    assert_accessible(page)
    screenshot(page, screenshot_dir, "dashboard-over-quota.png")
    # asked anyway, the refusal keeps its words: "DR-test", not "dr-test"
    page.goto(portal.url("/requests/new?kind=dr_test"))
    page.get_by_role("button", name="Submit request").click()
    page.wait_for_url("**/cases/CS-*")
    refusal = page.locator("#refusal").inner_text()
    assert "3 of 2 DR-test keys this contract year used" in refusal
    assert "dr-test" not in refusal


def test_a_premium_customer_sees_its_premium_services(
    page: Any, portal: Portal, screenshot_dir: Path
) -> None:
    """Issue 19 point 6: the contract year's major upgrade counted like DR tests (requested:
    none left), the health check as last held and next due, the review as not yet held, as the
    analyst recorded them; a Base customer reads what Premium would add."""
    held = portal.made.today - timedelta(days=10)
    planned = portal.made.today + timedelta(days=20)
    runtime = portal.runtime()
    try:
        with runtime.unit_of_work(Actor.analyst("alice")) as ctx:
            record_service(ctx, portal.made.customer["Globex"], "health_check", held)
        with runtime.unit_of_work(Actor.analyst("alice")) as ctx:
            request_service(ctx, portal.made.customer["Globex"], "upgrade", planned)
    finally:
        runtime.engine.dispose()
    sign_in(page, portal, "Globex")
    services = page.locator("#premium-services")
    rows = {
        row.locator("th").inner_text(): row.locator("td").all_inner_texts()
        for row in services.locator("tbody tr").all()
    }
    upgrade = rows["Major upgrade with out-of-hours support"]
    assert upgrade[0].startswith("0 of 1 left (resets "), upgrade
    assert upgrade[0].endswith(f"; requested for {planned.isoformat()}"), upgrade
    health = rows["Annual health check"]
    due = held.replace(year=held.year + 1) if (held.month, held.day) != (2, 29) else None
    assert health[1] == held.isoformat(), health
    assert due is None or health[2] == due.isoformat(), health
    assert rows["Bi-annual support review"][1] == "not yet", rows
    assert_accessible(page)
    screenshot(page, screenshot_dir, "dashboard-premium.png")
    page.get_by_role("button", name="Sign out").click()
    sign_in(page, portal, "Acme")
    base = page.locator("#premium-services").inner_text()
    assert "The Premium plan adds one major upgrade a year" in base
    assert "Included in your Premium plan" not in base


def test_a_temporary_key_names_its_new_host_and_the_next_refusal_speaks_local_time(
    page: Any, portal: Portal
) -> None:
    sign_in(page, portal, "Globex")  # Premium, EMEA: times in Europe/London
    page.goto(portal.url("/requests/new?kind=temporary"))
    page.get_by_label("Reason").select_option("infrastructure_change")
    page.get_by_label("New host").fill("sched-new.globex.example")
    page.get_by_role("button", name="Check this request").click()
    checks = page.locator("#dry-run").inner_text()
    assert "Every check passes" in checks and not UTC_MOMENT.search(checks), checks
    page.get_by_role("button", name="Submit request").click()
    page.wait_for_url("**/cases/CS-*")
    assert page.get_by_role("heading", name="Key issued").is_visible()
    _, key = _case(portal, page.url.rsplit("/", 1)[1])
    assert key is not None
    assert keys.decode_unverified(key.key_text).host == "sched-new.globex.example"
    # the one temporary slot is taken: the next request is refused, saying when it frees
    page.goto(portal.url("/requests/new?kind=temporary"))
    page.get_by_label("Reason").select_option("usage_spike")
    page.get_by_role("button", name="Submit request").click()
    page.wait_for_url("**/cases/CS-*")
    refusal = page.locator("#refusal").inner_text()
    assert "the next one frees on" in refusal
    assert not UTC_MOMENT.search(refusal), refusal
    assert re.search(r"frees on \d{4}-\d{2}-\d{2} \d{2}:\d{2} (GMT|BST)", refusal), refusal
    main = page.locator("main").inner_text()
    assert not UTC_MOMENT.search(main), main


def test_a_base_customer_asks_for_a_temporary_key_and_escalates_the_refusal(
    page: Any, portal: Portal, screenshot_dir: Path
) -> None:
    sign_in(page, portal, "Acme")
    page.goto(portal.url("/requests/new"))
    page.get_by_role("link", name="Temporary key (120 days)").click()
    assert page.locator("#not-in-plan").is_visible()
    page.get_by_label("Reason").select_option("seasonal_testing")
    page.get_by_role("button", name="Submit request").click()
    page.wait_for_url("**/cases/CS-*")
    number = page.url.rsplit("/", 1)[1]
    assert "plan_not_eligible" in page.locator("#refusal").inner_text()
    # the case page: support's phone a tel: link, and its e-mail
    contact = page.locator("#contact")
    phone = contact.get_by_role("link", name=DEFAULT_SUPPORT_PHONE)
    assert phone.get_attribute("href") == f"tel:{DEFAULT_SUPPORT_PHONE}"
    mail = contact.get_by_role("link", name=DEFAULT_SUPPORT_EMAIL)
    assert (mail.get_attribute("href") or "").startswith(f"mailto:{DEFAULT_SUPPORT_EMAIL}")
    page.get_by_label("Severity").select_option("2")
    page.get_by_label("Note for the analyst").fill("Seasonal peak next month; please grant.")
    page.get_by_role("button", name="Escalate").click()
    page.wait_for_url(f"**/cases/{number}")
    assert page.get_by_text(f"Case {number} is escalated").is_visible()
    notice = page.locator("#phone-notice")
    link = notice.get_by_role("link", name=DEFAULT_SUPPORT_PHONE)
    assert link.get_attribute("href") == f"tel:{DEFAULT_SUPPORT_PHONE}"
    case, _ = _case(portal, number)
    assert (case.status, case.refusal_code, case.severity) == ("escalated", "plan_not_eligible", 2)
    assert_accessible(page)
    screenshot(page, screenshot_dir, "case-contact.png")


def test_tokens_have_names_and_revoking_asks_first_at_phone_width(
    page: Any, portal: Portal, screenshot_dir: Path
) -> None:
    sign_in(page, portal, "Globex")
    page.set_viewport_size({"width": 360, "height": 780})
    page.goto(portal.url("/tokens"))
    name = page.get_by_label("Name")
    page.get_by_role("button", name="Create a token").click()  # a name is asked for first
    assert name.evaluate("e => e.validity.valueMissing") and "/tokens" in page.url
    name.fill("nightly deploy")
    page.get_by_role("button", name="Create a token").click()
    # the answer is a new page: wait for it (is_visible does not wait; a busy machine lost it)
    page.get_by_text("Token “nightly deploy”").wait_for()
    page.goto(portal.url("/tokens"))
    revoke = page.get_by_role("link", name="Revoke token nightly deploy…")
    box = revoke.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 360, box
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    screenshot(page, screenshot_dir, "tokens-phone.png")
    revoke.click()
    page.get_by_role("heading", name="Revoke token “nightly deploy”?").wait_for()
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    assert_accessible(page)
    page.get_by_role("link", name="Keep it").click()  # nothing revoked
    assert _token(portal, "nightly deploy").revoked_at is None
    page.get_by_role("link", name="Revoke token nightly deploy…").click()
    page.get_by_role("button", name="Yes, revoke it").click()
    page.wait_for_url("**/tokens*")
    page.get_by_text("Token “nightly deploy”").first.wait_for()
    assert _token(portal, "nightly deploy").revoked_at is not None


def _token(portal: Portal, name: str) -> ApiToken:
    runtime = portal.runtime()
    try:
        with runtime.sessions() as db:
            found = db.scalar(select(ApiToken).where(ApiToken.name == name))
            assert found is not None
            return found
    finally:
        runtime.engine.dispose()


def test_serials_never_wrap_mid_word_at_phone_width(page: Any, portal: Portal) -> None:
    sign_in(page, portal, "Globex")
    page.set_viewport_size({"width": 360, "height": 780})
    page.goto(portal.url("/licenses"))
    serial = page.locator("table a").first.inner_text()
    for path in ("/", "/licenses", "/cases", f"/keys/{serial}"):
        page.goto(portal.url(path))
        assert page.evaluate(WRAPPED_SERIALS) == [], path
        wide = page.evaluate(WIDER_THAN_THE_SCREEN)
        assert page.evaluate("document.documentElement.scrollWidth") <= 360, (path, wide)
