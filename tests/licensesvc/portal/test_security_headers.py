"""One header policy over the whole app (licensesvc/security_headers.py): API answers, the API
reference, the portal's pages and every error page, JSON or HTML, carry the headers of their
kind, whichever layer answered."""

from __future__ import annotations

import pytest

from licensesvc.security_headers import PORTAL_PAGE_POLICY
from tests.licensesvc.portal.conftest import HTML, Browser

EVERYWHERE = {"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY"}
API = {
    **EVERYWHERE,
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": "frame-ancestors 'none'",
}
PORTAL = {
    **EVERYWHERE,
    "Referrer-Policy": "same-origin",
    "Content-Security-Policy": PORTAL_PAGE_POLICY,
}

#: (what is asked, who asks, method, path, status, the headers it carries, Cache-Control)
ANSWERS = [
    ("API answer", "api", "GET", "/v1/signing-keys", 200, API, None),
    ("API probe", "api", "GET", "/healthz", 200, API, None),
    ("API reference", "api", "GET", "/docs", 200, API, None),
    ("API 401", "api", "GET", "/v1/keys/NO-SUCH-KEY", 401, API, None),
    ("API unknown path", "api", "GET", "/v1/nowhere", 404, API, None),
    ("unknown path, an HTML page", "api", "GET", "/nowhere", 404, PORTAL, None),
    ("API 405", "api", "DELETE", "/v1/signing-keys", 405, API, None),
    ("API 422", "api", "POST", "/v1/keys/verify", 422, API, None),
    ("portal sign-in page", "anonymous", "GET", "/login", 200, PORTAL, None),
    ("portal page", "signed in", "GET", "/licenses", 200, PORTAL, "no-store"),
    ("portal 404 in the portal", "signed in", "GET", "/keys/NO-SUCH-KEY", 404, PORTAL, "no-store"),
    ("portal 404 outside it", "anonymous", "GET", "/no-such-page", 404, PORTAL, None),
    ("portal 404 signed in", "signed in", "GET", "/no-such-page", 404, PORTAL, "no-store"),
    ("portal 405", "anonymous", "DELETE", "/login", 405, PORTAL, None),
    ("portal CSRF refusal", "anonymous", "POST", "/login", 400, PORTAL, None),
    ("portal reset page", "anonymous", "GET", "/reset-password/nope", 404, PORTAL, "no-store"),
]


@pytest.mark.parametrize(
    ("who", "method", "path", "status", "headers", "cache"),
    [a[1:] for a in ANSWERS],
    ids=[a[0] for a in ANSWERS],
)
def test_one_header_policy_over_api_portal_and_error_pages(
    anonymous: Browser,
    base_admin: Browser,
    who: str,
    method: str,
    path: str,
    status: int,
    headers: dict[str, str],
    cache: str | None,
) -> None:
    if who == "api":
        response = anonymous.client.open(path, method=method, json={} if method == "POST" else None)
    else:
        browser = base_admin if who == "signed in" else anonymous
        response = browser.client.open(path, method=method, headers=HTML)
    assert response.status_code == status
    assert {name: response.headers.get(name) for name in headers} == headers
    assert response.headers.get("Cache-Control") == cache
