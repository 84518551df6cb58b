"""The Flask application factory."""

from __future__ import annotations

import sys

from flask import Flask, g, jsonify
from flask.typing import ResponseReturnValue
from sqlalchemy import text

from .api import init_api
from .config import Settings
from .db import is_unavailable, make_probe_engine, reset_request_deadline, set_request_deadline
from .observability import init_observability
from .portal import init_portal
from .ratelimit import init_rate_limits
from .readiness import check_signing_key, signing_key_problem
from .runtime import Runtime
from .security_headers import init_security_headers
from .web import EXTENSION, close_db_session, db_session, runtime_of


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
        # all database work of one request ends by this deadline (503 past it)
        g.db_deadline = set_request_deadline(deadlines.request_timeout)

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
    init_rate_limits(app)  # after the blueprints: limits are applied by endpoint name
    init_portal(app)
    if log_integrator:
        from .log_integrator import init_log_integrator

        init_log_integrator(app, runtime)
    return app
