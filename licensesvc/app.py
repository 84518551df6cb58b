"""The Flask application factory."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterable
from typing import Any

from flask import Flask, g, jsonify
from flask.typing import ResponseReturnValue
from sqlalchemy import text

from .api import init_api
from .config import Settings
from .db import is_unavailable, make_probe_engine, reset_request_deadline, set_request_deadline
from .fast_verify import install_fast_verify
from .observability import init_observability
from .portal import init_portal
from .ratelimit import init_rate_limits
from .readiness import check_signing_key, signing_key_problem
from .runtime import Runtime
from .security_headers import init_security_headers
from .web import EXTENSION, close_db_session, db_session, queued_seconds, runtime_of


def create_app(
    settings: Settings | None = None,
    *,
    runtime: Runtime | None = None,
    log_integrator: bool = False,
) -> Flask:
    """Build the app. With no arguments, settings come from LICENSESVC_* variables. With
    `log_integrator` (wsgi.py: what gunicorn serves), each process integrates the transparency
    log in a background thread (licensesvc/log_integrator.py)."""
    if runtime is None:
        runtime = Runtime.from_settings(settings or Settings.from_env())
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=runtime.settings.session_key, WTF_CSRF_SECRET_KEY=runtime.settings.csrf_key
    )
    app.config["MAX_CONTENT_LENGTH"] = 1024 * 1024
    app.extensions[EXTENSION] = runtime
    app.teardown_appcontext(close_db_session)
    init_observability(app, runtime)
    deadlines = runtime.deadlines
    probe = make_probe_engine(runtime.settings.database_url, deadlines)

    @app.before_request
    def _start_deadline() -> None:
        # all database work of one request ends by this deadline (503 past it), counted from
        # the request's arrival: time spent queued for a thread is part of it
        g.db_deadline = set_request_deadline(deadlines.request_timeout - queued_seconds())

    @app.teardown_request
    def _end_deadline(_exc: BaseException | None = None) -> None:
        token = g.pop("db_deadline", None)
        if token is not None:
            reset_request_deadline(token)

    @app.get("/healthz")
    def healthz() -> ResponseReturnValue:
        """Liveness: the process answers (touches no database; see docs/reliability.md)."""
        return jsonify(status="ok")

    @app.get("/readyz")
    def readyz() -> ResponseReturnValue:
        """Readiness: not shutting down, and the database answers within the readiness
        deadline (own connection, no pool wait)."""
        serving = sys.modules.get("licensesvc.gunicorn_conf")
        if serving is not None and serving.DRAINING.is_set():
            return jsonify(status="draining", database="not checked"), 503
        try:
            with probe.connect() as connection:
                connection.execute(text("SELECT 1"))
        except Exception as exc:  # any failure means not ready; the body says which part
            state = "unreachable" if is_unavailable(exc) else "error"
            return jsonify(status="unavailable", database=state), 503
        problem = signing_key_problem(db_session(), runtime_of().settings)
        if problem is not None:
            return jsonify(status="unavailable", database="ok", signing_key=problem), 503
        return jsonify(status="ok", database="ok")

    init_api(app)
    init_security_headers(app)
    check_signing_key(app)
    install_fast_verify(app)  # inside ProxyFix (init_rate_limits): it reads the client address
    init_rate_limits(app)  # after the blueprints: limits are applied by endpoint name
    init_portal(app)
    if log_integrator:
        from .log_integrator import init_log_integrator

        init_log_integrator(app, runtime)
    app.wsgi_app = ProblemSafetyNet(app, app.wsgi_app)  # type: ignore[method-assign]
    return app


class ProblemSafetyNet:
    """The outermost WSGI layer: an exception that escapes Flask's own handlers (one raised
    while the request's context is torn down, e.g. closing a session on a dead connection)
    becomes a problem+json answer, 503 `service_unavailable` when it means the database is
    unreachable or too slow, else 500 `internal_error`, never the server's plain-text 500.
    The app's start_response is held until the app returns, so the answer it had begun can
    still be replaced."""

    def __init__(self, app: Flask, inner: Callable[..., Iterable[bytes]]) -> None:
        self.app = app
        self.inner = inner

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        held: list[Any] = []

        def hold(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            held[:] = [status, headers, exc_info]
            return _no_write

        try:
            body = self.inner(environ, hold)
        except Exception as exc:
            return self._problem(exc, environ, start_response)
        start_response(*held)
        return body

    def _problem(
        self, exc: Exception, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> list[bytes]:
        path = environ.get("PATH_INFO", "")
        if is_unavailable(exc):
            status, code, title = 503, "service_unavailable", "Service unavailable"
            detail = "The database is unreachable or too slow right now; please retry."
            self.app.logger.warning(
                "database unavailable on %s %s: %s",
                environ.get("REQUEST_METHOD"),
                path,
                type(exc).__name__,
            )
        else:
            status, code, title = 500, "internal_error", "Internal Server Error"
            detail = "An unexpected error occurred. It has been logged; please try again later."
            self.app.logger.error(
                "Exception outside the request's handlers on %s", path, exc_info=exc
            )
        body = json.dumps(
            {
                "type": f"/docs#problem-{code}",
                "title": title,
                "status": status,
                "detail": detail,
                "code": code,
                "instance": path,
            }
        ).encode()
        headers = [
            ("Content-Type", "application/problem+json"),
            ("Content-Length", str(len(body))),
            ("Cache-Control", "no-store"),
            ("X-Content-Type-Options", "nosniff"),
        ]
        if status == 503:
            headers.append(("Retry-After", str(runtime_of(self.app).deadlines.retry_after)))
        start_response(f"{status} {title}", headers)  # the first call: the app's was held
        return [body]


def _no_write(_data: bytes) -> None:
    raise RuntimeError("licensesvc answers through the returned body, not write()")
