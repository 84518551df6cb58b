"""A customer administrator's stories in a real Chromium against a real gunicorn: sign in,
read the dashboard, request each kind of key, download a key and verify it offline, escalate
a refusal, double-submit a form (one key), sign out; axe-core on every page. The screenshots
in docs/portal/ are taken here; they are written there only with
LICENSESVC_UPDATE_SCREENSHOTS=1 (docs/portal.md), otherwise into a temporary directory."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

import keys
from licensesvc.issuance.signing import trusted_public_keys
from licensesvc.models import IssuedKey, KeyRequest
from licensesvc.platform.context import Actor
from tests.browser.conftest import (
    Portal,
    axe_violations,
    in_days,
    screenshot,
    sign_in,
)

pytestmark = pytest.mark.e2e


def key_count(portal: Portal, customer: str) -> int:
    runtime = portal.runtime()
    try:
        with runtime.sessions() as db:
            return (
                db.scalar(
                    select(func.count())
                    .select_from(IssuedKey)
                    .where(IssuedKey.customer_id == portal.made.customer[customer])
                )
                or 0
            )
    finally:
        runtime.engine.dispose()


#: the elements that stick out past the viewport's right edge (what to fix when one does)
WIDER_THAN_THE_SCREEN = """() => [...document.querySelectorAll('body *')]
    .filter(e => e.getBoundingClientRect().right > window.innerWidth + 0.5
                 && !e.closest('.table-scroll'))
    .slice(0, 5)
    .map(e => e.tagName + '.' + e.className + ' ' + (e.textContent || '').slice(0, 40))"""


def assert_accessible(page: Any) -> None:
    violations = axe_violations(page)
    assert violations == [], f"{page.url}: {violations}"


def test_sign_in_see_dashboard_and_sign_out(
    page: Any, portal: Portal, screenshot_dir: Path
) -> None:
    page.goto(portal.url("/"))
    assert page.url.endswith("/login") and page.title().startswith("Sign in")
    assert_accessible(page)
    sign_in(page, portal, "Acme")
    assert page.get_by_role("heading", level=1).inner_text() == "Acme"
    assert page.get_by_text("Response targets by severity").is_visible()
    assert page.get_by_role("link", name="Temporary (120 days)").count() == 0
    assert_accessible(page)
    screenshot(page, screenshot_dir, "dashboard.png")
    page.set_viewport_size({"width": 360, "height": 780})
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    assert_accessible(page)
    screenshot(page, screenshot_dir, "dashboard-phone.png")
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/login")
    assert page.get_by_text("You are signed out.").is_visible()
    page.goto(portal.url("/licenses"))
    assert "/login" in page.url


def test_every_page_passes_axe_and_has_a_title(page: Any, portal: Portal) -> None:
    sign_in(page, portal, "Globex")
    paths = [
        "/",
        "/licenses",
        "/requests/new",
        "/requests/new?kind=replacement",
        "/requests/new?kind=dr_test",
        "/requests/new?kind=temporary",
        "/cases",
        "/tokens",
        "/no-such-page",
    ]
    page.goto(portal.url("/licenses"))
    serial = page.locator("table a").first.inner_text()
    paths.append(f"/keys/{serial}")
    for path in paths:
        page.set_viewport_size({"width": 1280, "height": 800})
        page.goto(portal.url(path))
        assert page.title().endswith("licensesvc customer portal"), path
        assert_accessible(page)
        page.set_viewport_size({"width": 360, "height": 780})  # phone width: no sideways scroll
        wide = page.evaluate(WIDER_THAN_THE_SCREEN)
        assert page.evaluate("document.documentElement.scrollWidth") <= 360, (path, wide)
    page.goto(portal.url("/cases"))
    page.locator("table a").first.click()
    assert_accessible(page)


def test_keyboard_reaches_the_skip_link_first(page: Any, portal: Portal) -> None:
    sign_in(page, portal, "Acme")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to main content"
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    focused = page.evaluate("document.activeElement.closest('main') !== null")
    assert focused


def test_request_each_kind_of_key(page: Any, portal: Portal, screenshot_dir: Path) -> None:
    sign_in(page, portal, "Globex")
    before = key_count(portal, "Globex")

    page.goto(portal.url("/requests/new?kind=replacement"))
    page.get_by_label("New host").fill("jams2.globex.example")
    page.get_by_role("button", name="Check this request").click()
    assert page.get_by_text("Every check passes").is_visible()
    page.get_by_role("button", name="Submit request").click()
    page.wait_for_url("**/cases/CS-*")
    assert page.get_by_role("heading", name="Key issued").is_visible()

    page.goto(portal.url("/requests/new?kind=dr_test"))
    page.get_by_label("Date of the DR test").fill(in_days(portal.made, 20))
    page.get_by_label("DR host").fill("dr2.globex.example")
    page.get_by_role("button", name="Check this request").click()
    assert page.get_by_text("Validity window").is_visible()
    assert page.get_by_text("Every check passes").is_visible()
    screenshot(page, screenshot_dir, "request-dry-run.png")
    page.get_by_role("button", name="Submit request").click()
    page.wait_for_url("**/cases/CS-*")
    assert page.get_by_role("heading", name="Key issued").is_visible()

    page.goto(portal.url("/requests/new?kind=temporary"))
    page.get_by_label("Reason").select_option("upgrade_patching")
    page.get_by_role("button", name="Submit request").click()
    page.wait_for_url("**/cases/CS-*")
    assert page.get_by_role("heading", name="Key issued").is_visible()
    assert key_count(portal, "Globex") == before + 3


def test_live_dry_run_updates_as_the_date_changes(page: Any, portal: Portal) -> None:
    sign_in(page, portal, "Acme")
    page.goto(portal.url("/requests/new?kind=dr_test"))
    page.get_by_label("Date of the DR test").fill(
        in_days(portal.made, -1)
    )  # too soon in every zone
    page.get_by_label("Date of the DR test").dispatch_event("change")
    page.get_by_text("would be refused (invalid_window)").wait_for()


def test_download_a_key_and_verify_it_offline(page: Any, portal: Portal) -> None:
    sign_in(page, portal, "Acme")
    page.goto(portal.url("/licenses"))
    page.locator("table a").first.click()
    with page.expect_download() as info:
        page.get_by_role("link", name="Download key (text)").click()
    text = open(info.value.path()).read().strip()
    runtime = portal.runtime()
    try:
        with runtime.unit_of_work(Actor.system()) as ctx:
            trusted = trusted_public_keys(ctx)
            now = ctx.now()
    finally:
        runtime.engine.dispose()
    claims = keys.verify(text, trusted, at=now)
    assert claims.customer_id == str(portal.made.customer["Acme"])


def test_refusal_shows_its_words_and_escalates(
    page: Any, portal: Portal, screenshot_dir: Path
) -> None:
    sign_in(page, portal, "Initech")
    assert page.get_by_text("No new keys right now").is_visible()
    page.goto(portal.url("/requests/new?kind=replacement"))
    assert page.get_by_text("would be refused (maintenance_lapsed)").is_visible()
    page.get_by_role("button", name="Submit request").click()
    page.wait_for_url("**/cases/CS-*")
    case_number = page.url.rsplit("/", 1)[1]
    assert page.get_by_role("heading", name="Request refused: maintenance_lapsed").is_visible()
    assert page.get_by_text(case_number).first.is_visible()
    for reason in (
        "review_refusal",
        "response_time_not_met",
        "handling_concern",
        "criticality_changed",
    ):
        assert page.locator(f'input[name="reason"][value="{reason}"]').count() == 1
    page.get_by_label("Note for the analyst").fill("Our payment went out last week.")
    assert_accessible(page)
    screenshot(page, screenshot_dir, "refusal-escalation.png")
    page.get_by_role("button", name="Escalate").click()
    page.wait_for_url(f"**/cases/{case_number}")
    assert page.get_by_text(f"Case {case_number} is escalated").is_visible()
    assert page.get_by_text("Respond by").is_visible()
    assert page.locator("dd", has_text="Please review the refusal").is_visible()  # the reason
    assert_accessible(page)


def test_double_submit_issues_one_key(page: Any, portal: Portal) -> None:
    sign_in(page, portal, "Acme")
    before = key_count(portal, "Acme")
    page.goto(portal.url("/requests/new?kind=replacement"))
    # two submissions of the very same form, as a double click without the page's guard
    statuses = page.evaluate(
        """async () => {
            const form = document.querySelector('form.request-form');
            const data = new FormData(form);
            data.set('confirm', '1');
            const send = () => fetch(form.action, {method: 'POST', body: data,
                                                   credentials: 'same-origin'});
            const answers = await Promise.all([send(), send()]);
            return answers.map(r => [r.status, r.url]);
        }"""
    )
    assert [s for s, _ in statuses] == [200, 200]
    assert statuses[0][1] == statuses[1][1] and "/cases/CS-" in statuses[0][1]
    assert key_count(portal, "Acme") == before + 1
    runtime = portal.runtime()
    try:
        with runtime.sessions() as db:
            cases = db.scalar(
                select(func.count())
                .select_from(KeyRequest)
                .where(KeyRequest.case_number == statuses[0][1].rsplit("/", 1)[1])
            )
    finally:
        runtime.engine.dispose()
    assert cases == 1
