"""The customer portal: server-rendered pages (Flask + Jinja, Flask-WTF forms) for customer
administrators, on the same services as the JSON API. See docs/portal.md."""

from __future__ import annotations

import os
from typing import Any

from flask import Flask, Request
from flask.sessions import SecureCookieSessionInterface

from . import webhook_pages as webhook_pages  # registers the webhooks page on bp
from .errors import register_error_pages
from .views import bp, csrf


def _env_flag(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    return raw.strip().lower() in ("1", "true", "yes", "on")


#: the session cookie's name; a Secure cookie (production) is named with the `__Host-` prefix,
#: which browsers accept only from HTTPS, with `Path=/` and no `Domain` (so no sibling host or
#: plain-HTTP page can set or shadow it); over plain HTTP (local development, Secure off) the
#: prefix would make browsers drop the cookie, so it is left off there
COOKIE_NAME = "licensesvc_portal"
HOST_PREFIX = "__Host-"


class PortalCookieSessions(SecureCookieSessionInterface):
    """Flask's signed cookie session, opened for the portal's pages only: the JSON API, the
    probes and the metrics never use it, and verifying the cookie's signature on each of
    their requests was a share of every API answer's time (bench/server_bench.py).

    The cookie is `__Host-licensesvc_portal` when Secure, `licensesvc_portal` when not."""

    NOT_PORTAL = ("/v1/", "/healthz", "/readyz", "/metrics")

    def get_cookie_name(self, app: Flask) -> str:
        name: str = app.config["SESSION_COOKIE_NAME"]
        if app.config["SESSION_COOKIE_SECURE"] and not name.startswith(HOST_PREFIX):
            return HOST_PREFIX + name
        return name

    def open_session(self, app: Flask, request: Request) -> Any:
        if request.path.startswith(self.NOT_PORTAL):
            return self.make_null_session(app)
        return super().open_session(app, request)


def init_portal(app: Flask) -> None:
    """Register the portal's pages, its cookie settings, CSRF protection and HTML errors.

    Configuration (environment, or app.config before the first request):
    LICENSESVC_PORTAL_COOKIE_SECURE (default true in production, false in development),
    LICENSESVC_PORTAL_IDLE_MINUTES (30), LICENSESVC_PORTAL_ABSOLUTE_HOURS (12)."""
    production = os.environ.get("LICENSESVC_ENV", "development") == "production"
    # Flask has defaults for these, so they are set, not defaulted (tests override after)
    app.config["SESSION_COOKIE_SECURE"] = _env_flag("LICENSESVC_PORTAL_COOKIE_SECURE", production)
    app.config["SESSION_COOKIE_NAME"] = COOKIE_NAME  # __Host- prefixed when Secure (above)
    app.config["SESSION_COOKIE_HTTPONLY"] = True
    app.config["SESSION_COOKIE_SAMESITE"] = "Lax"
    app.config.setdefault(
        "PORTAL_IDLE_MINUTES", int(os.environ.get("LICENSESVC_PORTAL_IDLE_MINUTES", "30"))
    )
    app.config.setdefault(
        "PORTAL_ABSOLUTE_HOURS", int(os.environ.get("LICENSESVC_PORTAL_ABSOLUTE_HOURS", "12"))
    )
    # the portal checks CSRF on its own POSTs (below); the bearer-token API needs none
    app.config["WTF_CSRF_CHECK_DEFAULT"] = False
    # sessions have their own idle and absolute timeouts; a form may stay open within them
    app.config.setdefault("WTF_CSRF_TIME_LIMIT", None)
    app.session_interface = PortalCookieSessions()
    csrf.init_app(app)
    app.register_blueprint(bp)
    register_error_pages(app)
