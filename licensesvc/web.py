"""Request plumbing shared by every web front end (the JSON API and the portal): the
request's database session and the service context of whoever is calling.

The factory (`licensesvc.app`) imports the blueprints, and the blueprints import this module;
nothing imports the factory."""

from __future__ import annotations

import sys
import time

from flask import Flask, current_app, g, request
from sqlalchemy.orm import Session

from licensesvc.platform.context import Actor, ServiceContext

from .runtime import Runtime

#: methods that only read; on SQLite their sessions never wait for the write lock
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

#: where create_app keeps the Runtime in app.extensions
EXTENSION = "licensesvc"


def runtime_of(app: Flask | None = None) -> Runtime:
    """The Runtime (settings, engine, sessions, clock) of app, or of the current app."""
    rt: Runtime = (app or current_app).extensions[EXTENSION]
    return rt


def reads_only() -> None:
    """Mark the request as one that only reads (call before its session opens): on SQLite its
    session then never waits for the write lock, whatever its method (verify is a POST)."""
    g.reads_only = True


def db_session() -> Session:
    """The request's session, opened on first use and closed at teardown."""
    if "db_session" not in g:
        # safe methods only read, so on SQLite they need not wait for the write lock
        read_only = request.method in SAFE_METHODS or g.get("reads_only", False)
        g.db_session = runtime_of().session_for(read_only=read_only)
    session: Session = g.db_session
    return session


def close_db_session(_exc: BaseException | None = None) -> None:
    """teardown_appcontext: close the request's session if one was opened."""
    session = g.pop("db_session", None)
    if session is not None:
        try:
            session.close()
        except Exception:  # a dead connection: the answer is given; the pool replaces it
            current_app.logger.warning("closing the request's database session failed")


def service_context(actor: Actor) -> ServiceContext:
    """A service context for actor on the request's session."""
    return runtime_of().context(db_session(), actor)


def queued_seconds() -> float:
    """How long the current request waited between its header's arrival and now (the
    gunicorn worker notes the arrival; 0 under any other server)."""
    serving = sys.modules.get("licensesvc.gunicorn_conf")
    arrived = getattr(serving.ARRIVED, "at", None) if serving is not None else None
    return 0.0 if arrived is None else max(0.0, time.monotonic() - arrived)
