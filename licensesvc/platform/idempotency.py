"""Idempotency keys (the `Idempotency-Key` header of the IETF httpapi draft, with Stripe's
semantics): a retry with the same key and the same request gets the first answer again and
changes nothing.

How a unit of work uses it (licensesvc/api/idempotency.py is the one caller):

1. `claim` at the start of the transaction: on PostgreSQL it takes a transaction-scoped
   advisory lock on (caller, key) without waiting, so a duplicate that arrives while the first
   is still being handled fails at once with IdempotencyInProgress (409) instead of making a
   second case; on SQLite writers run one at a time, so the duplicate waits for the first and
   then finds its answer. A stored answer comes back as a `Replay` (same request) or raises
   IdempotencyKeyReused (422, another request). Otherwise a row `in_progress` is added.
2. the work itself (its case, key and audit records);
3. `finish` stores the answer in the same row, in the same transaction, then the caller
   commits. A lost COMMIT reply is therefore harmless: the commit either happened (the row is
   `done`, the retry replays it) or it did not (no row, no case; the retry runs afresh). A
   process killed mid-request leaves nothing: its transaction and its advisory lock end with
   its connection.

Keys are scoped per caller (`caller_of`) and kept `RETENTION` (24 hours); `purge` deletes
older ones and runs on every claim (and from `licensesvc idempotency purge`)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select, text
from sqlalchemy.orm import Session

from licensesvc.domain.errors import IdempotencyInProgress, IdempotencyKeyReused, ValidationFailed
from licensesvc.models import IdempotencyKey
from licensesvc.platform.context import Actor

#: how long a key and its answer are kept
RETENTION = timedelta(hours=24)
#: keys purged per stored key at most (the rest go with the next ones)
PURGE_BATCH = 500
#: the longest key accepted (the draft leaves it open; Stripe takes 255)
MAX_KEY_LENGTH = 255
IN_PROGRESS = "in_progress"
DONE = "done"


@dataclass(frozen=True)
class Replay:
    """The answer first given to this key."""

    status: int
    body: str
    headers: dict[str, str]


def caller_of(actor: Actor) -> str:
    """Whose keys these are: the token owner ("customer:<id>" or "analyst:<name>")."""
    if actor.customer_id is not None:
        return f"customer:{actor.customer_id}"
    return f"{actor.kind}:{actor.name}"


def check_key(key: str) -> str:
    """Return the key when acceptable; raises ValidationFailed (empty, too long, not printable
    ASCII)."""
    if not key or len(key) > MAX_KEY_LENGTH or not all(" " <= c <= "~" for c in key):
        raise ValidationFailed(
            f"Idempotency-Key must be 1 to {MAX_KEY_LENGTH} printable ASCII characters"
        )
    return key


def fingerprint(method: str, path: str, body: bytes) -> str:
    """Hex SHA-256 of method, path and the body in canonical form (JSON with sorted keys and no
    insignificant whitespace; a body that is not JSON as its bytes)."""
    try:
        canonical = json.dumps(
            json.loads(body or b"null"), sort_keys=True, separators=(",", ":")
        ).encode()
    except ValueError:
        canonical = body
    digest = hashlib.sha256()
    for part in (method.upper().encode(), path.encode(), canonical):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


def purge(session: Session, now: datetime, *, batch: int | None = PURGE_BATCH) -> int:
    """Delete keys older than RETENTION, at most `batch` of them (None: all); returns how many
    (flushes, does not commit). Rows another transaction is purging are skipped (PostgreSQL
    `SKIP LOCKED`), so concurrent requests never wait for each other here."""
    total = 0
    while True:
        chosen = (
            select(IdempotencyKey.id)
            .where(IdempotencyKey.created_at < now - RETENTION)
            .order_by(IdempotencyKey.id)
            .limit(batch or PURGE_BATCH)
            .with_for_update(skip_locked=True)
        )
        ids = list(session.scalars(chosen))
        if ids:
            session.execute(delete(IdempotencyKey).where(IdempotencyKey.id.in_(ids)))
        total += len(ids)
        if batch is not None or len(ids) < PURGE_BATCH:
            return total


def claim(
    session: Session, *, caller: str, key: str, fingerprint: str, now: datetime
) -> IdempotencyKey | Replay:
    """Step 1 (see the module): the new `in_progress` row to `finish`, or the stored Replay.
    Raises IdempotencyInProgress (409) and IdempotencyKeyReused (422)."""
    if session.get_bind().dialect.name == "postgresql":
        locked = session.scalar(
            text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": _lock_key(caller, key)}
        )
        if not locked:
            raise IdempotencyInProgress(
                "a request with this Idempotency-Key is still being handled; retry shortly"
            )
    purge(session, now)
    row = session.scalar(
        select(IdempotencyKey).where(IdempotencyKey.caller == caller, IdempotencyKey.key == key)
    )
    if row is not None:
        if row.fingerprint != fingerprint:
            raise IdempotencyKeyReused(
                "this Idempotency-Key was already used for a different request; "
                "use a new key for a new request"
            )
        if row.status != DONE or row.response_status is None:  # pragma: no cover - see module
            raise IdempotencyInProgress(
                "a request with this Idempotency-Key is still being handled; retry shortly"
            )
        return Replay(
            row.response_status, row.response_body or "", dict(row.response_headers or {})
        )
    row = IdempotencyKey(
        caller=caller, key=key, fingerprint=fingerprint, status=IN_PROGRESS, created_at=now
    )
    session.add(row)
    session.flush()
    return row


def finish(
    session: Session, row: IdempotencyKey, *, status: int, body: str, headers: dict[str, Any]
) -> None:
    """Step 3: store the answer with the work, before the caller commits."""
    row.status = DONE
    row.response_status = status
    row.response_body = body
    row.response_headers = {name: str(value) for name, value in headers.items()}
    session.flush()


def _lock_key(caller: str, key: str) -> int:
    """The advisory lock id of (caller, key): 64 bits of its SHA-256, signed (bigint)."""
    digest = hashlib.sha256(f"idempotency\n{caller}\n{key}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)
