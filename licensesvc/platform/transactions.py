"""Row locks in one fixed order, and a bounded retry of a unit of work that lost a lock race.

Lock order (every decision takes the locks it needs in this order, so two decisions can wait
for each other's rows but never deadlock):

1. the idempotency key of the request (`pg_try_advisory_xact_lock`: never waits; a duplicate
   in flight answers 409 `idempotency_in_progress`), when the API call carries one;
2. the customer's row (`lock_customer`): serializes every decision for one customer;
3. the case row (`lock_case` in key_requests.py), then key rows (`lock_key`, and the license's
   active primary key before a grant supersedes it), then quota slots;
4. rows every customer's decisions share: the stored revocation list's one row
   (`revocation_lists.mark_outdated` defers its UPDATE to commit, `rebuild` locks it where it
   runs);
5. the audit chain's global advisory lock, taken at commit (`audit.append` gathers the
   transaction's records and they are chained on just before COMMIT), and so always last.

Steps 4 and 5 are shared by every customer, so what takes them waits until commit
(`at_commit`): two customers' decisions overlap everything but those last statements. A
statement of the same session that reads a table a deferred step writes (the trail, the stored
list) runs the deferred steps up to that one first, so a transaction still reads its own
writes.

PostgreSQL takes `SELECT ... FOR UPDATE` row locks; SQLite ignores FOR UPDATE (its writers
begin IMMEDIATE, one at a time), so there the order holds trivially. A decision re-reads the
row it changes after taking its lock (`populate_existing`), so the state it checks is the
state it changes.

`unit_of_work` runs a unit of work and commits it once; it runs it again (after a rollback)
when PostgreSQL reports a deadlock, a serialization failure or a lock timeout, so a retried
attempt starts from a clean session. Every front end runs its writing work through it: the
API's writing views, the portal's forms and the CLI's commands. The work itself never commits:
a refused key request is a value the work returns, committed with everything else."""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy import event, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import ORMExecuteState, Session, SessionTransaction
from sqlalchemy.sql.base import ExecutableOption
from sqlalchemy.sql.elements import ClauseElement, TextClause
from sqlalchemy.sql.util import find_tables

from licensesvc.models import Customer
from licensesvc.platform.context import ServiceContext

T = TypeVar("T")

#: serialization_failure, deadlock_detected, lock_not_available (lock_timeout)
RETRYABLE_SQLSTATES = frozenset({"40001", "40P01", "55P03"})
#: attempts of one unit of work, the first included
DEFAULT_ATTEMPTS = 3


def lock_customer(
    ctx: ServiceContext, customer_id: int, *loads: ExecutableOption
) -> Customer | None:
    """Step 2 of the lock order: the customer's row, held to commit. Returns the customer as it
    stands under the lock (None for an unknown id), so the caller need not read it again;
    `loads` (joined eager loads) read what hangs off it in the same statement, unlocked (the
    lock is taken on the customer's row only: `FOR UPDATE OF customers`)."""
    return (
        ctx.session.scalars(
            select(Customer)
            .where(Customer.id == customer_id)
            .options(*loads)
            .with_for_update(of=Customer)
            .execution_options(populate_existing=True)
        )
        .unique()
        .first()
    )


#: lock-order steps of the work `at_commit` defers
SHARED_ROWS = 4
AUDIT_CHAIN = 5

_DEFERRED = "licensesvc_at_commit"
_RUNNING = "licensesvc_at_commit_running"
_AFTER_COMMIT = "licensesvc_after_commit"
_HOOKED = "licensesvc_commit_hooked"


@dataclass
class _Deferred:
    step: int
    work: Callable[[Session, list[Any]], None]
    tables: frozenset[str]
    gathered: list[Any] = field(default_factory=list)


def at_commit(
    session: Session,
    key: str,
    step: int,
    work: Callable[[Session, list[Any]], None],
    *,
    tables: Collection[str],
) -> list[Any]:
    """Have work(session, gathered) run once just before the session's transaction commits
    (after the transaction's other changes are flushed), in lock-order `step` (SHARED_ROWS,
    then AUDIT_CHAIN), or earlier when a statement of this transaction reads one of `tables`
    (by name). Registering `key` again in the same transaction adds no second run. Returns
    `gathered`, the list kept with the work for this transaction (append what it writes). A
    rollback drops what was deferred (a savepoint's rollback does not: defer nothing inside
    `begin_nested`)."""
    _hook(session)
    deferred: dict[str, _Deferred] = session.info.setdefault(_DEFERRED, {})
    item = deferred.get(key)
    if item is None:
        item = deferred[key] = _Deferred(step, work, frozenset(tables))
    return item.gathered


def run_deferred(session: Session, *, up_to: int | None = None) -> None:
    """Run the work `at_commit` deferred (in step order; with `up_to`, the steps up to that
    one only) now. The commit calls this; so does a read of a deferred table."""
    deferred: dict[str, _Deferred] | None = session.info.get(_DEFERRED)
    if not deferred or session.info.get(_RUNNING):
        return
    due = sorted(
        (item for item in deferred.items() if up_to is None or item[1].step <= up_to),
        key=lambda item: item[1].step,
    )
    session.info[_RUNNING] = True
    try:
        for key, item in due:
            del deferred[key]
            item.work(session, item.gathered)
    finally:
        session.info[_RUNNING] = False


def after_commit(session: Session, work: Callable[[], None]) -> None:
    """Have work() run once the session's transaction has committed, and never if it rolls
    back: what only a committed change may cause (a metric counted). work runs no SQL."""
    _hook(session)
    session.info.setdefault(_AFTER_COMMIT, []).append(work)


def _hook(session: Session) -> None:
    """Hook this session's commit to the work deferred to it (once per session): the service
    that defers work (`at_commit`, `after_commit`) says so, on its own session only."""
    if session.info.get(_HOOKED):
        return
    session.info[_HOOKED] = True
    event.listen(session, "before_commit", _before_commit)
    event.listen(session, "after_commit", _after_commit)
    event.listen(session, "after_transaction_end", _after_transaction_end)
    event.listen(session, "do_orm_execute", _before_execute)


def _before_commit(session: Session) -> None:
    if session.in_nested_transaction() or not session.info.get(_DEFERRED):
        return
    session.flush()  # the transaction's own changes first, before the shared locks
    run_deferred(session)


def _after_commit(session: Session) -> None:
    for work in session.info.pop(_AFTER_COMMIT, []):
        work()


def _after_transaction_end(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:
        session.info.pop(_DEFERRED, None)
        session.info.pop(_AFTER_COMMIT, None)  # rolled back: nothing of it happened


def _before_execute(state: ORMExecuteState) -> None:
    deferred: dict[str, _Deferred] | None = state.session.info.get(_DEFERRED)
    if not deferred or state.session.info.get(_RUNNING):
        return
    statement = state.statement
    if isinstance(statement, TextClause):  # SQL text: the tables it names
        steps = [i.step for i in deferred.values() if any(t in statement.text for t in i.tables)]
    else:
        assert isinstance(statement, ClauseElement)
        read = {t.name for t in find_tables(statement, include_crud=True, include_aliases=True)}
        steps = [item.step for item in deferred.values() if item.tables & read]
    if steps:
        run_deferred(state.session, up_to=max(steps))


def is_retryable(exc: BaseException) -> bool:
    """Whether exc is a lost lock race worth running the unit of work again for."""
    if isinstance(exc, DBAPIError) and exc.orig is not None:
        return is_retryable(exc.orig)
    return str(getattr(exc, "sqlstate", None) or "") in RETRYABLE_SQLSTATES


def retrying(
    session: Session,
    work: Callable[[], T],
    *,
    attempts: int = DEFAULT_ATTEMPTS,
    pause: float = 0.05,
) -> T:
    """Return work() (which commits), running it again up to `attempts` times in all after a
    deadlock, serialization failure or lock timeout; the session is rolled back before each
    new attempt. Any other error, or the last attempt's, propagates unchanged."""
    for attempt in range(1, attempts + 1):
        try:
            return work()
        except DBAPIError as exc:
            if attempt == attempts or not is_retryable(exc):
                raise
            session.rollback()
            time.sleep(pause * attempt * (1 + random.random()))
    raise AssertionError("unreachable")  # pragma: no cover


def unit_of_work(
    session: Session,
    work: Callable[[], T],
    *,
    attempts: int = DEFAULT_ATTEMPTS,
    pause: float = 0.05,
) -> T:
    """Return work()'s result once the session has committed it: one commit after work
    returns. After a deadlock, serialization failure or lock timeout (in the work or the
    commit) the session is rolled back and work runs again, `attempts` times in all; any
    other error, or the last attempt's, rolls back and propagates unchanged."""

    def attempt() -> T:
        try:
            result = work()
            session.commit()
        except BaseException:
            session.rollback()
            raise
        return result

    return retrying(session, attempt, attempts=attempts, pause=pause)
