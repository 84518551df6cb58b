"""Rate limits (Flask-Limiter), sized for abuse, not use: a customer's or an installer's
ordinary work never meets them.

All limits are applied here, from one table keyed by endpoint name, so the API views carry no
decorator of their own:

| limit | counted per | what counts |
|---|---|---|
| `failed_auth` | client address | answers 401 on any route (checked before the token is) |
| `verify` | client address | `POST /v1/keys/verify` |
| `key_requests` | authenticated customer | `POST /v1/key-requests` (analysts exempt) |
| `escalations` | authenticated customer | `POST /v1/key-requests/<case>/escalate` |
| `sign_in_address` | client address | portal sign-in attempts (`hit_sign_in`) |
| `sign_in_email` | email address | portal sign-in attempts (`hit_sign_in`) |

Each limit is a Flask-Limiter string (`"30/minute;300/hour"`) read from
`LICENSESVC_RATELIMIT_<NAME>`; the counters live in memory (one process) unless
`LICENSESVC_RATELIMIT_STORAGE_URL` names a shared store (`redis://host:6379/0`), which several
app servers need. A limit met answers 429 problem+json `rate_limited` with `Retry-After`.
"""

from __future__ import annotations

import logging
import math
import os
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from typing import Any

from flask import Flask, current_app, g, request
from flask_limiter import ApplicationLimit, Limiter, RateLimitExceeded
from limits import parse_many
from limits.storage import MemoryStorage
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.wrappers import Response

PREFIX = "LICENSESVC_RATELIMIT_"
EXTENSION = "licensesvc.ratelimit"

log = logging.getLogger("licensesvc.auth")

_TOKEN_PREFIX = re.compile(r"lsc_(?:cust|anl)_[A-Za-z0-9_-]{0,4}")


class RateLimitConfigurationError(Exception):
    """A LICENSESVC_RATELIMIT_* variable is malformed; the message names it."""


@dataclass(frozen=True)
class RateLimits:
    """The limits and where their counters live. Each limit field is a Flask-Limiter string;
    environment variable `LICENSESVC_RATELIMIT_<FIELD>` (upper case) overrides it."""

    #: answers 401 per client address (token guessing)
    failed_auth: str = "30/minute;300/hour"
    #: POST /v1/keys/verify per client address (an installer fleet behind one NAT included)
    verify: str = "3000/minute"
    #: POST /v1/key-requests per customer (dry runs included); analysts are exempt
    key_requests: str = "120/minute;5000/day"
    #: escalations per customer; analysts are exempt
    escalations: str = "30/minute;500/day"
    #: portal sign-in attempts per client address
    sign_in_address: str = "60/minute;600/hour"
    #: portal sign-in attempts per email address
    sign_in_email: str = "10/minute;100/day"
    #: where counters live: memory:// (one process) or redis://host:port/db (shared)
    storage_url: str = "memory://"
    #: false turns every limit off
    enabled: bool = True
    #: proxies in front that set X-Forwarded-For (nginx: 1); the client address is taken from
    #: that header only when this is set
    trusted_proxies: int = 0

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> RateLimits:
        """Read LICENSESVC_RATELIMIT_* (and LICENSESVC_TRUSTED_PROXIES). Raises
        RateLimitConfigurationError naming the variable that is malformed."""
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for f in fields(cls):
            name = (
                "LICENSESVC_TRUSTED_PROXIES"
                if f.name == "trusted_proxies"
                else PREFIX + f.name.upper()
            )
            raw = env.get(name)
            if raw is None or raw == "":
                continue
            if f.name == "enabled":
                if raw.lower() not in ("1", "0", "true", "false", "yes", "no"):
                    raise RateLimitConfigurationError(f"{name} must be true or false, not {raw!r}")
                values[f.name] = raw.lower() in ("1", "true", "yes")
            elif f.name == "trusted_proxies":
                if not raw.isdigit():
                    raise RateLimitConfigurationError(f"{name} must be a whole number, not {raw!r}")
                values[f.name] = int(raw)
            elif f.name == "storage_url":
                if "://" not in raw:
                    raise RateLimitConfigurationError(
                        f"{name} must be a storage URL such as redis://127.0.0.1:6379/0"
                    )
                values[f.name] = raw
            else:
                try:
                    parse_many(raw)
                except ValueError:
                    raise RateLimitConfigurationError(
                        f"{name} must be limits such as '30/minute;300/hour', not {raw!r}"
                    ) from None
                values[f.name] = raw
        return cls(**values)


class InlineExpiryMemoryStorage(MemoryStorage):
    """limits' in-memory storage, without its timer thread: the stock one starts a thread
    (`threading.Timer`) every 10 ms of traffic to drop expired counters, which doubled the
    time of `POST /v1/keys/verify` under gunicorn's sync workers (bench/server_bench.py).
    Expired counters are dropped inline instead, at most once a second."""

    STORAGE_SCHEME = ["licensesvc-memory"]

    def __init__(self, uri: str | None = None, **options: Any) -> None:
        super().__init__(uri, **options)
        self.timer.cancel()
        self._last_expiry = time.monotonic()

    def _MemoryStorage__schedule_expiry(self) -> None:  # noqa: N802 (overrides a private hook)
        now = time.monotonic()
        if now - self._last_expiry >= 1.0:
            self._last_expiry = now
            self._MemoryStorage__expire_events()  # type: ignore[attr-defined]


def _storage_uri(url: str) -> str:
    return "licensesvc-memory://" if url.startswith("memory://") else url


def client_address() -> str:
    """The caller's address (behind trusted proxies, from X-Forwarded-For via ProxyFix)."""
    return request.remote_addr or "unknown"


def _customer_key() -> str:
    actor = g.get("actor")
    if actor is None or actor.customer_id is None:
        return "customer:none"
    return f"customer:{actor.customer_id}"


def _not_a_customer() -> bool:
    actor = g.get("actor")
    # analysts (and anything that is not a customer) are exempt
    return actor is None or actor.customer_id is None


def _failed_auth(response: Response) -> bool:
    return response.status_code == 401


def token_prefix(token: str | None) -> str:
    """What a log line may say about a presented token: its type prefix and four characters
    of an `lsc_` token, else only its length. Never the token."""
    if not token:
        return "none"
    match = _TOKEN_PREFIX.match(token)
    if match:
        return match.group(0)
    return f"<{len(token)} chars, not an lsc_ token>"


def _presented_token() -> str | None:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else None


def _log_failed_authentication(response: Response) -> Response:
    if response.status_code == 401:
        log.warning(
            "authentication failed from %s on %s %s (token %s)",
            client_address(),
            request.method,
            request.path,
            token_prefix(_presented_token()),
        )
    return response


#: route limits: endpoint name -> (limit field, key function, exempt_when)
_ROUTE_LIMITS: dict[str, tuple[str, Callable[[], str], Callable[[], bool] | None]] = {
    "public.Verify": ("verify", client_address, None),
    "key-requests.KeyRequests": ("key_requests", _customer_key, _not_a_customer),
    "key-requests.Escalation": ("escalations", _customer_key, _not_a_customer),
}


#: endpoints no limit applies to
_NEVER_LIMITED = ("healthz", "readyz", "metrics")


def retry_after_seconds(reset_at: float, now: float | None = None) -> int:
    """Whole seconds until reset_at (a UNIX time), at least 1."""
    return max(1, math.ceil(reset_at - (time.time() if now is None else now)))


def _rate_limited(error: RateLimitExceeded) -> Response:
    """429 problem+json with Retry-After."""
    from .api.problems import problem_response  # the API's one problem+json writer

    limiter: Limiter = current_app.extensions[EXTENSION]
    current = limiter.current_limit
    retry_after = retry_after_seconds(current.reset_at) if current else 60
    scope = _limit_name(error)
    _count_hit(scope)
    return problem_response(
        429,
        "rate_limited",
        "Too many requests",
        f"Too many requests ({error.description}); try again in {retry_after} s.",
        extra={"retry_after": retry_after},
        headers={"Retry-After": str(retry_after)},
    )


def _limit_name(error: RateLimitExceeded) -> str:
    scope = getattr(error.limit, "scope", None)
    if isinstance(scope, str) and scope:
        return scope.removeprefix("licensesvc:")
    return "unknown"


def _count_hit(name: str) -> None:
    from . import observability

    observability.count_rate_limit_hit(name)


def init_rate_limits(app: Flask, limits: RateLimits | None = None) -> Limiter:
    """Apply every limit to app (call after the blueprints are registered). With no limits
    given they come from LICENSESVC_RATELIMIT_*."""
    limits = limits or RateLimits.from_env()
    app.config["RATELIMIT_ENABLED"] = limits.enabled
    app.config.setdefault("RATELIMIT_STORAGE_URI", _storage_uri(limits.storage_url))
    if limits.trusted_proxies:
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=limits.trusted_proxies, x_proto=limits.trusted_proxies
        )
    limiter = Limiter(
        client_address,
        storage_uri=_storage_uri(limits.storage_url),
        strategy="sliding-window-counter",  # O(1) per hit, unlike moving-window
        key_prefix="licensesvc",
        application_limits=[
            ApplicationLimit(
                limits.failed_auth,
                key_function=client_address,
                scope="failed_auth",
                deduct_when=_failed_auth,
                finalized=True,
            )
        ],
        # the counters must not take the service down: if Redis is away, count in memory
        in_memory_fallback_enabled=True,
    )
    limiter.init_app(app)
    app.extensions[EXTENSION] = limiter
    app.extensions[EXTENSION + ".limits"] = limits
    for endpoint, (field_name, key_func, exempt_when) in _ROUTE_LIMITS.items():
        view = app.view_functions.get(endpoint)
        if view is None:  # the API moved a route: fail loudly, not silently unlimited
            raise RuntimeError(f"rate limit for unknown endpoint {endpoint!r}")
        app.view_functions[endpoint] = limiter.limit(  # type: ignore[assignment]
            getattr(limits, field_name),
            key_func=key_func,
            exempt_when=exempt_when,
            methods=["POST"],
            scope=field_name,
        )(view)
    for endpoint in _NEVER_LIMITED:  # load balancers' probes and the metrics scraper
        if endpoint in app.view_functions:
            limiter.exempt(app.view_functions[endpoint])
    app.register_error_handler(RateLimitExceeded, _rate_limited)
    app.after_request(_log_failed_authentication)
    return limiter


class SignInThrottled(Exception):
    """Too many sign-in attempts; `retry_after` is the wait in whole seconds."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"too many sign-in attempts; try again in {retry_after} s")
        self.retry_after = retry_after


def hit_sign_in(email: str) -> None:
    """Count one sign-in attempt against the per-address and per-email limits (the portal
    calls this before it checks the password). Raises SignInThrottled when either is met.

    The email is compared case-insensitively and stripped, as users type it."""
    limiter: Limiter | None = current_app.extensions.get(EXTENSION)
    if limiter is None or not limiter.enabled:
        return
    limits: RateLimits = current_app.extensions[EXTENSION + ".limits"]
    checks = (
        ("sign_in_address", limits.sign_in_address, client_address()),
        ("sign_in_email", limits.sign_in_email, email.strip().lower()),
    )
    for name, value, key in checks:
        for item in parse_many(value):
            identifiers = ("licensesvc", key, name)
            if not limiter.limiter.hit(item, *identifiers):
                reset_at = limiter.limiter.get_window_stats(item, *identifiers).reset_time
                _count_hit(name)
                raise SignInThrottled(retry_after_seconds(reset_at))
