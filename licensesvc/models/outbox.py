"""The notification outbox: one row per message to a customer, written in the same transaction
as the event it tells of, delivered later by `licensesvc notify send`."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from licensesvc.domain import OutboxStatus, values

from .base import Base, intpk

OUTBOX_STATUSES = tuple(values(OutboxStatus))


class OutboxMessage(Base):
    """A message waiting for delivery (`pending`), delivered (`sent`) or given up on (`failed`,
    kept with its error until an analyst retries it). `dedupe_key` is unique: one message per
    event, subject and threshold, however often the event is reported."""

    __tablename__ = "outbox"
    __table_args__ = (
        CheckConstraint("status IN ('pending', 'sent', 'failed')", name="status"),
        CheckConstraint("attempts >= 0", name="attempts"),
        # the sender's query: pending messages that are due, oldest first
        Index("ix_outbox_due", "status", "next_attempt_at"),
    )

    id: Mapped[intpk]
    event: Mapped[str] = mapped_column(String(40))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    subject_ref: Mapped[str] = mapped_column(String(100))
    dedupe_key: Mapped[str] = mapped_column(String(200), unique=True)
    context: Mapped[dict[str, Any]]
    status: Mapped[str] = mapped_column(String(10))
    attempts: Mapped[int]
    next_attempt_at: Mapped[datetime]
    #: the sender holding the message and until when (a lease: another sender leaves it alone)
    claimed_by: Mapped[str | None] = mapped_column(String(40))
    claimed_until: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    #: the addresses it went to, once sent
    recipients: Mapped[list[str] | None] = mapped_column(JSON)
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]
