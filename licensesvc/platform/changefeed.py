"""The change feed: how one process learns, within a second, that another process of any app
server has changed data it keeps in memory.

Every change of state appends its audit record in the same transaction (platform/audit.py), so
the trail's newest record (its head: id and hash) names the state of all the data. A thread
of each process reads the head every `INTERVAL` seconds on a connection of its own (a read of
one row by the primary key's index, with a short statement timeout); what a process keeps in
memory is stamped with the feed's state when it was read from the database and served only
while that state is current:

* a change committed anywhere moves the head, and the next read (at most `INTERVAL` later)
  makes every older stamp stale;
* a change committed by this process makes its own stamps stale at once (`changed_here`,
  called after the commit), so a process never serves what it has itself just changed;
* a feed that cannot read the head (database unreachable, the trail locked, the thread
  stalled) is *lost* once its last good read started more than `MAX_AGE` ago: `state()` then
  answers None and callers read the database instead of their snapshot. Its recovery starts
  a new epoch, which stales every stamp taken before the loss (what happened meanwhile is
  unknown). The feed's health is told to the metrics sinks (`licensesvc_change_feed_lost`).

So a change is served stale for at most `MAX_AGE` (0.6 s) after its commit, on any server.
PostgreSQL's LISTEN/NOTIFY would cut the delay below the interval; a poll of one indexed row
four or five times a second per process costs nothing measurable, works on SQLite too, and
loses nothing while a connection is re-established (the head carries all that happened)."""

from __future__ import annotations

import itertools
import os
import threading
import time
import weakref
from collections.abc import Hashable
from typing import Any

from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session

from licensesvc.models import AuditRecord

from . import metrics
from .freshness import AuditHead, FreshnessCache, audit_head
from .transactions import after_commit

#: seconds between two reads of the head
INTERVAL = 0.2
#: a feed whose last good read started longer ago than this is lost (so: at most this stale)
MAX_AGE = 0.6
#: how long one read of the head may take on PostgreSQL (milliseconds)
READ_TIMEOUT_MS = 400
#: the execution option of the sessions that only read: licensesvc.db.READ_ONLY (the platform
#: may not import licensesvc.db; a test keeps the two equal)
READ_ONLY_OPTION = "licensesvc_read_only"

_AUDIT = AuditRecord.__table__
_HEAD = select(_AUDIT.c.id, _AUDIT.c.hash).order_by(_AUDIT.c.id.desc()).limit(1)

#: bumped after every commit of this process that appended to the trail
_local_changes = itertools.count(1)
_local_generation = 0
_local_lock = threading.Lock()


def _bump_local() -> None:
    global _local_generation
    with _local_lock:
        _local_generation = next(_local_changes)


def changed_here(session: Any) -> None:
    """Session's transaction appended to the audit trail: once it commits, every stamp this
    process took before is stale (called by platform/audit.py)."""
    after_commit(session, _bump_local)


class ChangeFeed:
    """The feed of one database (engine) in one process: the head as its thread last read
    it, and the snapshots kept under its stamps."""

    def __init__(self, engine: Engine) -> None:
        self._engine = weakref.ref(engine)
        self._postgresql = engine.dialect.name == "postgresql"
        self._lock = threading.Lock()
        self._head: tuple[int, str] | None = None
        self._epoch = 0
        #: monotonic time the last good read started (0: none yet)
        self._good_at = 0.0
        self._up = False
        self._pid = 0
        self._thread: threading.Thread | None = None
        #: snapshots by name, e.g. verify's key status by the hash of the key text
        self._snapshots: dict[str, FreshnessCache[Any]] = {}

    # -- what callers use ---------------------------------------------------------------------

    def state(self) -> Hashable | None:
        """The stamp to keep a value read from the database now under (read it BEFORE the
        read), or None when the feed is lost (read the database, keep nothing)."""
        self._ensure_running()
        if time.monotonic() - self._good_at > MAX_AGE:
            if self._up:
                self._set_up(False)
            return None
        return (self._epoch, self._head, _local_generation)

    def snapshot(self, name: str, size: int = 50_000) -> FreshnessCache[Any]:
        """The named snapshot of this feed (made on first use): a FreshnessCache to be used
        with `state()` as the stamp."""
        cache = self._snapshots.get(name)
        if cache is None:
            with self._lock:
                cache = self._snapshots.setdefault(name, FreshnessCache(size))
        return cache

    @property
    def up(self) -> bool:
        return time.monotonic() - self._good_at <= MAX_AGE

    def read_now(self) -> None:
        """Read the head once now, in the caller's thread (tests, and the first request)."""
        self._poll()

    # -- the thread ---------------------------------------------------------------------------

    def _ensure_running(self) -> None:
        if self._pid == os.getpid() and self._thread is not None and self._thread.is_alive():
            return
        with self._lock:
            if self._pid == os.getpid() and self._thread is not None and self._thread.is_alive():
                return
            self._pid = os.getpid()  # a forked worker starts its own thread
            self._good_at = 0.0
            self._epoch += 1
            thread = threading.Thread(
                target=_run, args=(weakref.ref(self),), name="licensesvc-change-feed", daemon=True
            )
            self._thread = thread
            thread.start()
        self._poll()  # the first request need not wait a whole interval

    def _poll(self) -> bool:
        engine = self._engine()
        if engine is None:
            return False
        started = time.monotonic()
        try:
            with engine.connect() as conn:
                if self._postgresql:
                    conn.execute(text(f"SET LOCAL statement_timeout = {READ_TIMEOUT_MS}"))
                row = conn.execute(_HEAD).first()
                conn.rollback()
        except Exception:  # noqa: BLE001 - any failure means: the feed is lost for now
            return True
        head = None if row is None else (int(row[0]), str(row[1]))
        with self._lock:
            if started < self._good_at:
                return True  # a later read has already landed
            if not self.up and self._good_at:
                self._epoch += 1  # back after a loss: what happened meanwhile is unknown
            self._head = head
            self._good_at = started
        if not self._up:
            self._set_up(True)
        return True

    def _set_up(self, up: bool) -> None:
        self._up = up
        metrics.tell(metrics.CHANGE_FEED_UP if up else metrics.CHANGE_FEED_DOWN)


def _run(ref: weakref.ref[ChangeFeed]) -> None:
    pid = os.getpid()
    while True:
        time.sleep(INTERVAL)
        feed = ref()
        if feed is None or feed._pid != pid:  # the feed is gone, or this is a stale fork
            return
        alive = feed._poll()
        feed.state()  # tells the metric when the feed has just been lost
        del feed
        if not alive:
            return


_FEEDS: weakref.WeakKeyDictionary[Engine, ChangeFeed] = weakref.WeakKeyDictionary()
_FEEDS_LOCK = threading.Lock()


def feed_for(engine: Engine) -> ChangeFeed:
    """The change feed of engine's database in this process (started on first use)."""
    feed = _FEEDS.get(engine)
    if feed is None:
        with _FEEDS_LOCK:
            feed = _FEEDS.get(engine)
            if feed is None:
                feed = _FEEDS[engine] = ChangeFeed(engine)
    return feed


def feed_of(session: Session) -> ChangeFeed | None:
    """The change feed of session's database, or None when session is bound to a connection
    of its own (the caller holds a transaction around it, as the tests do): the feed reads
    what is committed on other connections, which that transaction's data is not, so such a
    session reads the database every time."""
    bind = session.get_bind()
    if not isinstance(bind, Engine):
        return None
    return feed_for(bind)


def reading_feed(session: Session) -> ChangeFeed | None:
    """The change feed of session's database when session only reads (a GET's session, made
    with licensesvc.db's read-only option), else None: a session that may have written in
    its transaction must stamp what it renders with the head it reads itself."""
    bind = session.get_bind()
    if not isinstance(bind, Engine) or not bind.get_execution_options().get(READ_ONLY_OPTION):
        return None
    return feed_for(bind)


def head_stamp(session: Session) -> Hashable:
    """What a per-process cache stamps a value read on session with, read BEFORE the value:
    the change feed's state on a reading session while the feed is current (no statement),
    else the audit head read on session (platform/freshness.py). Either moves with every
    change of state: at once on this process, within MAX_AGE on every other."""
    feed = reading_feed(session)
    if feed is not None:
        state = feed.state()
        if state is not None:
            return ("feed", state)
    head: AuditHead = audit_head(session)
    return head
