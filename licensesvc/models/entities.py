"""The tables of licensesvc. Invariants that must survive concurrency are database constraints."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from licensesvc.domain import (
    PRIMARY_KINDS,
    CaseStatus,
    KeyKind,
    KeyStatus,
    Plan,
    Region,
    RevocationCode,
    SigningKeyStatus,
    values,
)

from .base import Base, intpk, str40, str200


def _in(column: str, vocabulary: type[StrEnum]) -> str:
    # the same text migration 0001 wrote: column IN ('a', 'b', ...)
    return f"{column} IN ({', '.join(repr(v) for v in values(vocabulary))})"


def _one_active_primary_sql() -> str:
    kinds = ", ".join(repr(k.value) for k in PRIMARY_KINDS)
    return f"status = '{KeyStatus.ACTIVE.value}' AND kind IN ({kinds})"


class Customer(Base):
    __tablename__ = "customers"
    __table_args__ = (CheckConstraint(_in("region", Region), name="region"),)

    id: Mapped[intpk]
    name: Mapped[str200] = mapped_column(unique=True)
    region: Mapped[str] = mapped_column(String(10))
    created_at: Mapped[datetime]

    contracts: Mapped[list[Contract]] = relationship(
        back_populates="customer", order_by="Contract.id"
    )
    licenses: Mapped[list[License]] = relationship(back_populates="customer", order_by="License.id")


class Contract(Base):
    __tablename__ = "contracts"
    __table_args__ = (
        CheckConstraint(_in("plan", Plan), name="plan"),
        CheckConstraint("end_date >= start_date", name="term_order"),
        CheckConstraint("grace_days IS NULL OR grace_days >= 0", name="grace_days"),
    )

    id: Mapped[intpk]
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    plan: Mapped[str] = mapped_column(String(10))
    start_date: Mapped[date]
    end_date: Mapped[date]
    paid_through: Mapped[date]
    grace_days: Mapped[int | None]
    created_at: Mapped[datetime]

    customer: Mapped[Customer] = relationship(back_populates="contracts")


class License(Base):
    __tablename__ = "licenses"
    __table_args__ = (
        CheckConstraint("agents >= 0", name="agents"),
        CheckConstraint("jobs >= 0", name="jobs"),
    )

    id: Mapped[intpk]
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    product: Mapped[str200]
    agents: Mapped[int]
    jobs: Mapped[int]
    host: Mapped[str200]
    failover_host: Mapped[str | None] = mapped_column(String(200))
    expires_on: Mapped[date | None]  # None: perpetual
    created_at: Mapped[datetime]

    customer: Mapped[Customer] = relationship(back_populates="licenses")


class SigningKeyRecord(Base):
    __tablename__ = "signing_keys"
    __table_args__ = (
        CheckConstraint(_in("status", SigningKeyStatus), name="status"),
        # at most one key signs new keys
        Index(
            "uq_signing_keys_one_active",
            "status",
            unique=True,
            sqlite_where=text(f"status = '{SigningKeyStatus.ACTIVE.value}'"),
            postgresql_where=text(f"status = '{SigningKeyStatus.ACTIVE.value}'"),
        ),
    )

    id: Mapped[intpk]
    kid: Mapped[str40] = mapped_column(unique=True)
    public_key_pem: Mapped[str] = mapped_column(Text)
    private_key_encrypted: Mapped[bytes] = mapped_column(LargeBinary)
    status: Mapped[str] = mapped_column(String(10))
    rotation_statement: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    retired_at: Mapped[datetime | None]


class KeyRequest(Base):
    """A case: one request for a key, granted or refused, with its escalation and decision."""

    __tablename__ = "key_requests"
    __table_args__ = (
        CheckConstraint(_in("status", CaseStatus), name="status"),
        CheckConstraint(_in("kind", KeyKind), name="kind"),
        CheckConstraint("severity BETWEEN 1 AND 4", name="severity"),
    )

    id: Mapped[intpk]
    case_number: Mapped[str40] = mapped_column(unique=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    license_id: Mapped[int] = mapped_column(ForeignKey("licenses.id"), index=True)
    contract_id: Mapped[int | None] = mapped_column(ForeignKey("contracts.id"))
    kind: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str | None] = mapped_column(String(40))
    dr_test_date: Mapped[date | None]
    host: Mapped[str | None] = mapped_column(String(200))
    severity: Mapped[int] = mapped_column(default=3)
    requested_by: Mapped[str200]
    status: Mapped[str] = mapped_column(String(20))
    refusal_code: Mapped[str | None] = mapped_column(String(40))
    refusal_message: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    escalated_at: Mapped[datetime | None]
    escalation_note: Mapped[str | None] = mapped_column(Text)
    respond_by: Mapped[datetime | None]
    decided_at: Mapped[datetime | None]
    decided_by: Mapped[str | None] = mapped_column(String(200))
    decision_reason: Mapped[str | None] = mapped_column(Text)
    key_serial: Mapped[str | None] = mapped_column(String(40))

    license: Mapped[License] = relationship()
    customer: Mapped[Customer] = relationship()


class IssuedKey(Base):
    __tablename__ = "keys"
    __table_args__ = (
        CheckConstraint(_in("kind", KeyKind), name="kind"),
        CheckConstraint(_in("status", KeyStatus), name="status"),
        CheckConstraint(
            "revocation_code IS NULL OR " + _in("revocation_code", RevocationCode),
            name="revocation_code",
        ),
        # backstop for supersession: one active standard/replacement key per license
        Index(
            "uq_keys_one_active_primary",
            "license_id",
            unique=True,
            sqlite_where=text(_one_active_primary_sql()),
            postgresql_where=text(_one_active_primary_sql()),
        ),
    )

    id: Mapped[intpk]
    serial: Mapped[str40] = mapped_column(unique=True)
    license_id: Mapped[int] = mapped_column(ForeignKey("licenses.id"), index=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    contract_id: Mapped[int | None] = mapped_column(ForeignKey("contracts.id"))
    case_number: Mapped[str | None] = mapped_column(String(40))
    kind: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str | None] = mapped_column(String(40))
    dr_test_date: Mapped[date | None]
    status: Mapped[str] = mapped_column(String(20))
    key_text: Mapped[str] = mapped_column(Text)
    claims: Mapped[dict[str, Any]]
    signing_kid: Mapped[str40]
    issued_at: Mapped[datetime]
    not_before: Mapped[datetime]
    expires_at: Mapped[datetime | None]
    supersedes: Mapped[str | None] = mapped_column(String(40))
    superseded_by: Mapped[str | None] = mapped_column(String(40))
    usable_until: Mapped[datetime | None]  # end of the overlap once superseded
    revoked_at: Mapped[datetime | None]
    #: the analyst's words: the audit trail and analysts' views only, never the signed list
    revoked_reason: Mapped[str | None] = mapped_column(Text)
    #: what the signed list says (domain.RevocationCode); set on revocation (migration 0007)
    revocation_code: Mapped[str | None] = mapped_column(String(20))

    license: Mapped[License] = relationship()


class RevocationListCopy(Base):
    """The one stored signed revocation list (row id 1): rebuilt when a revocation or a
    supersession changes it or before it goes stale, and served as stored (its ETag is
    `generation` and a digest of the text)."""

    __tablename__ = "revocation_lists"

    id: Mapped[intpk]
    generation: Mapped[int]
    signed_text: Mapped[str | None] = mapped_column(Text)
    kid: Mapped[str | None] = mapped_column(String(40))
    issued_at: Mapped[datetime | None]
    next_update: Mapped[datetime | None]


class QuotaSlot(Base):
    """One row per quota unit in use. The unique constraint is the backstop that keeps a quota
    from being exceeded when two app servers decide at once."""

    __tablename__ = "quota_slots"
    __table_args__ = (UniqueConstraint("scope", "slot", name="uq_quota_slots_scope_slot"),)

    id: Mapped[intpk]
    scope: Mapped[str] = mapped_column(String(100))  # e.g. "dr_test:contract=3:year=2026-01-01"
    slot: Mapped[int] = mapped_column(Integer)
    key_serial: Mapped[str40]
    expires_at: Mapped[datetime | None]  # temporary-key slots free up when their key expires


class ApiToken(Base):
    __tablename__ = "api_tokens"
    __table_args__ = (
        CheckConstraint("(customer_id IS NULL) <> (analyst_name IS NULL)", name="one_owner"),
    )

    id: Mapped[intpk]
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(20))  # the first characters, for recognising it
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"), index=True)
    analyst_name: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    expires_at: Mapped[datetime | None]  # None: until revoked
    last_used_at: Mapped[datetime | None]  # to the minute (services/tokens.py)


class User(Base):
    """A customer administrator who signs in to the portal."""

    __tablename__ = "users"

    id: Mapped[intpk]
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    email: Mapped[str200] = mapped_column(unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime]


class AuditRecord(Base):
    """Append-only and hash-chained: each record carries the hash of the one before."""

    __tablename__ = "audit_records"

    id: Mapped[intpk]
    at: Mapped[datetime]
    actor: Mapped[str200]
    action: Mapped[str] = mapped_column(String(60))
    entity_type: Mapped[str] = mapped_column(String(40))
    entity_id: Mapped[str] = mapped_column(String(60))
    customer_id: Mapped[int | None] = mapped_column(Integer, index=True)
    reason: Mapped[str | None] = mapped_column(Text)
    details: Mapped[dict[str, Any]]
    # unique: two writers can never both chain onto the same record
    prev_hash: Mapped[str] = mapped_column(String(64), unique=True)
    hash: Mapped[str] = mapped_column(String(64))
