"""Webhooks: the endpoints analysts and customers register, and one delivery row per event and
endpoint, written in the event's transaction and delivered by `licensesvc notify send`."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, intpk

ENDPOINT_STATUSES = ("active", "disabled")
DELIVERY_STATUSES = ("pending", "sent", "failed")


class WebhookEndpoint(Base):
    """Where events go: vendor-wide (`customer_id` None: every customer's events) or one
    customer's (only that customer's events). `secret` is the Standard Webhooks signing secret
    (`whsec_` + base64, shown once when made or rotated), stored sealed under
    LICENSESVC_SIGNING_KEY_PASSPHRASE (platform/sealed.py), never in the clear."""

    __tablename__ = "webhook_endpoints"
    __table_args__ = (CheckConstraint("status IN ('active', 'disabled')", name="status"),)

    id: Mapped[intpk]
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"), index=True)
    url: Mapped[str] = mapped_column(String(2000))
    #: the event types it receives, e.g. ["case.escalated", "key.issued"]
    events: Mapped[list[str]] = mapped_column(JSON)
    secret: Mapped[str] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(10))
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime]
    disabled_at: Mapped[datetime | None]
    secret_rotated_at: Mapped[datetime | None]


class WebhookDelivery(Base):
    """One event for one endpoint: `message_id` is its `webhook-id` on every attempt, `payload`
    the body `{"type", "timestamp", "data"}`; `dedupe_key` (endpoint, event, subject,
    occurrence) is unique, so an event reported twice is delivered once."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        CheckConstraint("status IN ('pending', 'sent', 'failed')", name="status"),
        CheckConstraint("attempts >= 0", name="attempts"),
        Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),
    )

    id: Mapped[intpk]
    endpoint_id: Mapped[int] = mapped_column(ForeignKey("webhook_endpoints.id"), index=True)
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"))
    event: Mapped[str] = mapped_column(String(40))
    message_id: Mapped[str] = mapped_column(String(60), unique=True)
    dedupe_key: Mapped[str] = mapped_column(String(250), unique=True)
    payload: Mapped[dict[str, Any]]
    status: Mapped[str] = mapped_column(String(10))
    attempts: Mapped[int]
    next_attempt_at: Mapped[datetime]
    claimed_by: Mapped[str | None] = mapped_column(String(40))
    claimed_until: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    last_status_code: Mapped[int | None]
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]
