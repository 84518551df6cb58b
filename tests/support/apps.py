"""The Flask app under test, made once per process and pointed at each test's runtime.

`create_app` costs about 136 ms (the blueprints, the OpenAPI spec, the portal); made for every
API and portal test it was 43 % of those suites. An app is made once per configuration that
`create_app` reads when it runs (every `LICENSESVC_*` variable, the database URL and the
deadlines) and, before each test, reset to what the test would have had from a fresh one:
its own runtime (the test's session, settings and clock), the config as `create_app` left it
plus the test's secret keys, fresh rate-limit counters and the start-up signing-key check.

A test that adds routes needs an app of its own: mark it `own_app` (Flask refuses new routes
on an app that has served a request)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from flask import Flask

from licensesvc.app import create_app
from licensesvc.ratelimit import EXTENSION as RATE_LIMITER
from licensesvc.ratelimit import RateLimiter, RateLimits
from licensesvc.readiness import check_signing_key
from licensesvc.runtime import Runtime
from licensesvc.web import EXTENSION

#: the environment variables create_app reads while it builds an app
_PREFIX = "LICENSESVC_"


@dataclass
class _Made:
    app: Flask
    config: dict[str, Any]
    extensions: dict[str, Any]


@dataclass
class AppCache:
    """Apps made by create_app, one per configuration, reused across the tests of a process."""

    made: dict[tuple[object, ...], _Made] = field(default_factory=dict)
    hits: int = 0

    def app_for(self, runtime: Runtime) -> Flask:
        """An app on runtime, as `create_app(runtime=runtime)` would make it."""
        key = (
            tuple(sorted((k, v) for k, v in os.environ.items() if k.startswith(_PREFIX))),
            runtime.settings.database_url,
            repr(runtime.deadlines),
        )
        made = self.made.get(key)
        if made is None:
            app = create_app(runtime=runtime)
            self.made[key] = _Made(app, dict(app.config), dict(app.extensions))
            return app
        self.hits += 1
        _rebind(made, runtime)
        return made.app


def _rebind(made: _Made, runtime: Runtime) -> None:
    """Reset made.app to what create_app(runtime=runtime) leaves, without remaking it."""
    app = made.app
    app.config.clear()
    app.config.update(made.config)
    app.config.update(
        SECRET_KEY=runtime.settings.session_key, WTF_CSRF_SECRET_KEY=runtime.settings.csrf_key
    )
    app.extensions.clear()
    app.extensions.update(made.extensions)
    app.extensions[EXTENSION] = runtime
    fresh_rate_limits(app)  # what one test spent must not limit the next
    check_signing_key(app)


def fresh_rate_limits(app: Flask) -> None:
    """Give app fresh rate-limit counters, as a newly made app has."""
    app.extensions[RATE_LIMITER] = RateLimiter(RateLimits.from_env())


def app_on(runtime: Runtime, cache: AppCache, request: Any) -> Flask:
    """The app of a test (request: its pytest FixtureRequest): from cache, or a fresh one when
    the test is marked `own_app`."""
    if request.node.get_closest_marker("own_app") is not None:
        return create_app(runtime=runtime)
    return cache.app_for(runtime)
