"""The signed revocation list, built once per change and served as stored.

A revocation rebuilds the list in its own transaction (`rebuild`); a supersession clears the
stored copy in its transaction (`mark_outdated`: the next reader rebuilds it); readers
(`GET /v1/revocations`, `licensesvc revocations export`) take the stored copy (`current`) and
rebuild only when it is missing, signed by a key that is no longer the active one, or past the
middle of its validity (so a served list never goes stale: installers refuse a list after its
`next_update`). Every rebuild locks the one row of `revocation_lists` first, so two rebuilds
never interleave and the later one sees the earlier one's keys. Each signed list carries the
row's `generation` as its `sequence` (monotonic: raised at every signing and every clearing),
so an installer that has seen a newer list refuses an older one.

Entries carry reason codes only (domain.RevocationCode), never the analyst's words."""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

import keys
from licensesvc.domain import KeyStatus, RevocationCode
from licensesvc.domain.errors import NotConfigured, NotFound
from licensesvc.models import IssuedKey, RevocationListCopy
from licensesvc.platform.context import ServiceContext
from licensesvc.platform.transactions import SHARED_ROWS, at_commit, defer_update

from .signing import active_record, active_signer, published_keys

#: the id of the one stored list
ROW_ID = 1


@dataclass(frozen=True)
class StoredList:
    """A signed list as stored: its text, its ETag (quoted, strong) and its validity."""

    text: str
    etag: str
    generation: int
    issued_at: datetime
    next_update: datetime


def build(ctx: ServiceContext, sequence: int = 0) -> keys.RevocationList:
    """The list as the database says now: revoked keys with their code, and superseded keys
    with the end of their overlap (installers refuse those once it has passed). Keys past their
    own expiry drop off. Valid until now + policy.revocation_list_days; numbered `sequence`
    (installers with an anchor refuse a list numbered below one they have seen)."""
    now = ctx.now()
    # only the columns an entry needs, and no key past its own expiry (RevocationList leaves
    # those out anyway): the list is signed from these rows without building ORM objects
    rows = ctx.session.execute(
        select(
            IssuedKey.serial,
            IssuedKey.status,
            IssuedKey.revoked_at,
            IssuedKey.revocation_code,
            IssuedKey.usable_until,
            IssuedKey.expires_at,
        )
        .where(
            IssuedKey.status.in_((KeyStatus.REVOKED, KeyStatus.SUPERSEDED)),
            IssuedKey.expires_at.is_(None) | (IssuedKey.expires_at >= now - keys.CLOCK_SKEW),
        )
        .order_by(IssuedKey.serial)
    )
    entries = []
    for key in rows:
        if key.status == KeyStatus.REVOKED:
            entries.append(
                keys.RevokedEntry(
                    key.serial,
                    KeyStatus.REVOKED.value,
                    key.revoked_at or now,
                    key.revocation_code or RevocationCode.KEY_COMPROMISE.value,
                    key_expires_at=key.expires_at,
                )
            )
        elif key.usable_until is not None:
            entries.append(
                keys.RevokedEntry(
                    key.serial,
                    KeyStatus.SUPERSEDED.value,
                    key.usable_until,
                    RevocationCode.SUPERSEDED.value,
                    key_expires_at=key.expires_at,
                )
            )
    return keys.RevocationList(
        issued_at=now,
        next_update=now + timedelta(days=ctx.policy.revocation_list_days),
        entries=entries,
        sequence=sequence,
    )


def _row(ctx: ServiceContext, *, lock: bool) -> RevocationListCopy:
    query = select(RevocationListCopy).where(RevocationListCopy.id == ROW_ID)
    if lock:
        query = query.with_for_update()
    row = ctx.session.scalar(query)
    if row is None:  # a schema made without migration 0007's row
        row = RevocationListCopy(id=ROW_ID, generation=0)
        ctx.session.add(row)
        ctx.session.flush()
    return row


def _stored(row: RevocationListCopy) -> StoredList | None:
    if row.signed_text is None or row.issued_at is None or row.next_update is None:
        return None
    digest = hashlib.sha256(row.signed_text.encode()).hexdigest()[:20]
    return StoredList(
        row.signed_text,
        f'"{row.generation}-{digest}"',
        row.generation,
        row.issued_at,
        row.next_update,
    )


def _fresh(ctx: ServiceContext, row: RevocationListCopy) -> bool:
    if row.signed_text is None or row.issued_at is None or row.next_update is None:
        return False
    try:
        kid = active_record(ctx).kid
    except NotFound:
        return True  # nothing could sign a newer one; keep serving what there is
    refresh_at = row.issued_at + (row.next_update - row.issued_at) / 2
    return row.kid == kid and ctx.now() < refresh_at


def mark_outdated(ctx: ServiceContext) -> None:
    """Clear the stored list (call in the transaction that superseded a key; the caller
    commits): the next reader signs it afresh (`current` finds nothing, `current_or_rebuild`
    rebuilds), so a burst of key requests does not sign the whole list once per key. The list's
    row is every customer's, so its one short UPDATE waits for the commit, after the
    transaction's own rows (licensesvc/platform/transactions.py: `defer_update` at SHARED_ROWS;
    on PostgreSQL in the one statement of the deferred writes) and its lock is held for the
    commit only. Once per transaction."""
    marked = at_commit(ctx.session, _MARKED, SHARED_ROWS, _nothing, tables=())
    if marked:
        return
    marked.append(True)
    with _served_lock:
        _served.clear()
    defer_update(
        ctx.session,
        _LISTS,
        {"id": ROW_ID},
        {"signed_text": None, "generation": _NEXT_GENERATION},
        step=SHARED_ROWS,
    )


_MARKED = "revocation_lists.mark_outdated"
_LISTS = RevocationListCopy.__table__
_NEXT_GENERATION = RevocationListCopy.generation + 1


def _nothing(_session: Session, _gathered: list[Any]) -> None:
    """What the mark itself does at commit: nothing (the UPDATE is a deferred write)."""


def rebuild(ctx: ServiceContext) -> StoredList | None:
    """Sign the list as the database says now and store it (call in the transaction that
    changed a revocation or supersession; the caller commits). Returns the stored list, or
    None when there is no active signing key (the stored copy is then cleared, and readers get
    NotConfigured)."""
    row = _row(ctx, lock=True)
    with _served_lock:
        _served.clear()
    try:
        signer_rec = active_record(ctx)
    except NotFound:
        row.signed_text = None
        row.generation += 1
        ctx.session.flush()
        return None
    # the list's sequence is its generation: raised under the row's lock at every signing and
    # every clearing, so a later list always carries a higher number (spec section 8)
    row.generation += 1
    rl = build(ctx, sequence=row.generation)
    row.signed_text = keys.sign_revocation_list(rl, active_signer(ctx))
    row.kid = signer_rec.kid
    row.issued_at = rl.issued_at
    row.next_update = rl.next_update
    ctx.session.flush()
    return _stored(row)


#: the stored list's state, without its text: what every GET reads
_STATE = select(
    RevocationListCopy.generation,
    RevocationListCopy.kid,
    RevocationListCopy.issued_at,
    RevocationListCopy.next_update,
).where(RevocationListCopy.id == ROW_ID)
_TEXT = select(RevocationListCopy.signed_text).where(
    RevocationListCopy.id == ROW_ID, RevocationListCopy.generation == bindparam("generation")
)

#: per process and database, the last list served: (generation, kid, issued_at) → StoredList;
#: a GET then reads four small columns, not the text (megabytes at 100,000 entries) and its
#: digest
_served: dict[Any, tuple[tuple[Any, ...], StoredList]] = {}
_served_lock = threading.Lock()


def current(ctx: ServiceContext) -> StoredList | None:
    """The stored list if it may be served as it is; None when it must be rebuilt first
    (missing, signed by a retired key, or past the middle of its validity). Writes nothing."""
    state = ctx.session.execute(_STATE).first()
    if state is None or state.issued_at is None or state.next_update is None:
        return None
    active_kid = published_keys(ctx).active_kid
    refresh_at = state.issued_at + (state.next_update - state.issued_at) / 2
    if active_kid is not None and (state.kid != active_kid or ctx.now() >= refresh_at):
        return None
    where = ctx.session.get_bind().engine.url
    version = (state.generation, state.kid, state.issued_at)
    with _served_lock:
        held = _served.get(where)
    if held is not None and held[0] == version:
        return held[1]
    text = ctx.session.scalar(_TEXT, {"generation": state.generation})
    if text is None:  # rebuilt since the first read, or never signed
        return None
    digest = hashlib.sha256(text.encode()).hexdigest()[:20]
    stored = StoredList(
        text, f'"{state.generation}-{digest}"', state.generation, state.issued_at, state.next_update
    )
    with _served_lock:
        _served[where] = (version, stored)
    return stored


def current_or_rebuild(ctx: ServiceContext) -> StoredList:
    """The stored list, rebuilt first when it must be (the caller commits). Raises
    NotConfigured when there is no active signing key and nothing stored."""
    row = _row(ctx, lock=True)
    if not _fresh(ctx, row):
        rebuilt = rebuild(ctx)
        if rebuilt is not None:
            return rebuilt
    stored = _stored(row)
    if stored is None:
        raise NotConfigured(
            "no active signing key; an analyst runs `licensesvc signing-key generate` first"
        )
    return stored
