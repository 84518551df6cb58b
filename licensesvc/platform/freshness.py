"""Per-process caches of read models, kept fresh by the audit trail.

Every change of state appends its audit record in the same transaction (platform/audit.py), so
while the newest record (the head) stays the same, so does the data, on every process of every
server; the clock's whole second bounds what time alone changes (a window opening, a key
expiring, a quota freeing) to under a second, about the latency of a request. An entry is
stamped with the head and the second it was rendered at and serves only requests that find the
same stamp."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from datetime import datetime
from typing import Generic, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from licensesvc.models import AuditRecord

T = TypeVar("T")

#: the newest audit record's id and hash, or None while the trail is empty
AuditHead = tuple[int, str] | None

_AUDIT = AuditRecord.__table__
#: built once, on the table (Core: no ORM entity to load, a third of the ORM's cost): the
#: newest record by the primary key's index, as audit.append finds it
_HEAD = select(_AUDIT.c.id, _AUDIT.c.hash).order_by(_AUDIT.c.id.desc()).limit(1)


_HEAD_READ = "licensesvc_audit_head"


def audit_head(session: Session) -> AuditHead:
    """Return the id and hash of the newest audit record, or None for an empty trail (one row
    read by the primary key's index; read once per transaction of session until the trail
    grows in it: the token check and the view of one request share it). The hash too, not the
    id alone: the id of an append that was rolled back is given again to the next record
    (audit.append numbers a record after the head), so an id could name two states that a
    transaction's own reads had seen."""
    transaction = session.get_transaction()
    held = session.info.get(_HEAD_READ)
    if held is not None and transaction is not None and held[0] is transaction:
        head: AuditHead = held[1]
        return head
    row = session.connection().execute(_HEAD).first()
    head = None if row is None else (row[0], row[1])
    session.info[_HEAD_READ] = (session.get_transaction(), head)
    return head


def forget_head(session: Session) -> None:
    """The trail grew in session's transaction (platform/audit.py chains records on): the
    head it read is an old one. A new transaction reads the head anew by itself."""
    session.info.pop(_HEAD_READ, None)


def freshness_stamp(session: Session, now: datetime) -> tuple[AuditHead, datetime]:
    """What a read model rendered now depends on besides its key: the audit head and the whole
    second. Read it before the read model's own queries, so that what is rendered is at least
    as new as the stamp it is kept under."""
    return audit_head(session), now.replace(microsecond=0)


class FreshnessCache(Generic[T]):
    """A bounded, thread-safe map from a key to the value last rendered for it and the stamp it
    was rendered at. A lookup with another stamp renders again and replaces the entry, so a
    stale entry is dropped by the next lookup of its key; the least recently used keys beyond
    `size` are dropped too."""

    def __init__(self, size: int = 4096) -> None:
        self.size = size
        self._entries: OrderedDict[Hashable, tuple[Hashable, T]] = OrderedDict()
        self._lock = threading.Lock()

    def fetch(self, key: Hashable, stamp: Hashable, render: Callable[[], T]) -> T:
        """Return the value kept for key at stamp, or render it (outside the lock: two threads
        may both render a missing entry; the last one is kept) and keep it. What render raises
        is raised and nothing is kept."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None and entry[0] == stamp:
                self._entries.move_to_end(key)
                return entry[1]
        value = render()
        self.put(key, stamp, value)
        return value

    def get(self, key: Hashable, stamp: Hashable) -> T | None:
        """The value kept for key at stamp, or None."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is None or entry[0] != stamp:
                return None
            self._entries.move_to_end(key)
            return entry[1]

    def put(self, key: Hashable, stamp: Hashable, value: T) -> None:
        """Keep value for key at stamp (dropping the least recently used beyond `size`)."""
        with self._lock:
            self._entries[key] = (stamp, value)
            self._entries.move_to_end(key)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)

    def __len__(self) -> int:
        return len(self._entries)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
