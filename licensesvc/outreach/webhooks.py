"""Webhooks: endpoints that hear of events as they happen, signed per the Standard Webhooks
specification (https://www.standardwebhooks.com/).

Analysts register vendor-wide endpoints (every customer's events) or one customer's; a
customer registers its own. Each event worth telling (platform.outbox.WebhookEvent) becomes one
`webhook_deliveries` row per subscribed endpoint in the event's own transaction
(platform.outbox.publish); `licensesvc notify send` (licensesvc/webhook_delivery.py) delivers
them after commit, never inside a request.

Every attempt of a delivery carries the same `webhook-id`, so receivers dedupe; a failure is
retried with back-off (5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h: the last try more than 24 hours
after the first), then the delivery is marked failed and listed until an analyst retries it.

Safe by default: a URL is `https` and never reaches a loopback, private, link-local, metadata or
otherwise non-public address, checked at registration and again at every delivery (the sender
connects to the address it checked, and follows no redirect); LICENSESVC_WEBHOOK_ALLOW names the
networks that may be reached anyway (`http` allowed there), e.g. 127.0.0.1/32 in tests.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import secrets
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import delete, select

from licensesvc.domain.errors import InvalidState, NotConfigured, NotFound, ValidationFailed
from licensesvc.models import Customer
from licensesvc.models.webhooks import DELIVERY_STATUSES, WebhookDelivery, WebhookEndpoint
from licensesvc.platform import audit, outbox, sealed
from licensesvc.platform.context import ServiceContext
from licensesvc.platform.outbox import WebhookEvent
from licensesvc.platform.pagination import Page, paginate

#: the wait after the n-th failed attempt (Standard Webhooks' suggested schedule); after the
#: last the delivery is failed: the final attempt comes more than 24 hours after the first
RETRY_SCHEDULE = (
    timedelta(seconds=5),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=5),
    timedelta(hours=10),
    timedelta(hours=10),
)
MAX_DELIVERY_ATTEMPTS = len(RETRY_SCHEDULE) + 1
#: how long a sender holds the deliveries it claimed
DELIVERY_LEASE = timedelta(minutes=5)
MAX_URL_CHARS = 2000
SECRET_PREFIX = "whsec_"

#: resolve(host, port) -> the addresses the host name resolves to
Resolver = Callable[[str, int], list[str]]


def system_resolver(host: str, port: int) -> list[str]:
    """The addresses `host` resolves to (getaddrinfo, TCP). Raises OSError."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return sorted({str(info[4][0]) for info in infos})


@dataclass(frozen=True)
class Target:
    """A URL that passed the checks, with the address to connect to (no second look-up that a
    DNS answer could change between the check and the connection)."""

    url: str
    scheme: str
    host: str
    port: int
    path: str
    address: str


def check_url(url: str, allow: Sequence[str], resolve: Resolver = system_resolver) -> Target:
    """Check a webhook URL: `https` (or `http` to an allowed network), a host that resolves,
    and every address it resolves to public or inside `allow` (networks, e.g.
    "127.0.0.1/32"). Returns the Target; raises ValidationFailed saying why not."""
    if len(url) > MAX_URL_CHARS or any(c.isspace() or ord(c) < 32 for c in url):
        raise ValidationFailed("the webhook URL is too long or contains spaces")
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise ValidationFailed("the webhook URL must look like https://host/path")
    if parts.username or parts.password:
        raise ValidationFailed("the webhook URL must not carry a user name or password")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise ValidationFailed("the webhook URL has a port that is not a number") from None
    host = parts.hostname
    try:
        addresses = [host] if _is_ip(host) else resolve(host, port)
    except (OSError, UnicodeError):
        raise ValidationFailed(f"the webhook host {host} does not resolve") from None
    if not addresses:
        raise ValidationFailed(f"the webhook host {host} does not resolve")
    networks = [ipaddress.ip_network(n, strict=False) for n in allow]
    for address in addresses:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
        allowed = any(ip.version == n.version and ip in n for n in networks)
        if not allowed and not _public(ip):
            raise ValidationFailed(
                f"the webhook URL reaches {ip}, a loopback, private, link-local or reserved "
                "address; only public addresses are allowed (LICENSESVC_WEBHOOK_ALLOW opens "
                "networks)"
            )
        if parts.scheme == "http" and not allowed:
            raise ValidationFailed("the webhook URL must be https")
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return Target(url, parts.scheme, host, port, path, addresses[0])


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return False
    return True


def _public(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    mapped = getattr(ip, "ipv4_mapped", None)
    if mapped is not None:
        ip = mapped
    return ip.is_global and not (ip.is_multicast or ip.is_reserved or ip.is_link_local)


# -- signing ---------------------------------------------------------------------------------


def new_secret() -> str:
    """A signing secret: `whsec_` and 32 random bytes in base64 (the Standard Webhooks form)."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def seal_secret(ctx: ServiceContext, secret: str) -> str:
    """What the endpoint row stores of `secret`: its bytes sealed (platform/sealed.py) under
    LICENSESVC_SIGNING_KEY_PASSPHRASE, never the secret itself."""
    raw = base64.b64decode(secret.removeprefix(SECRET_PREFIX))
    return sealed.seal(
        raw, ctx.settings.signing_key_passphrase, ctx.settings.signing_key_kdf_rounds
    )


def open_secret(ctx: ServiceContext, stored: str) -> str:
    """The signing secret (`whsec_...`) of what an endpoint row stores. Raises NotConfigured
    when LICENSESVC_SIGNING_KEY_PASSPHRASE does not open it."""
    try:
        raw = sealed.unseal(stored, ctx.settings.signing_key_passphrase)
    except sealed.Unsealable as e:
        raise NotConfigured(f"webhook secrets cannot be read: {e}") from None
    return SECRET_PREFIX + base64.b64encode(raw).decode()


def sign(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """The `webhook-signature` header: `v1,` and the base64 HMAC-SHA256, keyed by the secret's
    bytes, of `{webhook-id}.{webhook-timestamp}.{body}`."""
    key = base64.b64decode(secret.removeprefix(SECRET_PREFIX))
    signed = f"{message_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


# -- endpoints -------------------------------------------------------------------------------


@dataclass(frozen=True)
class EndpointView:
    """An endpoint as `webhook list` and `/v1/webhooks` show it (never its secret)."""

    id: int
    customer_id: int | None
    url: str
    events: tuple[str, ...]
    status: str
    created_by: str
    created_at: datetime
    disabled_at: datetime | None


@dataclass(frozen=True)
class EndpointWithSecret:
    """An endpoint just made, or whose secret was just rotated: the one time the secret shows."""

    endpoint: EndpointView
    secret: str


def _endpoint_view(e: WebhookEndpoint) -> EndpointView:
    return EndpointView(
        id=e.id,
        customer_id=e.customer_id,
        url=e.url,
        events=tuple(e.events),
        status=e.status,
        created_by=e.created_by,
        created_at=e.created_at,
        disabled_at=e.disabled_at,
    )


def parse_events(events: Sequence[str]) -> list[str]:
    """The event names, checked and deduplicated in the vocabulary's order. Raises
    ValidationFailed (none, or an unknown one)."""
    names = {e.strip() for e in events if e.strip()}
    known = [e.value for e in WebhookEvent]
    unknown = sorted(names - set(known))
    if unknown:
        raise ValidationFailed(
            f"unknown webhook event {unknown[0]!r}; choose from {', '.join(known)}"
        )
    if not names:
        raise ValidationFailed("name at least one event")
    return [e for e in known if e in names]


def add_endpoint(
    ctx: ServiceContext,
    url: str,
    events: Sequence[str],
    customer_id: int | None = None,
    *,
    resolve: Resolver = system_resolver,
) -> EndpointWithSecret:
    """Register an endpoint: an analyst's for every customer (customer_id None) or for one; a
    customer's for its own events only. Returns it with its secret (shown this once). Raises
    ValidationFailed (a URL that fails check_url, unknown events), NotFound (no such
    customer)."""
    if ctx.actor.kind == "customer":
        if customer_id is not None and customer_id != ctx.actor.customer_id:
            raise NotFound(f"customer {customer_id} not found")
        customer_id = ctx.actor.customer_id
    names = parse_events(events)
    check_url(url, ctx.settings.webhook_allow, resolve)
    if customer_id is not None and ctx.session.get(Customer, customer_id) is None:
        raise NotFound(f"customer {customer_id} not found")
    secret = new_secret()
    endpoint = WebhookEndpoint(
        customer_id=customer_id,
        url=url,
        events=names,
        secret=seal_secret(ctx, secret),
        status="active",
        created_by=ctx.actor.label,
        created_at=ctx.now(),
    )
    ctx.session.add(endpoint)
    ctx.session.flush()
    audit.append(
        ctx,
        "webhook.added",
        "webhook",
        endpoint.id,
        customer_id=customer_id,
        details={"url": url, "events": names},
    )
    return EndpointWithSecret(_endpoint_view(endpoint), secret)


def _endpoint(ctx: ServiceContext, endpoint_id: int) -> WebhookEndpoint:
    endpoint = ctx.session.get(WebhookEndpoint, endpoint_id)
    if endpoint is None:
        raise NotFound(f"webhook {endpoint_id} not found")
    if ctx.actor.kind == "customer" and endpoint.customer_id != ctx.actor.customer_id:
        raise NotFound(f"webhook {endpoint_id} not found")
    return endpoint


def list_endpoints(ctx: ServiceContext, customer_id: int | None = None) -> list[EndpointView]:
    """The endpoints, oldest first: a customer's own, or for an analyst all of them (or one
    customer's)."""
    query = select(WebhookEndpoint).order_by(WebhookEndpoint.id)
    if ctx.actor.kind == "customer":
        customer_id = ctx.actor.customer_id
    if customer_id is not None:
        query = query.where(WebhookEndpoint.customer_id == customer_id)
    return [_endpoint_view(e) for e in ctx.session.scalars(query)]


def disable_endpoint(ctx: ServiceContext, endpoint_id: int) -> EndpointView:
    """Stop sending to the endpoint: no new deliveries, and its pending ones fail. Raises
    NotFound, InvalidState (already disabled)."""
    endpoint = _endpoint(ctx, endpoint_id)
    if endpoint.status == "disabled":
        raise InvalidState(f"webhook {endpoint_id} is already disabled")
    endpoint.status = "disabled"
    endpoint.disabled_at = ctx.now()
    for delivery in ctx.session.scalars(
        select(WebhookDelivery).where(
            WebhookDelivery.endpoint_id == endpoint.id, WebhookDelivery.status == "pending"
        )
    ):
        delivery.status = "failed"
        delivery.last_error = "the endpoint was disabled"
    ctx.session.flush()
    audit.append(ctx, "webhook.disabled", "webhook", endpoint.id, customer_id=endpoint.customer_id)
    return _endpoint_view(endpoint)


def delete_endpoint(ctx: ServiceContext, endpoint_id: int) -> EndpointView:
    """Remove the endpoint and its deliveries (the audit trail keeps that it existed, its URL
    and how many deliveries went with it). Returns it as it was. Raises NotFound."""
    endpoint = _endpoint(ctx, endpoint_id)
    view = _endpoint_view(endpoint)
    removed = len(
        ctx.session.scalars(
            delete(WebhookDelivery)
            .where(WebhookDelivery.endpoint_id == endpoint.id)
            .returning(WebhookDelivery.id)
        ).all()
    )
    ctx.session.delete(endpoint)
    ctx.session.flush()
    audit.append(
        ctx,
        "webhook.deleted",
        "webhook",
        view.id,
        customer_id=view.customer_id,
        details={"url": view.url, "events": list(view.events), "deliveries_removed": removed},
    )
    return view


def rotate_secret(ctx: ServiceContext, endpoint_id: int) -> EndpointWithSecret:
    """Give the endpoint a new signing secret (shown this once); the next attempt of every
    delivery is signed with it. Raises NotFound."""
    endpoint = _endpoint(ctx, endpoint_id)
    secret = new_secret()
    endpoint.secret = seal_secret(ctx, secret)
    endpoint.secret_rotated_at = ctx.now()
    ctx.session.flush()
    audit.append(
        ctx, "webhook.secret_rotated", "webhook", endpoint.id, customer_id=endpoint.customer_id
    )
    return EndpointWithSecret(_endpoint_view(endpoint), secret)


# -- deliveries ------------------------------------------------------------------------------


@dataclass(frozen=True)
class DeliveryView:
    """A delivery as `webhook deliveries` shows it."""

    id: int
    endpoint_id: int
    customer_id: int | None
    event: str
    message_id: str
    status: str
    attempts: int
    created_at: datetime
    next_attempt_at: datetime
    sent_at: datetime | None
    last_status_code: int | None
    last_error: str | None


def _delivery_view(d: WebhookDelivery) -> DeliveryView:
    return DeliveryView(
        id=d.id,
        endpoint_id=d.endpoint_id,
        customer_id=d.customer_id,
        event=d.event,
        message_id=d.message_id,
        status=d.status,
        attempts=d.attempts,
        created_at=d.created_at,
        next_attempt_at=d.next_attempt_at,
        sent_at=d.sent_at,
        last_status_code=d.last_status_code,
        last_error=d.last_error,
    )


def list_deliveries(
    ctx: ServiceContext,
    endpoint_id: int | None = None,
    *,
    status: str | None = None,
    page: int = 1,
    page_size: int = 50,
) -> Page[DeliveryView]:
    """A page of deliveries, newest first (one endpoint's, or all the actor may see). Raises
    NotFound (endpoint), ValidationFailed (unknown status, bad page)."""
    query = select(WebhookDelivery).order_by(WebhookDelivery.id.desc())
    if endpoint_id is not None:
        _endpoint(ctx, endpoint_id)
        query = query.where(WebhookDelivery.endpoint_id == endpoint_id)
    if ctx.actor.kind == "customer":
        query = query.join(WebhookEndpoint).where(
            WebhookEndpoint.customer_id == ctx.actor.customer_id
        )
    if status is not None:
        if status not in DELIVERY_STATUSES:
            raise ValidationFailed(
                f"unknown status {status!r}; choose one of {', '.join(DELIVERY_STATUSES)}"
            )
        query = query.where(WebhookDelivery.status == status)
    found = paginate(ctx.session, query, page, page_size)
    return Page(
        items=tuple(_delivery_view(d) for d in found.items),
        total=found.total,
        page=found.page,
        page_size=found.page_size,
    )


def retry_delivery(ctx: ServiceContext, delivery_id: int) -> DeliveryView:
    """Put a failed delivery back in the queue, due now, with its `webhook-id`. Raises
    NotFound, InvalidState (not failed, or its endpoint disabled)."""
    ctx.actor.require_analyst()
    row = ctx.session.get(WebhookDelivery, delivery_id)
    if row is None:
        raise NotFound(f"delivery {delivery_id} not found")
    if row.status != "failed":
        raise InvalidState(f"delivery {delivery_id} is {row.status}; only a failed one is retried")
    if _endpoint(ctx, row.endpoint_id).status != "active":
        raise InvalidState(f"webhook {row.endpoint_id} is disabled")
    row.status = "pending"
    row.next_attempt_at = ctx.now()
    ctx.session.flush()
    audit.append(
        ctx,
        "webhook.delivery_retried",
        "webhook_delivery",
        row.id,
        customer_id=row.customer_id,
        details={"message_id": row.message_id},
    )
    return _delivery_view(row)


@dataclass(frozen=True)
class ClaimedDelivery:
    """A delivery leased to one sender: where it goes, the secret, the id and the body."""

    id: int
    endpoint_id: int
    url: str
    secret: str
    message_id: str
    event: str
    payload: dict[str, Any]
    attempts: int


def claim_due_deliveries(ctx: ServiceContext, worker: str, limit: int) -> list[ClaimedDelivery]:
    """Lease up to `limit` due pending deliveries of active endpoints (oldest first) to
    `worker` until now + DELIVERY_LEASE; the caller commits at once, then delivers
    (platform.outbox.claim_rows: rows another sender holds are skipped). A delivery whose
    endpoint was disabled is marked failed here."""
    ctx.actor.require_analyst()
    rows = outbox.claim_rows(ctx, WebhookDelivery, worker, limit, DELIVERY_LEASE)
    endpoints = {
        e.id: e
        for e in ctx.session.scalars(
            select(WebhookEndpoint).where(WebhookEndpoint.id.in_({r.endpoint_id for r in rows}))
        )
    }
    claimed = []
    for row in rows:
        endpoint = endpoints[row.endpoint_id]
        if endpoint.status != "active":
            outbox.give_up(row, "the endpoint was disabled")
            continue
        claimed.append(
            ClaimedDelivery(
                id=row.id,
                endpoint_id=row.endpoint_id,
                url=endpoint.url,
                secret=open_secret(ctx, endpoint.secret),
                message_id=row.message_id,
                event=row.event,
                payload=dict(row.payload),
                attempts=row.attempts,
            )
        )
    ctx.session.flush()
    return claimed


def mark_delivered(ctx: ServiceContext, delivery_id: int, worker: str, status_code: int) -> bool:
    """Record a 2xx answer; False when the worker no longer held the delivery."""
    row = outbox.settle(ctx, WebhookDelivery, delivery_id, worker, attempted=True)
    if row is None:
        return False
    row.last_status_code = status_code
    ctx.session.flush()
    return True


def mark_delivery_failed(
    ctx: ServiceContext,
    delivery_id: int,
    worker: str,
    error: str,
    status_code: int | None = None,
) -> bool:
    """Record a failed attempt: due again after RETRY_SCHEDULE's wait, or failed after
    MAX_DELIVERY_ATTEMPTS. False when the worker no longer held the delivery."""

    def wait(attempts: int) -> timedelta | None:
        return None if attempts >= MAX_DELIVERY_ATTEMPTS else RETRY_SCHEDULE[attempts - 1]

    row = outbox.settle(
        ctx, WebhookDelivery, delivery_id, worker, attempted=True, error=error, retry_after=wait
    )
    if row is None:
        return False
    row.last_status_code = status_code
    ctx.session.flush()
    return True


def release_delivery(ctx: ServiceContext, delivery_id: int, worker: str) -> bool:
    """Give a claimed delivery back unattempted (no attempt counted), due at once."""
    return outbox.settle(ctx, WebhookDelivery, delivery_id, worker, attempted=False) is not None
