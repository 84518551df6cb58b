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

A snapshot that depends on one kind of record only (the token check: API tokens) need not be
dropped by every change of state: `state_of(topic)` is a stamp that moves only with the audit
records of that entity type (`audit_records.entity_type`). When the head moves, the poll reads
the entity types of the records between the old head and the new one (a range of the primary
key, in the same poll), and bumps the generation of each; a range it cannot account for (the
head went back, the record it knew changed, too long a stretch) bumps every topic. A change of
that kind committed by this process moves the topic's stamp at once when its service says so
(`changed_here(session, topic)`); the same loss and epochs as `state()` apply.
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

from sqlalchemy import Connection, Engine, bindparam, exists, select, text
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
#: the entity types of the records of a stretch (a range of the primary key), read only while
#: the record the feed last knew as the head is still there with the same hash (the stretch
#: holds the new head, so an empty answer means: that record is gone or other)
_KNOWN = _AUDIT.alias("known")
_TOPICS = (
    select(_AUDIT.c.entity_type)
    .where(
        _AUDIT.c.id > bindparam("known_id"),
        _AUDIT.c.id <= bindparam("head_id"),
        exists().where(
            _KNOWN.c.id == bindparam("known_id"), _KNOWN.c.hash == bindparam("known_hash")
        ),
    )
    .group_by(_AUDIT.c.entity_type)
)

#: the longest stretch of new records whose entity types one poll reads; beyond it every
#: topic counts as changed (a feed that was lost starts a new epoch anyway)
TOPIC_RANGE = 50_000

#: bumped after every commit of this process that appended to the trail
_local_changes = itertools.count(1)
_local_generation = 0
#: per topic: bumped after a commit of this process that changed records of that topic
_local_topics: dict[str, int] = {}
_local_lock = threading.Lock()


def _bump_local() -> None:
    global _local_generation
    with _local_lock:
        _local_generation = next(_local_changes)


def _bump_local_topic(topic: str) -> None:
    with _local_lock:
        _local_topics[topic] = next(_local_changes)


def changed_here(session: Any, topic: str | None = None) -> None:
    """Session's transaction appended to the audit trail: once it commits, every stamp this
    process took before is stale (called by platform/audit.py). With `topic` (an entity
    type), the service that changed records of that kind says so: once it commits, this
    process's `state_of(topic)` stamps taken before are stale."""
    if topic is None:
        after_commit(session, _bump_local)
    else:
        after_commit(session, lambda: _bump_local_topic(topic))


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
        #: per topic (an audit entity type): bumped by each poll that saw records of it
        self._topics: dict[str, int] = {}
        #: bumped by each poll that could not tell which topics changed
        self._all_topics = 0
        #: one poll at a time (the thread's, a first request's, a test's)
        self._poll_lock = threading.Lock()
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

    def state_of(self, topic: str) -> Hashable | None:
        """The stamp of what depends only on the records of one entity type (`topic`, as
        audit.append names it): it moves within MAX_AGE when such a record is committed
        anywhere, at once when this process commits one and says so (`changed_here(session,
        topic)`), and with every epoch; None when the feed is lost (read the database)."""
        self._ensure_running()
        if time.monotonic() - self._good_at > MAX_AGE:
            if self._up:
                self._set_up(False)
            return None
        return (
            self._epoch,
            self._all_topics,
            self._topics.get(topic, 0),
            _local_topics.get(topic, 0),
        )

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
        with self._poll_lock:
            return self._poll_locked(engine)

    def _poll_locked(self, engine: Engine) -> bool:
        started = time.monotonic()
        known = self._head
        try:
            with engine.connect() as conn:
                # a read: on SQLite it must not take the write lock (licensesvc.db)
                conn.execution_options(**{READ_ONLY_OPTION: True})
                if self._postgresql:
                    conn.execute(text(f"SET LOCAL statement_timeout = {READ_TIMEOUT_MS}"))
                row = conn.execute(_HEAD).first()
                head = None if row is None else (int(row[0]), str(row[1]))
                topics = self._topics_between(conn, known, head)
                conn.rollback()
        except Exception:  # noqa: BLE001 - any failure means: the feed is lost for now
            return True
        with self._lock:
            if started < self._good_at:
                return True  # a later read has already landed
            if not self.up and self._good_at:
                self._epoch += 1  # back after a loss: what happened meanwhile is unknown
            if topics is None:
                self._all_topics += 1
            else:
                for topic in topics:
                    self._topics[topic] = self._topics.get(topic, 0) + 1
            self._head = head
            self._good_at = started
        if not self._up:
            self._set_up(True)
        return True

    @staticmethod
    def _topics_between(
        conn: Connection, known: tuple[int, str] | None, head: tuple[int, str] | None
    ) -> set[str] | None:
        """The entity types of the records after `known` up to `head` (none when the head
        has not moved), or None when the stretch cannot be accounted for: the trail was empty
        or went back, the record `known` names is not the one read before, or the stretch is
        longer than TOPIC_RANGE."""
        if head == known:
            return set()
        if known is None or head is None or not 0 < head[0] - known[0] <= TOPIC_RANGE:
            return None
        rows = conn.execute(
            _TOPICS, {"known_id": known[0], "known_hash": known[1], "head_id": head[0]}
        ).all()
        if not rows:
            return None  # the record read before is gone or other: the trail was replaced
        return {str(r[0]) for r in rows}

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
    """The change feed of engine's database in this process (started on first use): one per
    engine, whatever execution options a session's bind adds to it (the read-only sessions'
    bind is the same engine with an option; its feed is the engine's)."""
    base: Engine = getattr(engine, "_proxied", engine)  # an OptionEngine's own engine
    feed = _FEEDS.get(base)
    if feed is None:
        with _FEEDS_LOCK:
            feed = _FEEDS.get(base)
            if feed is None:
                feed = _FEEDS[base] = ChangeFeed(base)
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


def topic_stamp(session: Session, topic: str) -> Hashable:
    """What a per-process cache of one entity type's records (`topic`) stamps a value read on
    session with, read BEFORE the value, on a session whose transaction has not begun (it has
    read and written nothing yet: a request's session when its token is checked): the change
    feed's `state_of(topic)` while the feed is current (no statement), else the audit head
    read on session.

    Why the feed's state is as good a stamp there as the head read on the session: the value
    is read after the stamp, in a transaction that begins after it, so it is at least as new
    as every change the stamp accounts for; a change of the topic committed anywhere later
    moves the stamp within MAX_AGE (the poll that reads its record), one committed by this
    process at once (its service calls `changed_here(session, topic)`), so a value kept under
    the stamp is served at most MAX_AGE after such a change. The session's own transaction
    holds nothing the feed cannot know, since it has not begun; a session that has begun one
    (it may have written) or is bound to a connection of its own (feed_of: a transaction held
    around it) reads the head instead, and so does every caller while the feed is lost."""
    feed = None if session.in_transaction() else feed_of(session)
    if feed is not None:
        state = feed.state_of(topic)
        if state is not None:
            return ("topic", topic, state)
    head: AuditHead = audit_head(session)
    return head
