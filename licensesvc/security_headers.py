"""Security headers on every response, in one place (registered by create_app).

- `X-Content-Type-Options: nosniff`: a browser never guesses a type (a JSON body or a license
  file is never run as a script or page).
- `Referrer-Policy: no-referrer`: no URL of ours (a case number, a key serial) leaks to
  another site.
- `X-Frame-Options: DENY` and `Content-Security-Policy: frame-ancestors 'none'`: no page of
  ours is framed (clickjacking); a page that sets its own policy keeps it, with
  `frame-ancestors 'none'` added when it has none.
- `Cache-Control: no-store` on every answer to an authenticated API request (`/v1/...` with
  an `Authorization` header): those carry key text, license files and customer data, which no
  browser or proxy cache may keep. Public answers (signing keys, revocation list) keep their
  own caching.
- `Location` never names the `Host` the client sent: an absolute redirect to this request's
  own host (Werkzeug's slash-merging and trailing-slash redirects build one from the `Host`
  header) is made relative, so a forged `Host` cannot steer a redirect elsewhere (a cache or a
  proxy in front would otherwise keep `Location: http://evil.example/...`).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Flask, request
from werkzeug.wrappers import Response

HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}
FRAME_ANCESTORS = "frame-ancestors 'none'"


def init_security_headers(app: Flask) -> None:
    """Add the headers above to every response of app."""
    app.after_request(add_security_headers)


def add_security_headers(response: Response) -> Response:
    """after_request: the headers above; a view's own values win, except that a
    Content-Security-Policy without frame-ancestors gets it."""
    for name, value in HEADERS.items():
        response.headers.setdefault(name, value)
    policy = response.headers.get("Content-Security-Policy")
    if not policy:
        response.headers["Content-Security-Policy"] = FRAME_ANCESTORS
    elif "frame-ancestors" not in policy:
        response.headers["Content-Security-Policy"] = f"{policy.rstrip('; ')}; {FRAME_ANCESTORS}"
    if request.path.startswith("/v1/") and "Authorization" in request.headers:
        response.headers["Cache-Control"] = "no-store"
    location = response.headers.get("Location")
    if location:
        response.headers["Location"] = relative_location(location, request.host)
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
