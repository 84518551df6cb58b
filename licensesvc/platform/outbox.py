"""The outbox, written in the caller's transaction: each event worth telling the customer
becomes a row, so a rolled-back grant sends nothing and a committed one is never forgotten.
Each message is enqueued at most once: its `dedupe_key` (event, subject, threshold) is unique
in the table. The packages whose events these are enqueue them by one line where they happen
(`key_issued`, `case_decided`, `key_revoked`, `case_updated`; accounts' `keys_out_of_date`);
licensesvc.outreach scans for the time-based ones and delivers every row.

The vendor's support address hears of every escalation and of a case's first overdue
(`case_escalated`, `case_overdue`: events SUPPORT_ESCALATION, SUPPORT_OVERDUE). Every event
worth a webhook is also published (`publish`): one `webhook_deliveries` row per active endpoint
that subscribed to it, in the same transaction, delivered after commit by `notify send`."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy import and_, event, or_, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import ORMExecuteState, Session
from sqlalchemy.sql.elements import ColumnElement

from licensesvc.models import IssuedKey, KeyRequest, License
from licensesvc.models.outbox import OutboxMessage
from licensesvc.models.webhooks import WebhookDelivery, WebhookEndpoint

from .context import ServiceContext
from .transactions import defer_insert


class Event(StrEnum):
    """What a message tells the customer. Each has its templates in templates/mail/."""

    CASE_GRANTED = "case_granted"
    CASE_DENIED = "case_denied"
    CASE_UPDATED = "case_updated"
    KEY_ISSUED = "key_issued"
    KEY_REVOKED = "key_revoked"
    DR_WINDOW_ENDING = "dr_window_ending"
    TEMPORARY_KEY_ENDING = "temporary_key_ending"
    MAINTENANCE_LAPSING = "maintenance_lapsing"
    KEY_OUT_OF_DATE = "key_out_of_date"
    #: to the vendor's support address (LICENSESVC_SUPPORT_EMAIL), not the customer
    SUPPORT_ESCALATION = "support_escalation"
    SUPPORT_OVERDUE = "support_overdue"


#: events mailed to the vendor's support address rather than the customer's portal users
SUPPORT_EVENTS = frozenset({Event.SUPPORT_ESCALATION, Event.SUPPORT_OVERDUE})


class WebhookEvent(StrEnum):
    """The event types a webhook endpoint subscribes to (PRODUCT.md's interface contract)."""

    KEY_ISSUED = "key.issued"
    KEY_SUPERSEDED = "key.superseded"
    KEY_REVOKED = "key.revoked"
    CASE_REFUSED = "case.refused"
    CASE_ESCALATED = "case.escalated"
    CASE_UPDATED = "case.updated"
    CASE_DECIDED = "case.decided"
    CASE_OVERDUE = "case.overdue"


#: what each event means, as docs/webhooks.md shows it
WEBHOOK_EVENT_DESCRIPTIONS: dict[WebhookEvent, str] = {
    WebhookEvent.KEY_ISSUED: "a key was issued (a granted request, or an analyst's grant)",
    WebhookEvent.KEY_SUPERSEDED: "a new key replaced this one; it stays usable until "
    "`usable_until`",
    WebhookEvent.KEY_REVOKED: "a key was revoked, with the public revocation code",
    WebhookEvent.CASE_REFUSED: "a key request was refused, with its refusal code",
    WebhookEvent.CASE_ESCALATED: "a case was escalated, or an analyst raised an escalated "
    "case's severity, with its severity and respond-by time",
    WebhookEvent.CASE_UPDATED: "support posted a status update the customer sees",
    WebhookEvent.CASE_DECIDED: "an analyst granted or denied a refused or escalated case",
    WebhookEvent.CASE_OVERDUE: "an escalated case passed its respond-by or next-update time "
    "(once per escalation)",
}


def enqueue(
    ctx: ServiceContext,
    event: Event,
    customer_id: int,
    subject_ref: str,
    context: dict[str, Any],
    *,
    threshold: str | None = None,
) -> OutboxMessage | None:
    """Put a message for the customer's portal users into the outbox (flushed, in the caller's
    transaction). Returns the row, or None when this event, subject and threshold were
    enqueued before (each is sent at most once). `context` is what the templates show;
    dates in it are stored as ISO text."""
    values = _message(ctx, event, customer_id, subject_ref, context, threshold)
    # one statement: the unique dedupe_key decides (a message enqueued before, or by a
    # concurrent transaction, makes it insert nothing and return no row)
    dialect = ctx.session.get_bind().dialect.name
    upsert = (postgresql_insert if dialect == "postgresql" else sqlite_insert)(OutboxMessage)
    statement = (
        upsert.values(**values)
        .on_conflict_do_nothing(index_elements=[OutboxMessage.dedupe_key])
        .returning(OutboxMessage)
    )
    return ctx.session.scalars(statement).first()


def enqueue_at_commit(
    ctx: ServiceContext,
    event: Event,
    customer_id: int,
    subject_ref: str,
    context: dict[str, Any],
    *,
    threshold: str | None = None,
) -> None:
    """`enqueue`, written with the transaction's other writes at commit (platform/transactions.py
    `defer_insert`: on PostgreSQL in the same statement), for a caller that needs no row back."""
    values = _message(ctx, event, customer_id, subject_ref, context, threshold)
    defer_insert(ctx.session, _OUTBOX, values, unique_by=OutboxMessage.dedupe_key.key)


_OUTBOX = OutboxMessage.__table__


def _message(
    ctx: ServiceContext,
    event: Event,
    customer_id: int,
    subject_ref: str,
    context: dict[str, Any],
    threshold: str | None,
) -> dict[str, Any]:
    dedupe_key = f"{event.value}:{subject_ref}" + (f":{threshold}" if threshold else "")
    now = ctx.now()
    return {
        "event": event.value,
        "customer_id": customer_id,
        "subject_ref": subject_ref,
        "dedupe_key": dedupe_key,
        "context": _jsonable(context),
        "status": "pending",
        "attempts": 0,
        "next_attempt_at": now,
        "created_at": now,
    }


def publish(
    ctx: ServiceContext,
    event: WebhookEvent,
    customer_id: int,
    subject_ref: str,
    data: dict[str, Any],
    *,
    occurrence: str = "",
) -> int:
    """Write one delivery of the event per active endpoint subscribed to it: the vendor-wide
    endpoints and the customer's own (never another customer's). Flushed, in the caller's
    transaction; each (endpoint, event, subject, occurrence) at most once. Returns how many
    deliveries were written."""
    endpoints = _active_endpoints(ctx.session, customer_id)
    now = ctx.now()
    payload = {
        "type": event.value,
        "timestamp": _jsonable(now),
        "data": _jsonable(data | {"customer_id": customer_id}),
    }
    written = 0
    dialect = ctx.session.get_bind().dialect.name
    for endpoint_id, events in endpoints:
        if event.value not in events:
            continue
        dedupe_key = f"{endpoint_id}:{event.value}:{subject_ref}" + (
            f":{occurrence}" if occurrence else ""
        )
        upsert = (postgresql_insert if dialect == "postgresql" else sqlite_insert)(WebhookDelivery)
        statement = (
            upsert.values(
                endpoint_id=endpoint_id,
                customer_id=customer_id,
                event=event.value,
                message_id=f"msg_{secrets.token_urlsafe(18)}",
                dedupe_key=dedupe_key[:250],
                payload=payload,
                status="pending",
                attempts=0,
                next_attempt_at=now,
                created_at=now,
            )
            .on_conflict_do_nothing(index_elements=[WebhookDelivery.dedupe_key])
            .returning(WebhookDelivery.id)
        )
        if ctx.session.execute(statement).first() is not None:
            written += 1
    return written


#: session.info: the active endpoints (id, events) by customer, as read in this transaction
_ENDPOINTS = "licensesvc_webhook_endpoints"


def endpoints_of(customer_id: Any) -> ColumnElement[bool]:
    """The condition on `webhook_endpoints` for the active endpoints a customer's events go
    to (the vendor-wide ones and its own): a caller that reads the customer anyway joins them
    in and hands them to `prime_endpoints`, saving `publish` its read."""
    return and_(
        WebhookEndpoint.status == "active",
        WebhookEndpoint.customer_id.is_(None) | (WebhookEndpoint.customer_id == customer_id),
    )


def prime_endpoints(
    session: Session, customer_id: int, endpoints: Iterable[WebhookEndpoint]
) -> None:
    """Keep `endpoints` (read in this transaction with `endpoints_of`) as the customer's
    active endpoints for the rest of the transaction."""
    held = _endpoint_copy(session)
    held[customer_id] = [(e.id, list(e.events)) for e in sorted(endpoints, key=lambda e: e.id)]


def _endpoint_copy(session: Session) -> dict[int, list[tuple[int, list[str]]]]:
    held: dict[int, list[tuple[int, list[str]]]] | None = session.info.get(_ENDPOINTS)
    if held is None:
        _hook_endpoint_copy(session)
        held = session.info[_ENDPOINTS] = {}
    return held


def _active_endpoints(session: Session, customer_id: int) -> list[tuple[int, list[str]]]:
    """The active endpoints a customer's events go to (the vendor-wide ones and its own), read
    once per transaction: a grant publishes key.superseded and key.issued from one read. The
    copy is dropped when the transaction (or the tests' savepoint) ends and whenever this
    session writes an endpoint (a flush of one, or an UPDATE or DELETE naming the table)."""
    held = _endpoint_copy(session)
    found = held.get(customer_id)
    if found is None:
        found = held[customer_id] = [
            (endpoint_id, list(events))
            for endpoint_id, events in session.execute(
                select(WebhookEndpoint.id, WebhookEndpoint.events)
                .where(endpoints_of(customer_id))
                .order_by(WebhookEndpoint.id)
            )
        ]
    return found


def _hook_endpoint_copy(session: Session) -> None:
    if session.info.get(_ENDPOINTS + "_hooked"):
        return
    session.info[_ENDPOINTS + "_hooked"] = True

    def drop(*_args: Any) -> None:
        session.info.pop(_ENDPOINTS, None)

    def flushing(flushed: Session, *_args: Any) -> None:
        touched = (*flushed.new, *flushed.dirty, *flushed.deleted)
        if any(isinstance(obj, WebhookEndpoint) for obj in touched):
            drop()

    def executing(state: ORMExecuteState) -> None:
        if not (state.is_update or state.is_delete):
            return
        # the table the statement writes (no need to render it: `str` compiles the statement)
        table = getattr(state.statement, "table", None)
        name = getattr(table, "name", None)
        if name == WebhookEndpoint.__tablename__ or (
            name is None and WebhookEndpoint.__tablename__ in str(state.statement)
        ):
            drop()

    for name in ("after_commit", "after_rollback", "after_soft_rollback"):
        event.listen(session, name, drop)
    event.listen(session, "before_flush", flushing)
    event.listen(session, "do_orm_execute", executing)


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%dT%H:%M:%SZ")
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


def key_context(key: IssuedKey) -> dict[str, Any]:
    lic: License = key.license
    return {
        "serial": key.serial,
        "kind": key.kind,
        "product": lic.product,
        "license_id": lic.id,
        "host": key.claims.get("host", lic.host),
        "case_number": key.case_number,
        "expires_at": key.expires_at,
        "dr_test_date": key.dr_test_date,
    }


def key_issued(ctx: ServiceContext, key: IssuedKey) -> None:
    """A key was issued for the customer's request (or by an analyst)."""
    enqueue_at_commit(ctx, Event.KEY_ISSUED, key.customer_id, f"key:{key.serial}", key_context(key))
    publish(ctx, WebhookEvent.KEY_ISSUED, key.customer_id, f"key:{key.serial}", key_context(key))


def key_superseded(ctx: ServiceContext, key: IssuedKey) -> None:
    """A new key replaced this one (webhooks only: the customer's mail tells of the new key)."""
    context = key_context(key) | {
        "superseded_by": key.superseded_by,
        "usable_until": key.usable_until,
    }
    publish(ctx, WebhookEvent.KEY_SUPERSEDED, key.customer_id, f"key:{key.serial}", context)


def key_revoked(ctx: ServiceContext, key: IssuedKey) -> None:
    """A key was revoked. The customer reads the revocation code (what the public list says),
    never the analyst's words, which stay in the audit trail."""
    context = key_context(key) | {"revoked_at": key.revoked_at, "code": key.revocation_code}
    enqueue(ctx, Event.KEY_REVOKED, key.customer_id, f"key:{key.serial}", context)
    publish(ctx, WebhookEvent.KEY_REVOKED, key.customer_id, f"key:{key.serial}", context)


def case_decided(ctx: ServiceContext, case: KeyRequest, key: IssuedKey | None = None) -> None:
    """An analyst granted (with the key) or denied a refused or escalated case."""
    event = Event.CASE_GRANTED if case.status == "granted" else Event.CASE_DENIED
    context: dict[str, Any] = {
        "case_number": case.case_number,
        "kind": case.kind,
        "license_id": case.license_id,
        "decided_at": case.decided_at,
        "decision_reason": case.decision_reason,
        "refusal_code": case.refusal_code,
        "refusal_message": case.refusal_message,
        "key": key_context(key) if key is not None else None,
    }
    enqueue(ctx, event, case.customer_id, f"case:{case.case_number}", context)
    decided = {
        "case_number": case.case_number,
        "status": case.status,
        "kind": case.kind,
        "license_id": case.license_id,
        "decided_at": case.decided_at,
        "decision_reason": case.decision_reason,
        "refusal_code": case.original_refusal_code or case.refusal_code,
        "key": key_context(key) if key is not None else None,
    }
    publish(ctx, WebhookEvent.CASE_DECIDED, case.customer_id, f"case:{case.case_number}", decided)
    if key is not None:
        key_issued_webhook(ctx, key)


def key_issued_webhook(ctx: ServiceContext, key: IssuedKey) -> None:
    """key.issued for a key the customer hears of in another mail (an analyst's grant)."""
    publish(ctx, WebhookEvent.KEY_ISSUED, key.customer_id, f"key:{key.serial}", key_context(key))


def case_refused(ctx: ServiceContext, case: KeyRequest) -> None:
    """A key request was refused (webhooks only: the customer saw the refusal when asking)."""
    context = {
        "case_number": case.case_number,
        "kind": case.kind,
        "license_id": case.license_id,
        "severity": case.severity,
        "refusal_code": case.refusal_code,
        "refusal_message": case.refusal_message,
        "created_at": case.created_at,
    }
    publish(ctx, WebhookEvent.CASE_REFUSED, case.customer_id, f"case:{case.case_number}", context)


def _escalation_context(case: KeyRequest, timezone: str) -> dict[str, Any]:
    zone = ZoneInfo(timezone)
    local = case.respond_by.astimezone(zone) if case.respond_by else None
    return {
        "case_number": case.case_number,
        "severity": case.severity,
        "kind": case.kind,
        "escalation_reason": case.escalation_reason,
        "note": case.escalation_note,
        "escalated_at": case.escalated_at,
        "respond_by": case.respond_by,
        "respond_by_local": local.strftime("%Y-%m-%d %H:%M %Z") if local else None,
        "timezone": timezone,
        "next_update_due": case.next_update_due,
        "command": f"licensesvc case show {case.case_number}",
    }


def case_escalated(
    ctx: ServiceContext, case: KeyRequest, timezone: str, *, severity_raised: bool = False
) -> None:
    """A case was escalated, or an escalated case's severity was raised (`severity_raised`):
    the vendor's support address hears at once (severity, respond-by in the customer's zone
    `timezone` and in UTC, reason, the customer's note), and the `case.escalated` webhooks.
    Once per escalation, and once per raise to a severity at a moment."""
    context = _escalation_context(case, timezone)
    occurrence = f"escalated={_jsonable(case.escalated_at)}"
    if severity_raised:
        occurrence += f":severity={case.severity}@{_jsonable(ctx.now())}"
    enqueue(
        ctx,
        Event.SUPPORT_ESCALATION,
        case.customer_id,
        f"case:{case.case_number}",
        context,
        threshold=occurrence,
    )
    webhook = {k: v for k, v in context.items() if k not in ("command", "respond_by_local")}
    publish(
        ctx,
        WebhookEvent.CASE_ESCALATED,
        case.customer_id,
        f"case:{case.case_number}",
        webhook,
        occurrence=occurrence,
    )


def case_overdue(ctx: ServiceContext, case: KeyRequest, timezone: str, reason: str) -> bool:
    """An escalated case is overdue: support hears, and the webhooks, the first time only
    (once per escalation). True when this call enqueued it."""
    context = _escalation_context(case, timezone) | {"overdue_reason": reason}
    occurrence = f"escalated={_jsonable(case.escalated_at)}"
    message = enqueue(
        ctx,
        Event.SUPPORT_OVERDUE,
        case.customer_id,
        f"case:{case.case_number}",
        context,
        threshold=occurrence,
    )
    webhook = {k: v for k, v in context.items() if k not in ("command", "respond_by_local")}
    publish(
        ctx,
        WebhookEvent.CASE_OVERDUE,
        case.customer_id,
        f"case:{case.case_number}",
        webhook,
        occurrence=occurrence,
    )
    return message is not None


def case_updated(ctx: ServiceContext, case: KeyRequest, text: str, update_ref: str) -> None:
    """An analyst posted a status update on the case; `update_ref` names this update (its id
    or timestamp), so each update is one message."""
    context = {
        "case_number": case.case_number,
        "status": case.status,
        "text": text,
        "updated_at": ctx.now(),
        "next_update_due": getattr(case, "next_update_due", None),
    }
    enqueue(
        ctx,
        Event.CASE_UPDATED,
        case.customer_id,
        f"case:{case.case_number}",
        context,
        threshold=f"update={update_ref}",
    )
    publish(
        ctx,
        WebhookEvent.CASE_UPDATED,
        case.customer_id,
        f"case:{case.case_number}",
        context,
        occurrence=f"update={update_ref}",
    )


# -- leases: one sender at a time holds a row of the outbox or of webhook_deliveries ---------

#: the two tables a sender leases rows of (the same columns: status, next_attempt_at,
#: claimed_by, claimed_until)
Leased = TypeVar("Leased", OutboxMessage, WebhookDelivery)


def claim_rows(
    ctx: ServiceContext, table: type[Leased], worker: str, limit: int, lease: timedelta
) -> list[Leased]:
    """Lease up to `limit` due pending rows of `table` (oldest first) to `worker` until
    now + `lease` and return them, flushed; the caller commits at once, then delivers. Rows
    another sender holds are skipped (PostgreSQL: FOR UPDATE SKIP LOCKED; SQLite: this
    transaction holds the write lock); so is a row whose lease has not run out. The caller may
    fail a returned row instead (`give_up`) before it commits."""
    now = ctx.now()
    rows = list(
        ctx.session.scalars(
            select(table)
            .where(
                table.status == "pending",
                table.next_attempt_at <= now,
                or_(table.claimed_until.is_(None), table.claimed_until < now),
            )
            .order_by(table.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    )
    for row in rows:
        row.claimed_by = worker
        row.claimed_until = now + lease
    ctx.session.flush()
    return rows


def give_up(row: OutboxMessage | WebhookDelivery, error: str) -> None:
    """Fail a row just claimed without an attempt (nowhere to send it), releasing its lease."""
    row.status = "failed"
    row.last_error = error
    row.claimed_by = None
    row.claimed_until = None


def held_row(ctx: ServiceContext, table: type[Leased], row_id: int, worker: str) -> Leased | None:
    """The pending row `row_id` locked for update if `worker` still holds its lease, else
    None (another sender took it over after the lease ran out, or it was settled)."""
    return ctx.session.scalar(
        select(table)
        .where(table.id == row_id, table.claimed_by == worker, table.status == "pending")
        .with_for_update()
    )


def settle(
    ctx: ServiceContext,
    table: type[Leased],
    row_id: int,
    worker: str,
    *,
    attempted: bool,
    error: str | None = None,
    retry_after: Callable[[int], timedelta | None] | None = None,
) -> Leased | None:
    """End `worker`'s lease of a row it holds and return the row (flushed), or None when it no
    longer held it. Without an attempt the row is due again at once (a release); after a
    successful attempt (`attempted`, no `error`) it is sent; after a failed one it is due again
    `retry_after(attempts)` from now (attempts counting this one), or failed when that is
    None (or no `retry_after` is given). The caller records what only its
    table has (recipients, status codes) on the returned row."""
    row = held_row(ctx, table, row_id, worker)
    if row is None:
        return None
    row.claimed_by = None
    row.claimed_until = None
    if attempted:
        row.attempts += 1
        if error is None:
            row.status = "sent"
            row.sent_at = ctx.now()
            row.last_error = None
        else:
            row.last_error = error[:2000]
            wait = retry_after(row.attempts) if retry_after is not None else None
            if wait is None:
                row.status = "failed"
            else:
                row.next_attempt_at = ctx.now() + wait
    ctx.session.flush()
    return row
