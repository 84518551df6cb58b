"""Delivering webhooks (`licensesvc notify send`): each due delivery is POSTed, signed per the
Standard Webhooks specification, to its endpoint after the event's transaction committed.

The sender owns its transactions like the mail sender (licensesvc/mail.py): it leases a batch
(committed at once, so another sender leaves it alone), delivers, and records each outcome in
its own short transaction. Before every attempt the URL is checked again and the connection
goes to the address that passed the check; redirects are not followed (a 3xx is a failure).
Each endpoint's deliveries go in their own thread, one at a time with bounded timeouts, so a
slow or failing receiver delays only itself; after a failure the endpoint's other deliveries
wait for the next run.
"""

from __future__ import annotations

import http.client
import json
import os
import socket
import ssl
import time
import uuid
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from licensesvc import outreach
from licensesvc.domain.errors import ValidationFailed
from licensesvc.platform.context import Actor

from .config import PREFIX, ConfigurationError
from .runtime import Runtime

TIMEOUT_ENV = f"{PREFIX}WEBHOOK_TIMEOUT"
#: seconds to connect, and to wait for each read, of one attempt
DEFAULT_TIMEOUT = 10.0
#: endpoints served at once
MAX_PARALLEL_ENDPOINTS = 8
USER_AGENT = "licensesvc-webhooks/1"


def timeout_from_env(environ: Mapping[str, str] | None = None) -> float:
    """LICENSESVC_WEBHOOK_TIMEOUT in seconds (default 10, at most 30). Raises
    ConfigurationError."""
    env = os.environ if environ is None else environ
    raw = env.get(TIMEOUT_ENV, "").strip()
    if not raw:
        return DEFAULT_TIMEOUT
    try:
        value = float(raw)
    except ValueError:
        raise ConfigurationError(f"{TIMEOUT_ENV} must be seconds, not {raw!r}") from None
    if not 0 < value <= 30:
        raise ConfigurationError(f"{TIMEOUT_ENV} must be more than 0 and at most 30 seconds")
    return value


@dataclass
class WebhookReport:
    """What one `deliver_due` run did."""

    sent: int = 0
    retrying: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)

    def add(self, other: WebhookReport) -> None:
        self.sent += other.sent
        self.retrying += other.retrying
        self.failed += other.failed
        self.errors += other.errors


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """HTTP to the checked address, whatever the host name resolves to now."""

    def __init__(self, host: str, port: int, address: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self._address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """HTTPS to the checked address, the certificate checked against the host name."""

    def __init__(
        self, host: str, port: int, address: str, timeout: float, context: ssl.SSLContext
    ) -> None:
        super().__init__(host, port, timeout=timeout, context=context)
        self._address = address
        self._tls = context

    def connect(self) -> None:
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._tls.wrap_socket(sock, server_hostname=self.host)


class AttemptFailed(Exception):
    def __init__(self, message: str, status_code: int | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code


def body_of(delivery: outreach.ClaimedDelivery) -> bytes:
    """The JSON body, the same bytes on every attempt."""
    return json.dumps(delivery.payload, separators=(",", ":"), sort_keys=True).encode()


def attempt(
    delivery: outreach.ClaimedDelivery,
    allow: tuple[str, ...],
    timestamp: int,
    *,
    timeout: float = DEFAULT_TIMEOUT,
    resolve: outreach.Resolver = outreach.system_resolver,
    tls: ssl.SSLContext | None = None,
) -> int:
    """POST the delivery once; return the 2xx status. Raises AttemptFailed (URL no longer
    allowed, no connection, timeout, a non-2xx answer, a redirect)."""
    try:
        target = outreach.check_url(delivery.url, allow, resolve)
    except ValidationFailed as exc:
        raise AttemptFailed(f"refused: {exc}") from None
    body = body_of(delivery)
    headers = {
        "content-type": "application/json",
        "user-agent": USER_AGENT,
        "webhook-id": delivery.message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": outreach.sign(delivery.secret, delivery.message_id, timestamp, body),
    }
    connection: http.client.HTTPConnection
    if target.scheme == "https":
        context = tls or ssl.create_default_context()
        connection = _PinnedHTTPSConnection(
            target.host, target.port, target.address, timeout, context
        )
    else:
        connection = _PinnedHTTPConnection(target.host, target.port, target.address, timeout)
    try:
        connection.request("POST", target.path, body=body, headers=headers)
        response = connection.getresponse()
        response.read(4096)
        status = response.status
    except (OSError, http.client.HTTPException) as exc:
        raise AttemptFailed(f"no answer from {target.host}: {exc}") from None
    finally:
        connection.close()
    if 300 <= status < 400:
        raise AttemptFailed(f"answered {status}: redirects are not followed", status)
    if not 200 <= status < 300:
        raise AttemptFailed(f"answered {status}", status)
    return status


def new_worker_id() -> str:
    return f"wh:{socket.gethostname()[:16]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"[:40]


def deliver_due(
    runtime: Runtime,
    *,
    limit: int = 1000,
    batch: int = 100,
    worker: str | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    resolve: outreach.Resolver = outreach.system_resolver,
    tls: ssl.SSLContext | None = None,
    wall_clock: Callable[[], float] = time.time,
) -> WebhookReport:
    """Deliver up to `limit` due webhook deliveries and return what happened. Each attempt's
    `webhook-timestamp` is the real time it is sent (`wall_clock`: receivers compare it with
    their own clock to refuse replays), whatever clock decides what is due."""
    worker = worker or new_worker_id()
    report = WebhookReport()
    remaining = limit
    while remaining > 0:
        with runtime.unit_of_work(Actor.system()) as ctx:
            claimed = outreach.claim_due_deliveries(ctx, worker, min(batch, remaining))
        if not claimed:
            break
        remaining -= len(claimed)
        by_endpoint: dict[int, list[outreach.ClaimedDelivery]] = {}
        for delivery in claimed:
            by_endpoint.setdefault(delivery.endpoint_id, []).append(delivery)
        workers = min(MAX_PARALLEL_ENDPOINTS, len(by_endpoint))
        with ThreadPoolExecutor(max_workers=workers) as pool:
            reports = list(
                pool.map(
                    lambda group: _deliver_endpoint(
                        runtime, worker, group, timeout, resolve, tls, wall_clock
                    ),
                    by_endpoint.values(),
                )
            )
        round_report = WebhookReport()
        for part in reports:
            round_report.add(part)
        report.add(round_report)
        if round_report.sent == 0:
            break  # nothing got through this round: the rest waits for the next run
    return report


def _deliver_endpoint(
    runtime: Runtime,
    worker: str,
    deliveries: list[outreach.ClaimedDelivery],
    timeout: float,
    resolve: outreach.Resolver,
    tls: ssl.SSLContext | None,
    wall_clock: Callable[[], float],
) -> WebhookReport:
    report = WebhookReport()
    allow = runtime.settings.webhook_allow
    pending = list(deliveries)
    while pending:
        delivery = pending.pop(0)
        timestamp = int(wall_clock())
        try:
            status = attempt(delivery, allow, timestamp, timeout=timeout, resolve=resolve, tls=tls)
        except AttemptFailed as exc:
            with runtime.unit_of_work(Actor.system()) as ctx:
                outreach.mark_delivery_failed(ctx, delivery.id, worker, str(exc), exc.status_code)
            if delivery.attempts + 1 >= outreach.MAX_DELIVERY_ATTEMPTS:
                report.failed += 1
            else:
                report.retrying += 1
            report.errors.append(f"delivery {delivery.id} ({delivery.event}): {exc}")
            break  # this receiver is in trouble: its other deliveries wait for the next run
        with runtime.unit_of_work(Actor.system()) as ctx:
            outreach.mark_delivered(ctx, delivery.id, worker, status)
        report.sent += 1
    for delivery in pending:
        with runtime.unit_of_work(Actor.system()) as ctx:
            outreach.release_delivery(ctx, delivery.id, worker)
    return report
