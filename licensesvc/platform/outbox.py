"""The outbox, written in the caller's transaction: each event worth telling the customer
becomes a row, so a rolled-back grant sends nothing and a committed one is never forgotten.
Each message is enqueued at most once: its `dedupe_key` (event, subject, threshold) is unique
in the table. The packages whose events these are enqueue them by one line where they happen
(`key_issued`, `case_decided`, `key_revoked`, `case_updated`; accounts' `keys_out_of_date`);
licensesvc.outreach scans for the time-based ones and delivers every row."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from licensesvc.models import IssuedKey, KeyRequest, License
from licensesvc.models.outbox import OutboxMessage

from .context import ServiceContext


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
    dedupe_key = f"{event.value}:{subject_ref}" + (f":{threshold}" if threshold else "")
    now = ctx.now()
    values = {
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
    enqueue(ctx, Event.KEY_ISSUED, key.customer_id, f"key:{key.serial}", key_context(key))


def key_revoked(ctx: ServiceContext, key: IssuedKey) -> None:
    """A key was revoked. The customer reads the revocation code (what the public list says),
    never the analyst's words, which stay in the audit trail."""
    context = key_context(key) | {"revoked_at": key.revoked_at, "code": key.revocation_code}
    enqueue(ctx, Event.KEY_REVOKED, key.customer_id, f"key:{key.serial}", context)


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
