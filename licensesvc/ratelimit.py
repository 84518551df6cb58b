"""Rate limits (the `limits` package, Flask-Limiter's engine: its storages and its
sliding-window counters), sized for abuse, not use: a customer's or an installer's ordinary
work never meets them.

All limits are applied here, from one table keyed by endpoint name, so the API views carry no
decorator of their own; one before_request hook counts what applies to the request and nothing
else:

| limit | counted per | what counts |
|---|---|---|
| `failed_auth` | client address | answers 401 on any route (checked before the token is) |
| `verify` | client address | `POST /v1/keys/verify` |
| `key_requests` | customer | `POST /v1/key-requests` (analysts exempt); portal requests |
| `escalations` | customer | `POST /v1/key-requests/<case>/escalate`; portal escalations |
| `sign_in_address` | client address | portal sign-in attempts (`hit_sign_in`) |
| `sign_in_email` | (email, address) | failed portal sign-ins (`count_sign_in_failure`) |
| `sign_in_email_lockout` | email address | failed portal sign-ins from any address (below) |

The portal counts dry runs, key requests and escalations on the API's per-customer counters
(`hit_customer_limit`).

An email's own lockout is short and never blocks a sign-in from an address with no failures
for it: failures from elsewhere (an attacker with many addresses) cannot lock its owner out
(docs/security.md).

Each limit is a rate-limit string of the `limits` package (`"30/minute;300/hour"`) read from
`LICENSESVC_RATELIMIT_<NAME>`; the counters live in memory (one process) unless
`LICENSESVC_RATELIMIT_STORAGE_URL` names a shared store (`redis://host:6379/0`), which several
app servers need. A limit met answers 429 problem+json `rate_limited` with `Retry-After`.

In memory each gunicorn worker process counts alone, so each gets its share of every limit:
the amount divided by the number of workers (rounded down, at least 1), so that all of them
together let through no more than the documented figure (a client whose requests all land on
one worker meets its share first). The number of workers is the one gunicorn started with
(`gunicorn_conf.WORKER_PROCESSES`, set in its `on_starting` hook); 1 outside gunicorn.
"""

from __future__ import annotations

import functools
import logging
import math
import os
import re
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from typing import Any

from flask import Flask, current_app, g, request
from limits import RateLimitItem, parse_many
from limits.storage import MemoryStorage, storage_from_string
from limits.strategies import SlidingWindowCounterRateLimiter
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
    """The limits and where their counters live. Each limit field is a `limits` string;
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
    #: failed portal sign-ins per (email address, client address)
    sign_in_email: str = "10/minute;100/day"
    #: failed portal sign-ins per email address from all addresses: once met, an address with
    #: failures of its own for the email waits (short); an address without any may still try
    sign_in_email_lockout: str = "20/5minutes"
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


def serving_processes() -> int:
    """How many gunicorn worker processes serve this app (1 outside gunicorn)."""
    serving = sys.modules.get("licensesvc.gunicorn_conf")
    return max(1, int(getattr(serving, "WORKER_PROCESSES", 1))) if serving is not None else 1


def share_of(item: RateLimitItem, processes: int) -> RateLimitItem:
    """item's amount divided among processes (rounded down, at least 1), same window."""
    if processes <= 1:
        return item
    return type(item)(max(1, item.amount // processes), item.multiples, item.namespace)


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


#: route limits: endpoint name -> (limit field, key function, exempt_when), counted as the
#: view is called (after the blueprint's token check, so a customer's key names the customer)
_ROUTE_LIMITS: dict[str, tuple[str, Callable[[], str], Callable[[], bool] | None]] = {
    "public.Verify": ("verify", client_address, None),
    "key-requests.KeyRequests": ("key_requests", _customer_key, _not_a_customer),
    "key-requests.Escalation": ("escalations", _customer_key, _not_a_customer),
}


#: endpoints no limit applies to
_NEVER_LIMITED = frozenset({"healthz", "readyz", "metrics"})


def retry_after_seconds(reset_at: float, now: float | None = None) -> int:
    """Whole seconds until reset_at (a UNIX time), at least 1."""
    return max(1, math.ceil(reset_at - (time.time() if now is None else now)))


class RateLimited(Exception):
    """A limit is met: answered 429 problem+json `rate_limited` with Retry-After."""

    def __init__(self, name: str, description: str, retry_after: int) -> None:
        super().__init__(f"{name}: {description}")
        self.name = name
        self.description = description
        self.retry_after = retry_after


class RateLimiter:
    """The limits of one app and their counters: Flask-Limiter's storage (memory or Redis,
    `limits.storage`) and its sliding-window-counter strategy, called directly by one
    before_request hook, so that a request pays for the limits that apply to it and nothing
    else (Flask-Limiter's own per-request machinery cost a tenth of a millisecond on every
    request, limited or not: bench/server_bench.py --profile).

    If the shared store (Redis) fails, the counters go on in memory (logged once) and the
    shared store is tried again after `RETRY_SHARED_AFTER` seconds."""

    RETRY_SHARED_AFTER = 30.0

    def __init__(self, limits: RateLimits, processes: int | None = None) -> None:
        self.enabled = limits.enabled
        self._uri = _storage_uri(limits.storage_url)
        self._shared = self._strategy_for(self._uri)
        self._memory: SlidingWindowCounterRateLimiter | None = None
        self._failed_at = 0.0
        self._configured = {
            f.name: parse_many(getattr(limits, f.name))
            for f in fields(RateLimits)
            if f.type in ("str", str) and f.name != "storage_url"
        }
        #: the worker processes sharing the limits; None: asked at the first request, in the
        #: worker (`licensesvc serve` builds the app before gunicorn starts)
        self._processes = processes
        self._scaled: dict[str, list[RateLimitItem]] | None = None
        #: in memory only (this process's counters are all there are): when each (limit, key)
        #: was last counted here, so that a check of a key never counted (every request's
        #: failed-authentication check, nearly always) asks the storage nothing
        self._counted: dict[tuple[str, str], float] | None = (
            {} if self._uri.startswith("licensesvc-memory") else None
        )
        #: how long a hit weighs on a check: the sliding window counter weighs the previous
        #: window too, so two of the longest window
        self._reach = 2 * max(
            (item.get_expiry() for items in self._configured.values() for item in items),
            default=0,
        )
        self._prune_at = self.COUNTED_KEPT

    @property
    def _items(self) -> dict[str, list[RateLimitItem]]:
        """Each limit's windows: as configured with a shared store; in memory, this process's
        share (module doc)."""
        if self._scaled is None:
            if not self._uri.startswith("licensesvc-memory"):
                self._scaled = self._configured
            else:
                processes = self._processes or serving_processes()
                self._scaled = {
                    name: [share_of(item, processes) for item in items]
                    for name, items in self._configured.items()
                }
        return self._scaled

    @staticmethod
    def _strategy_for(uri: str) -> SlidingWindowCounterRateLimiter:
        return SlidingWindowCounterRateLimiter(storage_from_string(uri))

    def _strategy(self) -> SlidingWindowCounterRateLimiter:
        if self._memory is not None:
            if time.monotonic() - self._failed_at < self.RETRY_SHARED_AFTER:
                return self._memory
            self._memory = None  # try the shared store again
        return self._shared

    def _run(self, method: str, item: RateLimitItem, identifiers: tuple[str, ...]) -> Any:
        """strategy.method(item, *identifiers) on the shared store, or in memory while it
        fails."""
        try:
            return getattr(self._strategy(), method)(item, *identifiers)
        except Exception:
            if self._memory is not None or self._uri.startswith("licensesvc-memory"):
                raise
            log.warning("rate limit storage unreachable: counting in memory for now")
            self._memory = self._strategy_for("licensesvc-memory://")
            self._failed_at = time.monotonic()
            return getattr(self._memory, method)(item, *identifiers)

    def hit(self, name: str, key: str) -> None:
        """Count one request of key against the named limit. Raises RateLimited when one of
        its windows is full (the request is not counted in that window)."""
        identifiers = ("licensesvc", name, key)
        if self._counted is not None:
            self._note_counted(name, key)
        for item in self._items[name]:
            if not self._run("hit", item, identifiers):
                self._refuse(name, item, identifiers)

    def _note_counted(self, name: str, key: str) -> None:
        assert self._counted is not None
        now = time.monotonic()
        if len(self._counted) >= self._prune_at:  # forget what every window has expired
            self._counted = {k: t for k, t in self._counted.items() if now - t <= self._reach}
            self._prune_at = max(self.COUNTED_KEPT, 2 * len(self._counted))
        self._counted[(name, key)] = now

    #: how many counted (limit, key) pairs are kept before those past every window are dropped
    COUNTED_KEPT = 100_000

    def _never_counted(self, name: str, key: str) -> bool:
        """In memory: key has no hit against the named limit in any window (none counted
        here, or the last longer ago than the longest window)."""
        if self._counted is None:
            return False
        at = self._counted.get((name, key))
        return at is None or time.monotonic() - at > self._reach

    def check(self, name: str, key: str) -> None:
        """Raise RateLimited if key has used up the named limit, without counting."""
        if self._never_counted(name, key):
            return
        identifiers = ("licensesvc", name, key)
        for item in self._items[name]:
            if not self._run("test", item, identifiers):
                self._refuse(name, item, identifiers)

    def unused(self, name: str, key: str) -> bool:
        """Whether key has no hit counted against the named limit in any of its windows."""
        identifiers = ("licensesvc", name, key)
        return all(
            self._run("get_window_stats", item, identifiers).remaining >= item.amount
            for item in self._items[name]
        )

    def _refuse(self, name: str, item: RateLimitItem, identifiers: tuple[str, ...]) -> None:
        stats = self._run("get_window_stats", item, identifiers)
        _count_hit(name)
        raise RateLimited(name, str(item), retry_after_seconds(stats.reset_time))


def _rate_limited(error: RateLimited) -> Response:
    """429 problem+json with Retry-After."""
    from .api.problems import problem_response  # the API's one problem+json writer

    retry_after = error.retry_after
    return problem_response(
        429,
        "rate_limited",
        "Too many requests",
        f"Too many requests ({error.description}); try again in {retry_after} s.",
        extra={"retry_after": retry_after},
        headers={"Retry-After": str(retry_after)},
    )


def _count_hit(name: str) -> None:
    from . import observability

    observability.count_rate_limit_hit(name)


def _limiter() -> RateLimiter | None:
    limiter: RateLimiter | None = current_app.extensions.get(EXTENSION)
    return limiter if limiter is not None and limiter.enabled else None


def _check_request() -> None:
    """before_request: an address that failed authentication too often is refused on every
    route that takes a token (the public ones take none: they have their own limits). The
    route limits are counted by their views (`_limited`)."""
    if request.endpoint in _NEVER_LIMITED or request.blueprint == "public":
        return
    limiter = _limiter()
    if limiter is not None:
        limiter.check("failed_auth", client_address())


def _after_request(response: Response) -> Response:
    """after_request: a 401 counts against the address's failed-authentication limit, and is
    logged with the token's prefix only."""
    if response.status_code == 401 and request.endpoint not in _NEVER_LIMITED:
        limiter = _limiter()
        if limiter is not None:
            try:
                limiter.hit("failed_auth", client_address())
            except RateLimited:
                pass  # already answered 401; the next request is refused
        _log_failed_authentication(response)
    return response


def _limited(
    name: str,
    key_func: Callable[[], str],
    exempt_when: Callable[[], bool] | None,
    view: Callable[..., Any],
) -> Callable[..., Any]:
    """view, counting each POST against the named limit by key_func (unless exempt)."""

    @functools.wraps(view)
    def limited(*args: Any, **kwargs: Any) -> Any:
        counted = request.environ.get(COUNTED)
        if counted is not None:  # counted in front of Flask (licensesvc/fast_verify.py)
            if isinstance(counted, RateLimited):
                raise counted
            return view(*args, **kwargs)
        limiter = _limiter()
        if limiter is not None and request.method == "POST":
            if exempt_when is None or not exempt_when():
                limiter.hit(name, key_func())
        return view(*args, **kwargs)

    return limited


#: the WSGI environ key under which a layer in front of Flask leaves the outcome of a route
#: limit it has already counted for this request (True, or the RateLimited it raised), so the
#: route does not count the request a second time (licensesvc/fast_verify.py)
COUNTED = "licensesvc.ratelimit.counted"


def hit_route_limit(app: Flask, endpoint: str, environ: dict[str, Any]) -> RateLimited | None:
    """Count a request to endpoint against its route limit outside Flask's request cycle
    (the client's address from environ, as `client_address`), and note in environ that it
    is counted. The RateLimited refusal when the limit is met, else None."""
    environ[COUNTED] = True
    limiter: RateLimiter | None = app.extensions.get(EXTENSION)
    if limiter is None or not limiter.enabled:
        return None
    name, key_func, exempt_when = _ROUTE_LIMITS[endpoint]
    if key_func is not client_address or exempt_when is not None:
        raise ValueError(f"{endpoint}'s limit needs Flask's request context")
    try:
        limiter.hit(name, environ.get("REMOTE_ADDR") or "unknown")
    except RateLimited as refused:
        environ[COUNTED] = refused
        return refused
    return None


def init_rate_limits(app: Flask, limits: RateLimits | None = None) -> RateLimiter:
    """Apply every limit to app (call after the blueprints are registered). With no limits
    given they come from LICENSESVC_RATELIMIT_*."""
    limits = limits or RateLimits.from_env()
    if limits.trusted_proxies:
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=limits.trusted_proxies, x_proto=limits.trusted_proxies
        )
    limiter = RateLimiter(limits)
    app.extensions[EXTENSION] = limiter
    for endpoint, (field_name, key_func, exempt_when) in _ROUTE_LIMITS.items():
        view = app.view_functions.get(endpoint)
        if view is None:  # the API moved a route: fail loudly, not silently unlimited
            raise RuntimeError(f"rate limit for unknown endpoint {endpoint!r}")
        app.view_functions[endpoint] = _limited(field_name, key_func, exempt_when, view)
    app.before_request(_check_request)
    app.after_request(_after_request)
    app.register_error_handler(RateLimited, _rate_limited)
    return limiter


def hit_customer_limit(name: str, customer_id: int) -> None:
    """Count one request of a customer against a per-customer limit (`key_requests`,
    `escalations`), on the same counter as the API's: the portal calls this for its dry runs,
    key requests and escalations. Raises RateLimited when the limit is met."""
    limiter = _limiter()
    if limiter is not None:
        limiter.hit(name, f"customer:{customer_id}")


class SignInThrottled(Exception):
    """Too many sign-in attempts; `retry_after` is the wait in whole seconds."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"too many sign-in attempts; try again in {retry_after} s")
        self.retry_after = retry_after


def _sign_in_keys(email: str) -> tuple[str, str, str]:
    """(address, (email, address), email) keys of the sign-in limits; the email compared
    case-insensitively and stripped, as users type it."""
    address = client_address()
    person = email.strip().lower()
    return address, f"{person} from {address}", person


def hit_sign_in(email: str) -> None:
    """Before the password is checked: count one attempt against the address's limit, and
    refuse when this address has used up its failures for this email, or has failures for it
    while the email's own lockout is met (failures from every address). An address with no
    failures for the email is never refused by the email's lockout: a correct password from
    it signs in, whatever others tried. Raises SignInThrottled."""
    limiter = _limiter()
    if limiter is None:
        return
    address, pair, person = _sign_in_keys(email)
    try:
        limiter.hit("sign_in_address", address)
        limiter.check("sign_in_email", pair)
        if not limiter.unused("sign_in_email", pair):
            limiter.check("sign_in_email_lockout", person)
    except RateLimited as limited:
        raise SignInThrottled(limited.retry_after) from None


def count_sign_in_failure(email: str) -> None:
    """After a wrong password (or an unknown or disabled email): count the failure against
    this (email, address) pair and against the email's lockout."""
    limiter = _limiter()
    if limiter is None:
        return
    _, pair, person = _sign_in_keys(email)
    for name, key in (("sign_in_email", pair), ("sign_in_email_lockout", person)):
        try:
            limiter.hit(name, key)
        except RateLimited:
            pass  # already met: the next attempt from this address is refused
