"""A customer's admin manages its webhook endpoints in a real Chromium against a real gunicorn:
from the dashboard to the webhooks page, add an endpoint (URL and event types; the signing
secret shown once), see a delivery of a real event, rotate the secret, disable and delete the
endpoint after confirming; axe-core on the page, and no sideways scroll at 360 px."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import Portal, axe_violations, screenshot, sign_in
from tests.e2e.e2e_helpers import issue_standard_key

pytestmark = pytest.mark.e2e

#: a public address written as one: the SSRF check passes without a DNS look-up
URL = "https://93.184.216.34/licensesvc"


def submit(page: Any) -> None:
    with page.expect_navigation():
        page.get_by_role("button", name="Add endpoint").click()


def secret_shown(page: Any) -> str:
    value = str(page.get_by_label("Signing secret").input_value())
    assert value.startswith("whsec_")
    return value


def test_manage_a_webhook_endpoint(page: Any, portal: Portal, screenshot_dir: Path) -> None:
    sign_in(page, portal, "Globex")
    page.get_by_role("link", name="webhooks").click()
    page.wait_for_url(portal.url("/webhooks"))
    assert page.get_by_text("No endpoints yet.").is_visible()

    page.get_by_label("Endpoint URL (https)").fill("https://10.0.0.1/hook")
    page.get_by_label("key.issued").check()
    submit(page)
    assert page.get_by_text("reaches 10.0.0.1").is_visible()  # refused on the form
    assert page.get_by_text("No endpoints yet.").is_visible()

    page.get_by_label("Endpoint URL (https)").fill(URL)
    page.get_by_label("key.issued").check()
    page.get_by_label("case.escalated").check()
    submit(page)
    first = secret_shown(page)
    assert page.get_by_role("row", name=URL).get_by_text("key.issued, case.escalated").is_visible()
    assert axe_violations(page) == []

    issue_standard_key(portal.settings, portal.made.license["Globex"])  # a key.issued event
    page.goto(portal.url("/webhooks"))
    assert "whsec_" not in page.content()  # shown once only
    deliveries = page.get_by_role("table", name="The newest 1 deliveries")
    assert deliveries.get_by_text("key.issued").is_visible()
    assert deliveries.get_by_role("cell", name="pending").is_visible()
    screenshot(page, screenshot_dir, "webhooks.png")
    page.set_viewport_size({"width": 360, "height": 780})
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    page.set_viewport_size({"width": 1200, "height": 900})

    page.get_by_role("button", name=f"Rotate the secret of {URL}").click()
    assert secret_shown(page) != first

    page.get_by_text("Disable…").click()
    page.get_by_role("button", name=f"Yes, disable {URL}").click()
    assert page.get_by_text(f"{URL} is disabled").is_visible()
    assert deliveries.get_by_role("cell", name="failed").is_visible()

    page.get_by_text("Delete…").click()
    page.get_by_role("button", name=f"Yes, delete {URL}").click()
    assert page.get_by_text(f"{URL} is deleted").is_visible()
    assert page.get_by_text("No endpoints yet.").is_visible()
    assert page.get_by_text("No deliveries yet.").is_visible()
