"""Idempotency keys (the `Idempotency-Key` header of the IETF httpapi draft, with Stripe's
semantics): a retry with the same key and the same request gets the first answer again and
changes nothing.

How a unit of work uses it (licensesvc/api/idempotency.py is the one caller):

1. `claim` at the start of the transaction: on PostgreSQL it takes a transaction-scoped
   advisory lock on (caller, key) without waiting, so a duplicate that arrives while the first
   is still being handled fails at once with IdempotencyInProgress (409) instead of making a
   second case; on SQLite writers run one at a time, so the duplicate waits for the first and
   then finds its answer. A stored answer comes back as a `Replay` (same request) or raises
   IdempotencyKeyReused (422, another request). Otherwise the key is the transaction's: a
   `Claim`, which nothing else can take while the transaction lasts (the lock; SQLite's one
   writer), so no row need stand for it meanwhile.
2. the work itself (its case, key and audit records);
3. `finish` stores the key with the answer (`done`) in the same transaction, then the caller
   commits. A lost COMMIT reply is therefore harmless: the commit either happened (the row is
   there, the retry replays it) or it did not (no row, no case; the retry runs afresh). A
   process killed mid-request leaves nothing: its transaction and its advisory lock end with
   its connection.

Round trips: on PostgreSQL the lock and the purge are one statement (the purge a
data-modifying CTE), the lookup one, the row with its answer one INSERT: three a request
(a replay two). On SQLite, the purge, the lookup and the INSERT.

Keys are scoped per caller (`caller_of`) and kept `RETENTION` (24 hours); `purge` deletes
older ones and runs on every claim (and from `licensesvc idempotency purge`)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, Delete, Table, delete, func, insert, select
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
class Claim:
    """A key this transaction holds, not stored yet: `finish` stores it with the answer."""

    caller: str
    key: str
    fingerprint: str
    created_at: datetime


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


_KEYS = cast(Table, IdempotencyKey.__table__)


def _purge_batch(now: datetime, batch: int) -> Delete:
    """One statement deleting at most `batch` keys older than RETENTION, skipping rows another
    transaction is purging (PostgreSQL `SKIP LOCKED`; SQLite has one writer)."""
    chosen = (
        select(_KEYS.c.id)
        .where(_KEYS.c.created_at < now - RETENTION)
        .order_by(_KEYS.c.id)
        .limit(batch)
        .with_for_update(skip_locked=True)
    )
    return delete(_KEYS).where(_KEYS.c.id.in_(chosen))


def purge(session: Session, now: datetime, *, batch: int | None = PURGE_BATCH) -> int:
    """Delete keys older than RETENTION, at most `batch` of them (None: all); returns how many
    (does not commit). Rows another transaction is purging are skipped (PostgreSQL
    `SKIP LOCKED`), so concurrent requests never wait for each other here."""
    total = 0
    while True:
        result = cast(CursorResult[Any], session.execute(_purge_batch(now, batch or PURGE_BATCH)))
        deleted = int(result.rowcount)
        total += deleted
        if batch is not None or deleted < PURGE_BATCH:
            return total


def claim(
    session: Session, *, caller: str, key: str, fingerprint: str, now: datetime
) -> Claim | Replay:
    """Step 1 (see the module): the Claim to `finish`, or the stored Replay. Raises
    IdempotencyInProgress (409) and IdempotencyKeyReused (422)."""
    if session.get_bind().dialect.name == "postgresql":
        # the lock and the purge in one round trip (the purge a data-modifying CTE, which
        # runs whether or not the query reads it)
        purged = _purge_batch(now, PURGE_BATCH).returning(_KEYS.c.id).cte("purged")
        locked = session.scalar(
            select(func.pg_try_advisory_xact_lock(_lock_key(caller, key))).add_cte(purged)
        )
        if not locked:
            raise IdempotencyInProgress(
                "a request with this Idempotency-Key is still being handled; retry shortly"
            )
    else:
        purge(session, now)
    # a statement of its own, after the lock: it sees every answer committed before
    row = session.execute(
        select(
            _KEYS.c.fingerprint,
            _KEYS.c.status,
            _KEYS.c.response_status,
            _KEYS.c.response_body,
            _KEYS.c.response_headers,
        ).where(_KEYS.c.caller == caller, _KEYS.c.key == key)
    ).first()
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
    return Claim(caller, key, fingerprint, now)


def finish(
    session: Session, claimed: Claim, *, status: int, body: str, headers: dict[str, Any]
) -> None:
    """Step 3: store the key with the answer, with the work, before the caller commits."""
    session.execute(
        insert(_KEYS).values(
            caller=claimed.caller,
            key=claimed.key,
            fingerprint=claimed.fingerprint,
            status=DONE,
            response_status=status,
            response_body=body,
            response_headers={name: str(value) for name, value in headers.items()},
            created_at=claimed.created_at,
        )
    )


def _lock_key(caller: str, key: str) -> int:
    """The advisory lock id of (caller, key): 64 bits of its SHA-256, signed (bigint)."""
    digest = hashlib.sha256(f"idempotency\n{caller}\n{key}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)
