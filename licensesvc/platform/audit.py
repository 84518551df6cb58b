"""The tamper-evident audit trail: every change of state appends a record in the same
transaction, each record carrying the SHA-256 of the one before it.

The chain is one for every customer, so appending to it serializes writers: `append` gathers
the transaction's records and they are chained on together just before COMMIT
(platform/transactions.py: `at_commit`, the last step of the lock order), and the chain is held
from then to the commit only. On PostgreSQL that is one call of the database function
`licensesvc_audit_append` (migration 0021), the last column of the statement that makes the
transaction's deferred writes (`transactions.defer_insert`): it takes the chain's advisory lock,
reads the head (a fresh snapshot: each statement of a VOLATILE function sees what committed
before it, so the head read after the lock is the newest) and inserts the records. On SQLite
(one writer at a time) Python reads the head and inserts them. A read of the trail in the same
transaction appends them first, so the transaction reads its own records.

The hash of a record (`hash_version` 2, since migration 0021) is SHA-256 over
`prev_hash:id:content_digest`, where content_digest is the SHA-256 of the record's canonical
JSON without its id and prev_hash (`content_digest`): Python computes the digest, the database
the chain. Records written before (`hash_version` 1) keep their hash over the canonical JSON with
id and prev_hash (`record_hash`); `verify_chain` checks each under its own version."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Text, bindparam, cast, func, insert, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from licensesvc.domain.errors import NotFound
from licensesvc.models import AuditRecord, Customer
from licensesvc.platform import changefeed
from licensesvc.platform.context import ServiceContext
from licensesvc.platform.freshness import forget_head
from licensesvc.platform.pagination import DEFAULT_PAGE_SIZE, Page, paginate
from licensesvc.platform.transactions import AUDIT_CHAIN, TailCall, at_commit, tail_statement

GENESIS = "0" * 64
#: the PostgreSQL advisory lock that serializes appends to the chain (taken by the database
#: function of migration 0021, which spells it out: keep the two equal)
_AUDIT_LOCK_ID = 0x4C_53_56_43_41_55  # "LSVCAU"
_TABLE = AuditRecord.__tablename__
#: the hash formula of the records written now (`chain_hash`); 1 is `record_hash`
HASH_VERSION = 2


def record_hash(
    *,
    id: int,
    prev_hash: str,
    at: datetime,
    actor: str,
    action: str,
    entity_type: str,
    entity_id: str,
    customer_id: int | None,
    reason: str | None,
    details: dict[str, Any],
) -> str:
    """Return the hex SHA-256 over a record's canonical JSON, its own id and the previous hash
    included, so an edit, a deletion or a reordering breaks the chain (version 1)."""
    content = _content(at, actor, action, entity_type, entity_id, customer_id, reason, details)
    return _sha256_json(content | {"id": id, "prev_hash": prev_hash})


def content_digest(
    *,
    at: datetime,
    actor: str,
    action: str,
    entity_type: str,
    entity_id: str,
    customer_id: int | None,
    reason: str | None,
    details: dict[str, Any],
) -> str:
    """Return the hex SHA-256 of a record's content as canonical JSON (as `record_hash`, without
    the id and the previous hash: those the chain adds, `chain_hash`)."""
    return _sha256_json(
        _content(at, actor, action, entity_type, entity_id, customer_id, reason, details)
    )


def _content(
    at: datetime,
    actor: str,
    action: str,
    entity_type: str,
    entity_id: str,
    customer_id: int | None,
    reason: str | None,
    details: dict[str, Any],
) -> dict[str, Any]:
    return {
        "at": at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "actor": actor,
        "action": action,
        "entity_type": entity_type,
        "entity_id": entity_id,
        "customer_id": customer_id,
        "reason": reason,
        "details": details,
    }


def _sha256_json(value: dict[str, Any]) -> str:
    """Hex SHA-256 of value as canonical JSON (sorted keys, no spaces, UTF-8)."""
    body = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(body.encode()).hexdigest()


def chain_hash(prev_hash: str, id: int, digest: str) -> str:
    """Return a version-2 record's hash: hex SHA-256 of `prev_hash:id:digest` (digest:
    `content_digest`), what licensesvc_audit_append (migration 0021) computes in SQL."""
    return hashlib.sha256(f"{prev_hash}:{id}:{digest}".encode()).hexdigest()


def append(
    ctx: ServiceContext,
    action: str,
    entity_type: str,
    entity_id: object,
    *,
    customer_id: int | None = None,
    reason: str | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    """Append one record to the trail, in the transaction of ctx's session: its time, actor
    and details are taken now; its id and hashes when the transaction commits (see the module
    doc). Does not commit."""
    pending = at_commit(
        ctx.session,
        "audit.append",
        AUDIT_CHAIN,
        _chain_pending,
        tables=(_TABLE,),
        tail=_append_call,
    )
    pending.append(
        {
            "at": ctx.now(),
            "actor": ctx.actor.label,
            "action": action,
            "entity_type": entity_type,
            "entity_id": str(entity_id),
            "customer_id": customer_id,
            "reason": reason,
            "details": json.loads(json.dumps(details or {}, default=str)),
        }
    )


def _chain_pending(session: Session, pending: list[dict[str, Any]]) -> None:
    """Chain the gathered records onto the trail's head (SQLite: one writer at a time): the
    head, one INSERT of them all. PostgreSQL: `_append_call` in a statement of its own."""
    if not pending:
        return
    if session.get_bind().dialect.name == "postgresql":
        call = _append_call(session, pending)
        session.execute(tail_statement(call), call[1])
        return
    last = session.execute(
        select(AuditRecord.id, AuditRecord.hash).order_by(AuditRecord.id.desc()).limit(1)
    ).first()
    prev_hash = last.hash if last else GENESIS
    next_id = (last.id + 1) if last else 1
    rows = []
    for fields in pending:
        digest = chain_hash(prev_hash, next_id, content_digest(**fields))
        rows.append(
            fields
            | {"id": next_id, "prev_hash": prev_hash, "hash": digest, "hash_version": HASH_VERSION}
        )
        prev_hash = digest
        next_id += 1
    session.execute(insert(AuditRecord), rows)
    forget_head(session)
    changefeed.changed_here(session)


def _append_call(session: Session, pending: list[dict[str, Any]]) -> TailCall:
    """PostgreSQL: the call of licensesvc_audit_append (migration 0021) that chains the
    gathered records on (`_append`), and the records it binds."""
    records = [
        fields | {"at": fields["at"].isoformat(), "digest": content_digest(**fields)}
        for fields in pending
    ]
    forget_head(session)
    changefeed.changed_here(session)
    return _append, {"audit_records": json.dumps(records, ensure_ascii=False, default=str)}


def _append(after: ColumnElement[Any]) -> ColumnElement[Any]:
    """The call, evaluated once `after` is (the transaction's other deferred writes: the
    chain's lock is taken after them, last in the lock order). Its value is the new head's
    id."""
    return func.licensesvc_audit_append(cast(bindparam("audit_records", type_=Text), JSON), after)


@dataclass(frozen=True)
class ChainReport:
    ok: bool
    records: int
    first_bad_id: int | None = None
    problem: str | None = None
    #: hash of the last record: publish it (or note it) to detect a cut tail later
    head: str = GENESIS

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "records": self.records,
            "first_bad_id": self.first_bad_id,
            "problem": self.problem,
            "head": self.head,
        }


def verify_chain(session: Session, *, expect_head: str | None = None) -> ChainReport:
    """Walk the trail in order and return a report naming the first record that was edited,
    deleted (the record after the gap) or reordered.

    The chain alone cannot show that its newest records were cut off; pass a head hash noted
    earlier (`ChainReport.head`) as expect_head and a trail that no longer contains it fails."""
    prev = GENESIS
    expected_id = 1
    count = 0
    seen_head = expect_head is None
    for rec in session.scalars(select(AuditRecord).order_by(AuditRecord.id)):
        count += 1
        if rec.id != expected_id:
            return ChainReport(
                False, count, rec.id, f"record {expected_id} is missing (deleted or reordered)"
            )
        if rec.prev_hash != prev:
            return ChainReport(
                False,
                count,
                rec.id,
                "does not chain onto the record before it (deleted or reordered)",
            )
        content: dict[str, Any] = {
            "at": rec.at,
            "actor": rec.actor,
            "action": rec.action,
            "entity_type": rec.entity_type,
            "entity_id": rec.entity_id,
            "customer_id": rec.customer_id,
            "reason": rec.reason,
            "details": rec.details,
        }
        if rec.hash_version == 1:
            digest = record_hash(id=rec.id, prev_hash=rec.prev_hash, **content)
        elif rec.hash_version == HASH_VERSION:
            digest = chain_hash(rec.prev_hash, rec.id, content_digest(**content))
        else:
            return ChainReport(False, count, rec.id, f"unknown hash version {rec.hash_version}")
        if digest != rec.hash:
            return ChainReport(False, count, rec.id, "its content was edited after it was written")
        prev = rec.hash
        expected_id += 1
        seen_head = seen_head or rec.hash == expect_head
    if not seen_head:
        return ChainReport(
            False,
            count,
            expected_id,
            f"the trail ends before the expected head {expect_head}: records were cut off",
            prev,
        )
    return ChainReport(True, count, head=prev)


def page_records(
    session: Session,
    *,
    customer_id: int | None = None,
    entity: str | None = None,
    page: int = 1,
    page_size: int = DEFAULT_PAGE_SIZE,
) -> Page[AuditRecord]:
    """A page of the trail, newest first (by id, indexed with the customer and with the
    entity), optionally for one customer or one entity ("key:SERIAL", "case:CASE"). Raises
    NotFound (an unknown customer), ValidationFailed for a page outside the limits."""
    query = select(AuditRecord)
    if customer_id is not None:
        # an unknown customer is not_found, not an empty list
        if session.get(Customer, customer_id) is None:
            raise NotFound(f"customer {customer_id} not found")
        query = query.where(AuditRecord.customer_id == customer_id)
    if entity:
        etype, _, eid = entity.partition(":")
        query = query.where(AuditRecord.entity_type == etype, AuditRecord.entity_id == eid)
    return paginate(session, query, page, page_size)


def count_records(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(AuditRecord)) or 0
