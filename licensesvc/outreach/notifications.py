"""Customers hear back without asking: each event worth a mail becomes a row of the outbox in
the same transaction as the event itself, so a rolled-back grant sends nothing and a committed
one is never forgotten. `licensesvc notify send` (licensesvc/mail.py) delivers the rows.

Events that happen in a service call are enqueued there by one line (`key_issued`,
`case_decided`, `key_revoked`, `keys_out_of_date`, `case_updated`); the time-based ones (a DR
window or temporary key ending in 7 days, maintenance lapsing in 30 and 7 days) are found by
`scan`. Each message is enqueued at most once: its `dedupe_key` (event, subject, threshold) is
unique in the table.

Delivery is at most once per message even with several senders: `claim_due` leases rows to one
sender (`SELECT ... FOR UPDATE SKIP LOCKED` on PostgreSQL, the write lock on SQLite) and only
that sender may `mark_sent` them; a failure backs off and retries (`mark_failed`), never drops
the row.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from licensesvc import accounts
from licensesvc.domain import support_plan
from licensesvc.domain.errors import InvalidState, NotFound, ValidationFailed
from licensesvc.models import Customer, User
from licensesvc.models.outbox import OUTBOX_STATUSES, OutboxMessage
from licensesvc.platform import outbox
from licensesvc.platform.context import ServiceContext
from licensesvc.platform.outbox import SUPPORT_EVENTS, Event, enqueue, key_context
from licensesvc.platform.pagination import Page, paginate

#: days before a DR window or a temporary key ends that the customer is told
KEY_ENDING_DAYS = 7
#: days before maintenance lapses that the customer is told (one message per threshold)
MAINTENANCE_LAPSING_DAYS = (30, 7)
#: how long a sender holds the messages it claimed; a sender that dies releases them then
LEASE = timedelta(minutes=10)
#: retry a failed delivery after 1, 2, 4, ... minutes, at most an hour apart
FIRST_RETRY = timedelta(minutes=1)
MAX_RETRY = timedelta(hours=1)
#: after this many transient failures a message is marked failed (`notify retry` revives it)
MAX_ATTEMPTS = 25


@dataclass(frozen=True)
class OutboxView:
    """A message as `notify list` shows it."""

    id: int
    event: str
    customer_id: int
    customer_name: str
    subject_ref: str
    status: str
    attempts: int
    created_at: datetime
    next_attempt_at: datetime
    sent_at: datetime | None
    last_error: str | None
    recipients: tuple[str, ...]


@dataclass(frozen=True)
class Claimed:
    """A message leased to one sender: everything needed to render and deliver it."""

    id: int
    event: Event
    customer_id: int
    customer_name: str
    subject_ref: str
    context: dict[str, Any]
    recipients: tuple[str, ...]
    attempts: int


@dataclass(frozen=True)
class ScanReport:
    """What a scan enqueued, by event (messages already in the outbox are not counted)."""

    enqueued: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.enqueued.values())


# -- the time-based events -----------------------------------------------------------------


def scan(ctx: ServiceContext) -> ScanReport:
    """Enqueue what is due today: DR windows and temporary keys ending within KEY_ENDING_DAYS,
    maintenance lapsing within 30 and within 7 days (the nearest threshold only), and each
    escalated case that became overdue (support's mail and the `case.overdue` webhook, once
    per escalation). Safe to run
    as often as wanted: each message is enqueued once per subject and threshold."""
    ctx.actor.require_analyst()
    now = ctx.now()
    counts = {
        e.value: 0
        for e in (*_ENDING_EVENTS.values(), Event.MAINTENANCE_LAPSING, Event.SUPPORT_OVERDUE)
    }
    for key in accounts.keys_expiring(ctx, now, now + timedelta(days=KEY_ENDING_DAYS)):
        event = _ENDING_EVENTS.get(key.kind)
        if event is None:
            continue
        if enqueue(
            ctx,
            event,
            key.customer_id,
            f"key:{key.serial}",
            key_context(key),
            threshold=f"{KEY_ENDING_DAYS}d",
        ):
            counts[event.value] += 1
    today = now.date()
    widest = max(MAINTENANCE_LAPSING_DAYS)
    for row in accounts.maintenance_lapsing(ctx, today, widest):
        days_left = (accounts.paid_through(row.contract) - today).days
        threshold = min(d for d in MAINTENANCE_LAPSING_DAYS if days_left <= d)
        paid = accounts.paid_through(row.contract)
        context = {
            "contract_id": row.contract.id,
            "plan": row.contract.plan,
            "paid_through": paid,
            "days_left": days_left,
            "threshold_days": threshold,
            "contract_end": row.contract.end_date,
        }
        if enqueue(
            ctx,
            Event.MAINTENANCE_LAPSING,
            row.customer.id,
            f"contract:{row.contract.id}",
            context,
            threshold=f"{threshold}d:paid_through={paid.isoformat()}",
        ):
            counts[Event.MAINTENANCE_LAPSING.value] += 1
    for case in accounts.overdue_cases(ctx, now):
        reason = support_plan.overdue_reason(case, now)
        if reason is None:
            continue
        region = support_plan.REGIONS[case.customer.region]
        if outbox.case_overdue(ctx, case, region.timezone, reason):
            counts[Event.SUPPORT_OVERDUE.value] += 1
    return ScanReport(counts)


_ENDING_EVENTS = {"dr_test": Event.DR_WINDOW_ENDING, "temporary": Event.TEMPORARY_KEY_ENDING}


# -- delivery (the sender in licensesvc/mail.py owns the transactions) ----------------------


def recipients_of(ctx: ServiceContext, customer_id: int) -> tuple[str, ...]:
    """The emails of the customer's portal users (disabled users excluded, where users can be
    disabled), sorted."""
    query = select(User.email).where(User.customer_id == customer_id)
    disabled_at = getattr(User, "disabled_at", None)
    if disabled_at is not None:
        query = query.where(disabled_at.is_(None))
    return tuple(sorted(ctx.session.scalars(query)))


def claim_due(ctx: ServiceContext, worker: str, limit: int) -> list[Claimed]:
    """Lease up to `limit` due pending messages (oldest first) to `worker` until now + LEASE
    and return them; the caller commits at once, then delivers (platform.outbox.claim_rows:
    rows another sender holds are skipped). A message with nobody to write to (a customer
    without portal users, support mail without LICENSESVC_SUPPORT_EMAIL) is marked failed
    here."""
    ctx.actor.require_analyst()
    if limit < 1:
        raise ValidationFailed("limit is at least 1")
    rows = outbox.claim_rows(ctx, OutboxMessage, worker, limit, LEASE)
    claimed: list[Claimed] = []
    names = _customer_names(ctx, [row.customer_id for row in rows])
    support = ctx.settings.support_email
    for row in rows:
        if row.event in SUPPORT_EVENTS:
            recipients: tuple[str, ...] = (support,) if support else ()
            missing = "LICENSESVC_SUPPORT_EMAIL is not set: no support address to write to"
        else:
            recipients = recipients_of(ctx, row.customer_id)
            missing = "the customer has no portal users to write to"
        if not recipients:
            outbox.give_up(row, missing)
            continue
        claimed.append(
            Claimed(
                id=row.id,
                event=Event(row.event),
                customer_id=row.customer_id,
                customer_name=names.get(row.customer_id, ""),
                subject_ref=row.subject_ref,
                context=dict(row.context),
                recipients=recipients,
                attempts=row.attempts,
            )
        )
    ctx.session.flush()
    return claimed


def release(ctx: ServiceContext, message_id: int, worker: str) -> bool:
    """Give a claimed message back undelivered (no attempt counted), due at once."""
    return outbox.settle(ctx, OutboxMessage, message_id, worker, attempted=False) is not None


def mark_sent(ctx: ServiceContext, message_id: int, worker: str, recipients: Sequence[str]) -> bool:
    """Record a delivery by the worker holding the message; False when it no longer held it."""
    row = outbox.settle(ctx, OutboxMessage, message_id, worker, attempted=True)
    if row is None:
        return False
    row.recipients = list(recipients)
    ctx.session.flush()
    return True


def mark_failed(
    ctx: ServiceContext, message_id: int, worker: str, error: str, *, permanent: bool
) -> bool:
    """Record a failed delivery: back off and retry (1, 2, 4, ... minutes, at most an hour),
    or give up at once for a permanent failure or after MAX_ATTEMPTS. The row stays in the
    outbox either way. False when the worker no longer held the message."""

    def wait(attempts: int) -> timedelta | None:
        return None if permanent or attempts >= MAX_ATTEMPTS else backoff(attempts)

    row = outbox.settle(
        ctx, OutboxMessage, message_id, worker, attempted=True, error=error, retry_after=wait
    )
    return row is not None


def backoff(attempts: int) -> timedelta:
    """The wait after the attempts-th failure."""
    return min(FIRST_RETRY * (1 << min(max(attempts - 1, 0), 20)), MAX_RETRY)


def retry(ctx: ServiceContext, message_id: int) -> OutboxView:
    """Put a failed message back in the queue, due now. Raises NotFound, InvalidState."""
    ctx.actor.require_analyst()
    row = ctx.session.get(OutboxMessage, message_id)
    if row is None:
        raise NotFound(f"message {message_id} not found")
    if row.status != "failed":
        raise InvalidState(f"message {message_id} is {row.status}; only a failed one is retried")
    row.status = "pending"
    row.next_attempt_at = ctx.now()
    ctx.session.flush()
    return _view(row, _customer_names(ctx, [row.customer_id]))


def list_messages(
    ctx: ServiceContext,
    *,
    status: str | None = None,
    customer_id: int | None = None,
    page: int = 1,
    page_size: int = 50,
) -> Page[OutboxView]:
    """A page of the outbox (of one customer, if given), newest first. Raises NotFound (an
    unknown customer), ValidationFailed (unknown status, bad page)."""
    ctx.actor.require_analyst()
    query = select(OutboxMessage)
    if status is not None:
        if status not in OUTBOX_STATUSES:
            raise ValidationFailed(
                f"unknown status {status!r}; choose one of {', '.join(OUTBOX_STATUSES)}"
            )
        query = query.where(OutboxMessage.status == status)
    if customer_id is not None:
        accounts.get_customer(ctx, customer_id)  # an unknown id is not_found, not an empty list
        query = query.where(OutboxMessage.customer_id == customer_id)
    found = paginate(ctx.session, query, page, page_size)
    names = _customer_names(ctx, [m.customer_id for m in found.items])
    return Page(
        items=tuple(_view(m, names) for m in found.items),
        total=found.total,
        page=found.page,
        page_size=found.page_size,
    )


def _customer_names(ctx: ServiceContext, ids: Sequence[int]) -> dict[int, str]:
    if not ids:
        return {}
    rows = ctx.session.execute(select(Customer.id, Customer.name).where(Customer.id.in_(set(ids))))
    return {customer_id: name for customer_id, name in rows}


def _view(m: OutboxMessage, names: dict[int, str]) -> OutboxView:
    return OutboxView(
        id=m.id,
        event=m.event,
        customer_id=m.customer_id,
        customer_name=names.get(m.customer_id, ""),
        subject_ref=m.subject_ref,
        status=m.status,
        attempts=m.attempts,
        created_at=m.created_at,
        next_attempt_at=m.next_attempt_at,
        sent_at=m.sent_at,
        last_error=m.last_error,
        recipients=tuple(m.recipients or ()),
    )
