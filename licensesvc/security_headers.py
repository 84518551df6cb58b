"""Security headers on every response, in one place (registered by create_app): the API, the
portal's pages, the API reference and every error page, HTML or problem+json. No view or
blueprint sets these headers itself; a view that needs its own Content-Security-Policy sets it
and keeps it (with `frame-ancestors 'none'` added when it has none).

Every response:
- `X-Content-Type-Options: nosniff`: a browser never guesses a type (a JSON body or a license
  file is never run as a script or page).
- `X-Frame-Options: DENY` and `Content-Security-Policy: frame-ancestors 'none'`: no page of
  ours is framed (clickjacking).
- `Referrer-Policy: no-referrer`: no URL of ours (a case number, a key serial) leaks to
  another site.
- `Location` never names the `Host` the client sent: an absolute redirect to this request's
  own host (Werkzeug's slash-merging and trailing-slash redirects build one from the `Host`
  header) is made relative, so a forged `Host` cannot steer a redirect elsewhere (a cache or a
  proxy in front would otherwise keep `Location: http://evil.example/...`).

A portal page (the portal's views, and the portal's HTML error page for a path outside every
blueprint) instead gets:
- `Content-Security-Policy: default-src 'self'; ...` (`PORTAL_PAGE_POLICY`): only our own
  scripts, styles and forms.
- `Referrer-Policy: same-origin`: a reset link's token never goes to another site, while the
  portal's own form posts keep the `Referer` that Flask-WTF's CSRF check over HTTPS compares
  with the host.

`Cache-Control: no-store` on every answer to an authenticated API request (`/v1/...` with an
`Authorization` header), on every portal page shown to a signed-in user and on the
password-reset page: those carry key text, license files, customer data or a reset token,
which no browser or proxy cache may keep. Public answers (signing keys, revocation list) keep
their own caching.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Flask, g, request
from werkzeug.wrappers import Response

HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}
FRAME_ANCESTORS = "frame-ancestors 'none'"
#: the portal's pages: its own scripts, styles, images (and data: images), forms to itself
PORTAL_PAGE_POLICY = (
    "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'; "
    "base-uri 'none'"
)
PORTAL_REFERRER_POLICY = "same-origin"
#: the portal's blueprint (licensesvc/portal/views.py) and its password-reset page
PORTAL_BLUEPRINT = "portal"
RESET_PASSWORD_ENDPOINT = "portal.reset_password"


def init_security_headers(app: Flask) -> None:
    """Add the headers above to every response of app."""
    app.after_request(add_security_headers)


#: what `add_security_headers` adds, in this order, to an answer that is not a portal page
#: and sets none of these headers itself
API_ANSWER_HEADERS: tuple[tuple[str, str], ...] = (
    *HEADERS.items(),
    ("Content-Security-Policy", FRAME_ANCESTORS),
)


def api_answer_headers() -> list[tuple[str, str]]:
    """What `add_security_headers` adds to an API answer that sets none of these headers
    itself, to a request without an `Authorization` header, in the order it adds them (for
    an answer made outside Flask: licensesvc/fast_verify.py)."""
    return list(API_ANSWER_HEADERS)


def _is_portal_page(response: Response, blueprint: str | None) -> bool:
    """A page the portal rendered: one of its views (or their errors), or the HTML error page
    it shows a browser for a path outside every blueprint (licensesvc/portal/errors.py)."""
    if blueprint == PORTAL_BLUEPRINT:
        return True
    return blueprint is None and response.mimetype == "text/html"


#: the lower-case names of HEADERS and Content-Security-Policy
_OURS = frozenset(name.lower() for name in HEADERS) | {"content-security-policy"}


def add_security_headers(response: Response) -> Response:
    """after_request: the headers above; a view's own values win, except that a
    Content-Security-Policy without frame-ancestors gets it."""
    req = request._get_current_object()  # type: ignore[attr-defined]
    headers = response.headers
    portal_page = _is_portal_page(response, req.blueprint)
    if portal_page:
        headers.setdefault("Content-Security-Policy", PORTAL_PAGE_POLICY)
        headers.setdefault("Referrer-Policy", PORTAL_REFERRER_POLICY)
    present = {name.lower() for name in headers.keys()} & _OURS
    if not present:  # the usual answer: none of them set by its view, added in one go
        headers.extend(API_ANSWER_HEADERS)
    else:
        for name, value in HEADERS.items():
            headers.setdefault(name, value)
        policy = headers.get("Content-Security-Policy")
        if not policy:
            headers["Content-Security-Policy"] = FRAME_ANCESTORS
        elif "frame-ancestors" not in policy:
            headers["Content-Security-Policy"] = f"{policy.rstrip('; ')}; {FRAME_ANCESTORS}"
    if "HTTP_AUTHORIZATION" in req.environ and req.path.startswith("/v1/"):
        headers["Cache-Control"] = "no-store"
    elif portal_page and (
        g.get("portal_user") is not None or req.endpoint == RESET_PASSWORD_ENDPOINT
    ):
        headers["Cache-Control"] = "no-store"
    location = headers.get("Location")
    if location:
        headers["Location"] = relative_location(location, req.host)
    return response


def relative_location(location: str, host: str) -> str:
    """location without its scheme and host when it points at `host` (the request's own, as
    the client named it); any other location unchanged. The path keeps one leading slash, so
    the result is never protocol-relative (`//elsewhere`)."""
    parts = urlsplit(location)
    if not parts.netloc or parts.netloc.lower() != host.lower():
        return location
    path = "/" + parts.path.lstrip("/")
    return (
        path
        + (f"?{parts.query}" if parts.query else "")
        + (f"#{parts.fragment}" if parts.fragment else "")
    )
