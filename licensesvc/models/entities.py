"""The tables of licensesvc. Invariants that must survive concurrency are database constraints."""

from __future__ import annotations

import hashlib
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
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
from sqlalchemy.engine.default import DefaultExecutionContext
from sqlalchemy.orm import Mapped, mapped_column, relationship

from licensesvc.domain import (
    DEFAULT_HOLIDAYS,
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

#: the longest name of an API token
TOKEN_NAME_MAX = 100


def _default_holidays(context: DefaultExecutionContext) -> str:
    region = context.get_current_parameters().get("region", "")  # type: ignore[no-untyped-call]
    return DEFAULT_HOLIDAYS.get(Region(region), "US") if region in values(Region) else "US"


def key_text_hash(text: str) -> str:
    """The SHA-256 (lower-case hex) of a key's text, as `keys.key_hash` stores it."""
    return hashlib.sha256(text.encode()).hexdigest()


def _key_text_hash(context: DefaultExecutionContext) -> str:
    return key_text_hash(context.get_current_parameters()["key_text"])  # type: ignore[no-untyped-call]


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
    #: the holiday calendar of business-hours arithmetic: "CC" or "CC-SUB" (holidays package)
    holidays: Mapped[str] = mapped_column(String(20), default=_default_holidays)
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
        CheckConstraint(
            "terminated_on IS NULL OR terminated_on >= start_date", name="termination_in_term"
        ),
    )

    id: Mapped[intpk]
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    #: the plan the contract started with; later plans are rows of contract_plan_changes
    plan: Mapped[str] = mapped_column(String(10))
    start_date: Mapped[date]
    end_date: Mapped[date]
    grace_days: Mapped[int | None]
    created_at: Mapped[datetime]
    #: the contract this one renews (it starts the day after that one's end)
    renews_id: Mapped[int | None] = mapped_column(ForeignKey("contracts.id"), unique=True)
    #: the last covered day of a contract ended early
    terminated_on: Mapped[date | None]
    termination_reason: Mapped[str | None] = mapped_column(Text)

    customer: Mapped[Customer] = relationship(back_populates="contracts")
    payments: Mapped[list[ContractPayment]] = relationship(
        back_populates="contract", order_by="ContractPayment.id"
    )
    plan_changes: Mapped[list[ContractPlanChange]] = relationship(
        back_populates="contract",
        order_by="[ContractPlanChange.effective_from, ContractPlanChange.id]",
    )

    @property
    def effective_end(self) -> date:
        """The last covered day: the end date, or the termination day if earlier."""
        if self.terminated_on is not None and self.terminated_on < self.end_date:
            return self.terminated_on
        return self.end_date

    @property
    def ledger_paid_through(self) -> date | None:
        """What the latest ledger entry says (a correction may move it back), or None."""
        return self.payments[-1].paid_through if self.payments else None

    @property
    def paid_through(self) -> date:
        """Maintenance paid through: the latest ledger entry, never past the contract's
        effective end (nothing paid: the day before the start)."""
        ledger = self.ledger_paid_through
        if ledger is None:
            return self.start_date - timedelta(days=1)
        return min(ledger, self.effective_end)

    def plan_on(self, day: date) -> str:
        """The plan in effect on `day`: the latest plan change from that day or before."""
        plan = self.plan
        for change in self.plan_changes:
            if change.effective_from <= day:
                plan = change.plan
        return plan


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
    #: a retired license gets no more keys
    retired_at: Mapped[datetime | None]

    customer: Mapped[Customer] = relationship(back_populates="licenses")
    changes: Mapped[list[LicenseChange]] = relationship(
        back_populates="license", order_by="LicenseChange.id"
    )


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
        # pages of a customer's cases and of the cases in one status, newest first (0009)
        Index("ix_key_requests_customer_id_id", "customer_id", "id"),
        Index("ix_key_requests_status_id", "status", "id"),
        # the escalation queue: escalated cases by respond-by
        Index("ix_key_requests_status_respond_by", "status", "respond_by"),
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
    #: the support plan's fields (see licensesvc/domain/support_plan.py)
    escalation_reason: Mapped[str | None] = mapped_column(String(40))
    next_update_due: Mapped[datetime | None]
    #: the first analyst update since the (latest) escalation: the initial response
    responded_at: Mapped[datetime | None]
    #: the refusal the decision was about, kept beside a grant or a denial
    original_refusal_code: Mapped[str | None] = mapped_column(String(40))
    original_refusal_message: Mapped[str | None] = mapped_column(Text)
    #: the analyst who owns the case in the queue (`case assign`); None: nobody yet
    owner: Mapped[str | None] = mapped_column(String(200))

    license: Mapped[License] = relationship()
    customer: Mapped[Customer] = relationship()
    updates: Mapped[list[CaseUpdate]] = relationship(
        back_populates="case", order_by="CaseUpdate.id"
    )
    notes: Mapped[list[CaseNote]] = relationship(back_populates="case", order_by="CaseNote.id")


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
        # online verification finds an issued key by the hash of its text (migration 0015)
        Index("uq_keys_key_hash", "key_hash", unique=True),
        # pages of a customer's keys, newest first (migration 0009)
        Index("ix_keys_customer_id_id", "customer_id", "id"),
        # a license's live keys, whatever the length of its history (migration 0012)
        Index(
            "ix_keys_active_license_id",
            "license_id",
            sqlite_where=text(f"status = '{KeyStatus.ACTIVE.value}'"),
            postgresql_where=text(f"status = '{KeyStatus.ACTIVE.value}'"),
        ),
        Index(
            "ix_keys_superseded_license_id",
            "license_id",
            "usable_until",
            sqlite_where=text(f"status = '{KeyStatus.SUPERSEDED.value}'"),
            postgresql_where=text(f"status = '{KeyStatus.SUPERSEDED.value}'"),
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
    #: SHA-256 (hex) of key_text: online verification finds a key the server issued by it and
    #: need not check its signature again (migration 0015); filled from key_text on insert
    key_hash: Mapped[str] = mapped_column(String(64), default=_key_text_hash)
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


class RevocationCascadeCopy(Base):
    """The one stored signed revocation cascade base (row id 1, docs/key-format.md section
    13): rebuilt when it is missing, signed by a retired key, or older than its rebuild age;
    deltas against it are signed on request. `generation` is the stored base's number
    (0: none signed yet)."""

    __tablename__ = "revocation_cascades"

    id: Mapped[intpk]
    generation: Mapped[int] = mapped_column(BigInteger)
    signed: Mapped[bytes | None] = mapped_column(LargeBinary)
    kid: Mapped[str | None] = mapped_column(String(40))
    issued_at: Mapped[datetime | None]
    next_update: Mapped[datetime | None]
    covered_through: Mapped[datetime | None]
    covered_count: Mapped[int | None]


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
    last_used_at: Mapped[datetime | None]  # to the minute (licensesvc/identity/tokens.py)
    #: who made it, as the audit trail names them (`user:<email>`, `analyst:<name>`); None for
    #: a token older than migration 0013 without a `token.created` record
    created_by: Mapped[str | None] = mapped_column(String(200))
    #: the portal user who made it: disabling that user revokes it (licensesvc/identity/users.py)
    created_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    #: what its maker calls it ("nightly deploy"), to tell tokens apart; None for a token
    #: older than migration 0020 or made without one
    name: Mapped[str | None] = mapped_column(String(TOKEN_NAME_MAX))


class User(Base):
    """A customer administrator who signs in to the portal."""

    __tablename__ = "users"

    id: Mapped[intpk]
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    email: Mapped[str200] = mapped_column(unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime]
    #: set when an analyst disables the user (`licensesvc user disable`): no more sign-ins
    disabled_at: Mapped[datetime | None]
    last_signed_in_at: Mapped[datetime | None]
    customer: Mapped[Customer] = relationship()


class AuditRecord(Base):
    """Append-only and hash-chained: each record carries the hash of the one before."""

    __tablename__ = "audit_records"
    __table_args__ = (
        # pages of a customer's and of one entity's records, newest first (migration 0009)
        Index("ix_audit_records_customer_id_id", "customer_id", "id"),
        Index("ix_audit_records_entity_id", "entity_type", "entity_id", "id"),
    )

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
    #: the formula of `hash` (platform/audit.py): 1 over the whole record's canonical JSON
    #: (records before migration 0021), 2 over prev_hash, id and the content's digest
    hash_version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")


# --- contract and license lifecycle, the support plan's case updates (migration 0002) -------


class ContractPayment(Base):
    """One entry of a contract's maintenance ledger: paid through a date. Never edited; a
    correction is a new entry with a reason."""

    __tablename__ = "contract_payments"
    __table_args__ = (
        CheckConstraint("NOT correction OR reason IS NOT NULL", name="correction_reason"),
    )

    id: Mapped[intpk]
    contract_id: Mapped[int] = mapped_column(ForeignKey("contracts.id"), index=True)
    paid_through: Mapped[date]
    invoice: Mapped[str | None] = mapped_column(String(100))
    correction: Mapped[bool] = mapped_column(Boolean, default=False)
    reason: Mapped[str | None] = mapped_column(Text)
    recorded_at: Mapped[datetime]
    recorded_by: Mapped[str200]

    contract: Mapped[Contract] = relationship(back_populates="payments")


class ContractPlanChange(Base):
    """A plan change of a contract from a day inside its term (the contract stays the same)."""

    __tablename__ = "contract_plan_changes"
    __table_args__ = (CheckConstraint(_in("plan", Plan), name="plan"),)

    id: Mapped[intpk]
    contract_id: Mapped[int] = mapped_column(ForeignKey("contracts.id"), index=True)
    plan: Mapped[str] = mapped_column(String(10))
    effective_from: Mapped[date]
    reason: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]
    created_by: Mapped[str200]

    contract: Mapped[Contract] = relationship(back_populates="plan_changes")


class LicenseChange(Base):
    """One change of a license (limits, expiry, hosts, retirement) with its reason: each
    changed field as [before, after]."""

    __tablename__ = "license_changes"

    id: Mapped[intpk]
    license_id: Mapped[int] = mapped_column(ForeignKey("licenses.id"), index=True)
    at: Mapped[datetime]
    actor: Mapped[str200]
    reason: Mapped[str] = mapped_column(Text)
    changes: Mapped[dict[str, Any]]

    license: Mapped[License] = relationship(back_populates="changes")


class CaseUpdate(Base):
    """A status update an analyst posted on a case; the customer sees it."""

    __tablename__ = "case_updates"

    id: Mapped[intpk]
    case_id: Mapped[int] = mapped_column(ForeignKey("key_requests.id"), index=True)
    at: Mapped[datetime]
    author: Mapped[str200]
    text: Mapped[str] = mapped_column(Text)

    case: Mapped[KeyRequest] = relationship(back_populates="updates")


class CaseNote(Base):
    """An analyst's internal note on a case: analysts only, never shown to the customer (not
    in the customer API, the portal or notifications)."""

    __tablename__ = "case_notes"

    id: Mapped[intpk]
    case_id: Mapped[int] = mapped_column(ForeignKey("key_requests.id"), index=True)
    at: Mapped[datetime]
    author: Mapped[str200]
    text: Mapped[str] = mapped_column(Text)

    case: Mapped[KeyRequest] = relationship(back_populates="notes")
