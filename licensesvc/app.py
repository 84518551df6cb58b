"""The Flask application factory."""

from __future__ import annotations

from flask import Flask, g, jsonify, request
from flask.typing import ResponseReturnValue
from sqlalchemy import text
from sqlalchemy.orm import Session

from .config import Settings
from .runtime import Runtime
from .services.context import Actor, ServiceContext

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def create_app(settings: Settings | None = None, *, runtime: Runtime | None = None) -> Flask:
    """Build the app. With no arguments, settings come from LICENSESVC_* variables."""
    if runtime is None:
        runtime = Runtime.from_settings(settings or Settings.from_env())
    app = Flask(__name__)
    app.config["SECRET_KEY"] = runtime.settings.secret_key
    app.config["MAX_CONTENT_LENGTH"] = 1024 * 1024
    app.extensions["licensesvc"] = runtime

    @app.teardown_appcontext
    def _close_session(_exc: BaseException | None) -> None:
        session = g.pop("db_session", None)
        if session is not None:
            session.close()

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

    from .api import init_api

    init_api(app)
    return app


def runtime_of(app: Flask | None = None) -> Runtime:
    from flask import current_app

    rt: Runtime = (app or current_app).extensions["licensesvc"]
    return rt


def db_session() -> Session:
    """The request's session, opened on first use and closed at teardown."""
    if "db_session" not in g:
        # safe methods only read, so on SQLite they need not wait for the write lock
        g.db_session = runtime_of().session_for(read_only=request.method in SAFE_METHODS)
    session: Session = g.db_session
    return session


def service_context(actor: Actor) -> ServiceContext:
    return runtime_of().context(db_session(), actor)
