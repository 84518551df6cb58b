"""The portal in a real browser: Debian's Chromium (/usr/bin/chromium) driven by Playwright for
Python, against a real gunicorn server over a fresh database, with axe-core (installed by
scripts/ensure-services.sh into tests/browser/node_modules) injected for accessibility checks.

Where Chromium, Playwright or axe-core is missing these tests skip with the reason, and fail
when CI is set (CI must run them)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from licensesvc.identity import users
from licensesvc.platform.context import Actor
from licensesvc.runtime import Runtime
from tests.conftest import fresh_database_url
from tests.e2e.e2e_helpers import (
    Prepared,
    Server,
    e2e_settings,
    gunicorn,
    issue_standard_key,
    prepare,
)

CHROMIUM = Path("/usr/bin/chromium")
AXE = Path(__file__).with_name("node_modules") / "axe-core" / "axe.min.js"
#: where the committed screenshots live; the tests write there only when asked
DOC_SHOTS = Path(__file__).resolve().parents[2] / "docs" / "portal"
UPDATE_SCREENSHOTS = "LICENSESVC_UPDATE_SCREENSHOTS"
PASSWORD = "browser-test-password"


def _missing(what: str) -> None:
    message = f"browser tests need {what}; run scripts/ensure-services.sh"
    if os.environ.get("CI"):
        pytest.fail(message + " (CI must run the browser tests)", pytrace=False)
    pytest.skip(message)


@dataclass
class Portal:
    server: Server
    made: Prepared
    emails: dict[str, str]
    settings: Any

    def url(self, path: str = "/") -> str:
        return self.server.url(path)

    def runtime(self) -> Runtime:
        return Runtime.from_settings(self.settings)


@pytest.fixture(scope="module")
def portal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Portal]:
    data_dir = tmp_path_factory.mktemp("browser")
    for url in fresh_database_url(data_dir, "browser"):
        settings = e2e_settings(url, data_dir)
        made = prepare(
            settings,
            [
                ("Acme", "base", "na", -30, 335, 335),
                ("Globex", "premium", "emea", -30, 335, 335),
                # maintenance lapsed ten days ago: key requests are refused
                ("Initech", "base", "apac", -90, 275, -10),
            ],
        )
        emails = {}
        runtime = Runtime.from_settings(settings)
        try:
            with runtime.unit_of_work(Actor.system()) as ctx:
                for name, cid in made.customer.items():
                    email = f"admin@{name.lower()}.example"
                    users.create_user(ctx, cid, email, PASSWORD)
                    emails[name] = email
        finally:
            runtime.engine.dispose()
        for name in ("Acme", "Globex"):  # Initech's lapsed maintenance refuses even these
            issue_standard_key(settings, made.license[name])
        previous = os.environ.get("LICENSESVC_PORTAL_COOKIE_SECURE")
        os.environ["LICENSESVC_PORTAL_COOKIE_SECURE"] = "false"  # plain HTTP on 127.0.0.1
        try:
            with gunicorn(url, data_dir) as server:
                yield Portal(server, made, emails, settings)
        finally:
            if previous is None:
                os.environ.pop("LICENSESVC_PORTAL_COOKIE_SECURE", None)
            else:
                os.environ["LICENSESVC_PORTAL_COOKIE_SECURE"] = previous


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    if not CHROMIUM.exists():
        _missing("Debian's chromium package (/usr/bin/chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("the playwright Python package (pip install -e '.[dev]')")
    if not AXE.exists():
        _missing("axe-core in tests/browser/node_modules (npm ci in tests/browser)")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def page(chromium: Any) -> Iterator[Any]:
    context = chromium.new_context(
        viewport={"width": 1200, "height": 900},
        accept_downloads=True,
        bypass_csp=True,  # lets the test inject axe-core; the portal itself allows no inline script
    )
    pg = context.new_page()
    pg.set_default_timeout(20_000)
    try:
        yield pg
    finally:
        context.close()


def sign_in(page: Any, portal: Portal, customer: str) -> None:
    page.goto(portal.url("/"))
    page.get_by_label("Email").fill(portal.emails[customer])
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(portal.url("/"))


def axe_violations(page: Any) -> list[dict[str, Any]]:
    """Serious and critical axe-core violations of the page as it is now."""
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    return [
        {"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]][:5]}
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]


@pytest.fixture(scope="session")
def screenshot_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """docs/portal with LICENSESVC_UPDATE_SCREENSHOTS=1 (regenerating the docs' pictures),
    else a temporary directory: the screenshots are still taken, a clone stays clean."""
    if os.environ.get(UPDATE_SCREENSHOTS, "") in ("1", "true", "yes"):
        DOC_SHOTS.mkdir(parents=True, exist_ok=True)
        return DOC_SHOTS
    return tmp_path_factory.mktemp("portal-screenshots")


def screenshot(page: Any, directory: Path, name: str, *, full_page: bool = True) -> Path:
    path = directory / name
    page.screenshot(path=str(path), full_page=full_page)
    assert path.stat().st_size > 0, f"no screenshot written to {path}"
    return path


def in_days(made: Prepared, days: int) -> str:
    return (made.today + timedelta(days=days)).isoformat()
