"""Idempotency keys of API calls (`Idempotency-Key` header): the first answer, kept 24 hours
so a retry gets it again. Written in the same transaction as the work it answers."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, intpk

IDEMPOTENCY_STATUSES = ("in_progress", "done")


class IdempotencyKey(Base):
    """One caller's key: the fingerprint of the request it came with (a hash of method, path
    and canonical body) and, once `done`, the answer given (status, body, headers)."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (
        UniqueConstraint("caller", "key", name="uq_idempotency_keys_caller_key"),
        CheckConstraint("status IN ('in_progress', 'done')", name="status"),
        # the purge: everything older than the retention
        Index("ix_idempotency_keys_created_at", "created_at"),
    )

    id: Mapped[intpk]
    #: whose key: "customer:<id>" or "analyst:<name>" (keys are scoped per caller)
    caller: Mapped[str] = mapped_column(String(200))
    key: Mapped[str] = mapped_column(String(255))
    #: hex SHA-256 of method, path and canonical body
    fingerprint: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(12))
    response_status: Mapped[int | None]
    response_body: Mapped[str | None] = mapped_column(Text)
    response_headers: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime]
