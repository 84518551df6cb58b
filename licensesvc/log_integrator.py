"""The transparency log's integrator in the web app: a daemon thread per process that runs
`transparency.integrate` every LICENSESVC_LOG_INTEGRATE_EVERY seconds (default 1; 0 turns it
off, for a deployment that runs `licensesvc log integrate --every 1` instead).

Each run is one short transaction under the log state's row lock, so any number of processes
and servers may run it: they take turns, and one with nothing to do only reads. It starts on a
process's first request (after gunicorn forked the worker; a thread of the master would not
be inherited), and a failed run is logged and tried again at the next tick."""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Mapping

from flask import Flask

from licensesvc import transparency
from licensesvc.platform.context import Actor

from .config import PREFIX, ConfigurationError
from .db import is_unavailable
from .runtime import Runtime

EVERY_ENV = f"{PREFIX}LOG_INTEGRATE_EVERY"
DEFAULT_EVERY = 1.0
_log = logging.getLogger("licensesvc.log_integrator")


def every_from_env(environ: Mapping[str, str] | None = None) -> float:
    """Seconds between integrations (0: off). Raises ConfigurationError."""
    env = os.environ if environ is None else environ
    raw = env.get(EVERY_ENV, "").strip()
    if not raw:
        return DEFAULT_EVERY
    try:
        value = float(raw)
    except ValueError:
        raise ConfigurationError(f"{EVERY_ENV} must be seconds, not {raw!r}") from None
    if value < 0 or value > 60:
        raise ConfigurationError(f"{EVERY_ENV} must be 0 (off) to 60 seconds")
    return value


class LogIntegrator:
    """The integrating thread of one process."""

    def __init__(self, runtime: Runtime, every: float) -> None:
        self.runtime = runtime
        self.every = every
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._run, name="log-integrator", daemon=True)

    def run_once(self) -> transparency.Integration:
        with self.runtime.unit_of_work(Actor.system()) as ctx:
            return transparency.integrate(ctx)

    def _run(self) -> None:
        while not self.stopped.wait(self.every):
            try:
                self.run_once()
            except Exception as exc:  # logged and retried next tick: the app keeps serving
                if is_unavailable(exc):  # locked, slow or unreachable: one line, no traceback
                    _log.warning(
                        "transparency log integration put off: the database is unavailable "
                        "(%s); retried in %s s",
                        type(exc).__name__,
                        self.every,
                    )
                else:
                    _log.exception("transparency log integration failed")


def init_log_integrator(app: Flask, runtime: Runtime, every: float | None = None) -> None:
    """Start the integrator on each process's first request (unless LICENSESVC_LOG_INTEGRATE_EVERY
    is 0). Raises ConfigurationError for a bad value."""
    interval = every_from_env() if every is None else every
    if interval <= 0:
        return
    started: dict[int, LogIntegrator] = {}
    lock = threading.Lock()

    @app.before_request
    def _start_log_integrator() -> None:
        pid = os.getpid()
        if pid in started:
            return
        with lock:
            if pid not in started:
                integrator = LogIntegrator(runtime, interval)
                integrator.thread.start()
                started[pid] = integrator

    app.extensions["log_integrators"] = started
