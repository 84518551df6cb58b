"""The Flask application factory."""

from __future__ import annotations

from flask import Flask, jsonify
from flask.typing import ResponseReturnValue
from sqlalchemy import text

from .api import init_api
from .config import Settings
from .portal import init_portal
from .runtime import Runtime
from .web import EXTENSION, close_db_session, db_session


def create_app(settings: Settings | None = None, *, runtime: Runtime | None = None) -> Flask:
    """Build the app. With no arguments, settings come from LICENSESVC_* variables."""
    if runtime is None:
        runtime = Runtime.from_settings(settings or Settings.from_env())
    app = Flask(__name__)
    app.config["SECRET_KEY"] = runtime.settings.secret_key
    app.config["MAX_CONTENT_LENGTH"] = 1024 * 1024
    app.extensions[EXTENSION] = runtime
    app.teardown_appcontext(close_db_session)

    @app.get("/healthz")
    def healthz() -> ResponseReturnValue:
        """Liveness: the process answers."""
        return jsonify(status="ok")

    @app.get("/readyz")
    def readyz() -> ResponseReturnValue:
        """Readiness: the database answers."""
        try:
            db_session().execute(text("SELECT 1"))
        except Exception:  # any failure means not ready; the body says which part
            return jsonify(status="unavailable", database="unreachable"), 503
        return jsonify(status="ok", database="ok")

    init_api(app)
    init_portal(app)
    return app
