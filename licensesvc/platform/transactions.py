"""Row locks in one fixed order, and a bounded retry of a unit of work that lost a lock race.

Lock order (every decision takes the locks it needs in this order, so two decisions can wait
for each other's rows but never deadlock):

1. the idempotency key of the request (`pg_try_advisory_xact_lock`: never waits; a duplicate
   in flight answers 409 `idempotency_in_progress`), when the API call carries one;
2. the customer's row (`lock_customer`): serializes every decision for one customer;
3. the case row (`lock_case` in key_requests.py), then key rows (`lock_key`, and the license's
   active primary key before a grant supersedes it), then quota slots; the transaction's own
   new and changed rows written at commit (`defer_insert`, `defer_update`: OWN_ROWS) come
   here too: the rows they change are locked already;
4. rows every customer's decisions share: the stored revocation list's one row
   (`revocation_lists.mark_outdated` defers its UPDATE to commit, `rebuild` locks it where it
   runs);
5. the audit chain's global advisory lock, taken at commit (`audit.append` gathers the
   transaction's records and they are chained on just before COMMIT), and so always last.

Steps 4 and 5 are shared by every customer, so what takes them waits until commit
(`at_commit`): two customers' decisions overlap everything but those last statements. On
PostgreSQL the deferred writes of steps 3 and 4 and the audit chain's append are one
statement (`defer_insert`: data-modifying CTEs run in order, the chain's function last). A
statement of the same session that reads a table a deferred step writes (the trail, the stored
list, a deferred row's table) runs the deferred steps up to that one first, so a transaction
still reads its own writes.

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

from sqlalchemy import (
    CTE,
    Column,
    FromClause,
    Select,
    Table,
    bindparam,
    cast,
    event,
    func,
    inspect,
    literal,
    literal_column,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import ORMExecuteState, Session, SessionTransaction, make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.sql.base import ExecutableOption
from sqlalchemy.sql.elements import ClauseElement, ColumnElement, TextClause
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


#: lock-order steps of the work `at_commit` defers: the transaction's own rows written at
#: commit (`defer_insert`, `defer_update`), the rows every customer shares, the audit chain
OWN_ROWS = 3
SHARED_ROWS = 4
AUDIT_CHAIN = 5

_DEFERRED = "licensesvc_at_commit"
_RUNNING = "licensesvc_at_commit_running"
_AFTER_COMMIT = "licensesvc_after_commit"
_HOOKED = "licensesvc_commit_hooked"


#: PostgreSQL: how deferred work is done as the last column of the one statement that makes the
#: transaction's deferred writes (`TailCall`: given a scalar known only once they all ran)
Tail = Callable[[Session, list[Any]], "TailCall"]


@dataclass
class _Deferred:
    step: int
    work: Callable[[Session, list[Any]], None]
    tables: frozenset[str]
    gathered: list[Any] = field(default_factory=list)
    tail: Tail | None = None


def at_commit(
    session: Session,
    key: str,
    step: int,
    work: Callable[[Session, list[Any]], None],
    *,
    tables: Collection[str],
    tail: Tail | None = None,
) -> list[Any]:
    """Have work(session, gathered) run once just before the session's transaction commits
    (after the transaction's other changes are flushed), in lock-order `step` (SHARED_ROWS,
    then AUDIT_CHAIN), or earlier when a statement of this transaction reads one of `tables`
    (by name). Registering `key` again in the same transaction adds no second run. Returns
    `gathered`, the list kept with the work for this transaction (append what it writes). A
    rollback drops what was deferred; a savepoint's rollback (`begin_nested`) what was deferred
    inside it, if it has not run yet. `tail` (PostgreSQL): the same work as the last column of
    the statement that makes the transaction's deferred writes (`defer_insert`), so both take
    one round trip."""
    _hook(session)
    deferred: dict[str, _Deferred] = session.info.setdefault(_DEFERRED, {})
    item = deferred.get(key)
    if item is None:
        item = deferred[key] = _Deferred(step, work, frozenset(tables), tail=tail)
    return item.gathered


_WRITES = "platform.writes"


@dataclass
class _Write:
    step: int
    table: Table
    #: an INSERT of this row (column name → value); else an UPDATE of the rows `where` (column
    #: name → value) to `values` (column name → value, or a SQL expression made once)
    row: dict[str, Any] | None = None
    where: dict[str, Any] | None = None
    values: dict[str, Any] | None = None
    #: an INSERT that inserts nothing when this unique column already holds the value
    unique_by: str | None = None
    #: given the new row's id (None: nothing inserted) once the statement ran
    returned: Callable[[int | None], None] | None = None

    def shape(self) -> tuple[Any, ...]:
        """What the statement's text depends on (not the values): its cache key."""
        if self.row is not None:
            return ("i", self.table.name, tuple(self.row), self.unique_by, bool(self.returned))
        assert self.where is not None and self.values is not None
        return (
            "u",
            self.table.name,
            tuple(self.where),
            tuple((k, v if isinstance(v, ColumnElement) else None) for k, v in self.values.items()),
        )

    def params(self, n: int) -> dict[str, Any]:
        """The values of member n of the statement, by their bound names (`_member`)."""
        if self.row is not None:
            return {f"w{n}_{k}": v for k, v in self.row.items()}
        assert self.where is not None and self.values is not None
        found = {f"w{n}_k_{k}": v for k, v in self.where.items()}
        for k, v in self.values.items():
            if not isinstance(v, ColumnElement):
                found[f"w{n}_v_{k}"] = v
        return found


def _defer(session: Session, write: _Write) -> None:
    writes = at_commit(session, _WRITES, OWN_ROWS, _run_writes, tables=())
    writes.append(write)
    item: _Deferred = session.info[_DEFERRED][_WRITES]
    if write.table.name not in item.tables:
        item.tables = item.tables | {write.table.name}


def defer_insert(
    session: Session,
    table: FromClause,
    row: dict[str, Any],
    *,
    step: int = OWN_ROWS,
    unique_by: str | None = None,
    returned: Callable[[int | None], None] | None = None,
) -> None:
    """Have one row (column name → value, every column but a generated id) inserted into
    table just before the transaction commits (after the ORM's flush), in the order deferred
    within lock-order `step`, or earlier when a statement of this transaction reads the table.
    `unique_by`: a unique column; a row whose value is there already is not inserted.
    `returned` gets the new row's id (None when nothing was inserted).

    On PostgreSQL all the deferred writes of a transaction, and the deferred work that has a
    `tail` (the audit chain), are one statement: data-modifying CTEs, each gated on the count
    of the one before (so they run in order, as separate statements would: a key superseded
    is no longer active when its successor is inserted), the tail last. The statement is built
    once per shape (which tables, columns and order) and its values bound."""
    assert isinstance(table, Table)
    _defer(session, _Write(step, table, row=row, unique_by=unique_by, returned=returned))


def defer_insert_object(session: Session, obj: object, *, step: int = OWN_ROWS) -> None:
    """`defer_insert` of a new mapped object (not added to the session): its columns as set
    (None or the column's scalar default for the others). Once inserted it is in the session,
    persistent, as if the ORM had flushed it; until then it is a plain object (its relationships
    unloaded: set those it needs with `set_committed_value`)."""
    mapper = inspect(type(obj))
    state = obj.__dict__
    row: dict[str, Any] = {}
    unset: dict[str, Any] = {}
    for prop in mapper.column_attrs:
        column = prop.columns[0]
        if not isinstance(column, Column) or column.primary_key:
            continue
        if prop.key in state:
            row[column.name] = state[prop.key]
            continue
        default = column.default
        value = default.arg if default is not None and default.is_scalar else None  # type: ignore[attr-defined]
        unset[prop.key] = value
        if value is not None:  # else the column's NULL (a JSON column's too, not 'null')
            row[column.name] = value
    table = mapper.local_table

    def persistent(new_id: int | None) -> None:
        if new_id is None:
            return
        for key, value in {"id": new_id, **unset}.items():
            set_committed_value(obj, key, value)
        make_transient_to_detached(obj)
        # one of a rolled-back attempt may hold the identity still (SQLite reuses the id)
        stale = session.identity_map.get(inspect(obj).key)
        if stale is not None:
            session.expunge(stale)
        session.add(obj)
        # as the ORM does with what it inserted: dropped from the session if this rolls back
        session.info.setdefault(_MADE, []).append(obj)

    defer_insert(session, table, row, step=step, returned=persistent)


def defer_update(
    session: Session,
    table: FromClause,
    where: dict[str, Any],
    values: dict[str, Any],
    *,
    step: int = OWN_ROWS,
) -> None:
    """Have the rows of table whose columns equal `where` (name → value) updated to `values`
    (name → value, or a SQL expression made once, at import: it is part of the cached
    statement) as `defer_insert` inserts its row (in the same order and statement)."""
    assert isinstance(table, Table)
    _defer(session, _Write(step, table, where=where, values=values))


#: what a tail gives the one statement: how its column is built from the writes' count (the
#: same function every time: it is part of the cached statement) and the values it binds
TailCall = tuple[Callable[[ColumnElement[Any]], ColumnElement[Any]], dict[str, Any]]

#: the statements of the deferred writes, by shape (`_Write.shape` of each member, the tail)
_STATEMENTS: dict[tuple[Any, ...], tuple[Select[Any], list[int]]] = {}
_STATEMENTS_KEPT = 256


def _run_writes(session: Session, writes: list[_Write]) -> None:
    _execute_writes(session, writes, None)


def _execute_writes(session: Session, writes: list[_Write], tail: _Deferred | None) -> None:
    """Run the deferred writes in step order, and the tail's work after them (PostgreSQL: one
    statement)."""
    ordered = sorted(writes, key=lambda w: w.step)  # stable: deferred order within a step
    if session.get_bind().dialect.name != "postgresql":
        for write in ordered:
            _execute_one(session, write)
        if tail is not None:
            tail.work(session, tail.gathered)
        return
    call: TailCall | None = None
    if tail is not None:
        assert tail.tail is not None
        call = tail.tail(session, tail.gathered)
    shape = (tuple(w.shape() for w in ordered), None if call is None else call[0])
    made = _STATEMENTS.get(shape)
    if made is None:
        if len(_STATEMENTS) >= _STATEMENTS_KEPT:
            _STATEMENTS.clear()
        made = _STATEMENTS[shape] = _statement(ordered, None if call is None else call[0])
    statement, returning = made
    params: dict[str, Any] = {} if call is None else dict(call[1])
    for n, write in enumerate(ordered):
        params.update(write.params(n))
    found = session.execute(statement, params).one()
    for column, n in enumerate(returning):
        returned = ordered[n].returned
        assert returned is not None
        returned(found[column])


def _execute_one(session: Session, write: _Write) -> None:
    """A deferred write as a statement of its own (SQLite)."""
    table = write.table
    if write.row is None:
        assert write.where is not None and write.values is not None
        session.execute(
            update(table)
            .where(*[table.c[k] == v for k, v in write.where.items()])
            .values(write.values)
        )
        return
    statement: Any = sqlite_insert(table).values(write.row)
    if write.unique_by is not None:
        statement = statement.on_conflict_do_nothing(index_elements=[write.unique_by])
    found = session.execute(statement.returning(table.c.id)).first()
    if write.returned is not None:
        write.returned(None if found is None else found[0])


def _statement(
    ordered: list[_Write], tail: Callable[[ColumnElement[Any]], ColumnElement[Any]] | None
) -> tuple[Select[Any], list[int]]:
    """The one statement of the writes (PostgreSQL) and which members' ids it returns, in the
    order of its first columns; its last column is the tail's (or the writes' count)."""
    previous: CTE | None = None
    returning: list[tuple[int, CTE]] = []
    for n, write in enumerate(ordered):
        cte = _member(n, write, None if previous is None else _count(previous) >= 0).cte(f"w{n}")
        if write.returned is not None:
            returning.append((n, cte))
        previous = cte
    done: ColumnElement[Any] = literal(0) if previous is None else _count(previous)
    columns: list[ColumnElement[Any]] = [
        select(cte.c.id).limit(1).scalar_subquery() for _, cte in returning
    ]
    columns.append(done if tail is None else tail(done))
    return select(*columns), [n for n, _ in returning]


def tail_statement(call: TailCall) -> Select[Any]:
    """A tail's work as a statement of its own (no deferred writes due with it)."""
    shape = ((), call[0])
    made = _STATEMENTS.get(shape)
    if made is None:
        made = _STATEMENTS[shape] = (select(call[0](literal(0))), [])
    return made[0]


def _count(cte: CTE) -> ColumnElement[Any]:
    return select(func.count()).select_from(cte).scalar_subquery()


def _member(n: int, write: _Write, after: ColumnElement[bool] | None) -> Any:
    """Write n as a member of the one statement, its values bound as `_Write.params` names
    them: it runs once `after` (the count of the member before it) is known, and returns the
    new row's id (an UPDATE: 1 per row)."""
    table = write.table
    if write.row is None:
        assert write.where is not None and write.values is not None
        values = {
            k: v
            if isinstance(v, ColumnElement)
            else bindparam(f"w{n}_v_{k}", type_=table.c[k].type)
            for k, v in write.values.items()
        }
        statement = (
            update(table)
            .where(
                *[
                    table.c[k] == bindparam(f"w{n}_k_{k}", type_=table.c[k].type)
                    for k in write.where
                ]
            )
            .values(values)
        )
        if after is not None:
            statement = statement.where(after)
        return statement.returning(literal_column("1").label("id"))
    columns = [table.c[name] for name in write.row]
    row = select(*[cast(bindparam(f"w{n}_{c.name}", type_=c.type), c.type) for c in columns])
    if after is not None:
        row = row.where(after)
    inserted: Any = postgresql_insert(table).from_select(columns, row)
    if write.unique_by is not None:
        inserted = inserted.on_conflict_do_nothing(index_elements=[write.unique_by])
    return inserted.returning(table.c.id)


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
        postgresql = session.get_bind().dialect.name == "postgresql"
        for key, item in due:
            if key not in deferred:
                continue  # done already, as the tail of the writes
            del deferred[key]
            if key == _WRITES:
                # the writes, and the deferred work with a tail due now, in one statement
                tail = next(
                    (i for _, i in due if i.tail and i.gathered and i in deferred.values()),
                    None,
                )
                if tail is not None:
                    deferred.pop(next(k for k, i in deferred.items() if i is tail))
                _execute_writes(session, item.gathered, tail)
            elif item.tail is not None and postgresql:
                call = item.tail(session, item.gathered)
                session.execute(tail_statement(call), call[1])
            else:
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
    event.listen(session, "after_transaction_create", _savepoint_begun)
    event.listen(session, "after_soft_rollback", _savepoint_rolled_back)
    # savepoints begun before this hook: nothing was deferred when they began
    open_transaction = session.get_nested_transaction()
    while open_transaction is not None and open_transaction.nested:
        session.info.setdefault(_SAVEPOINTS, {})[id(open_transaction)] = {}
        open_transaction = open_transaction.parent


_SAVEPOINTS = "licensesvc_at_commit_savepoints"
#: the objects `defer_insert_object` made persistent in this transaction
_MADE = "licensesvc_made_persistent"


def _savepoint_begun(session: Session, transaction: SessionTransaction) -> None:
    """Note what was deferred when a savepoint begins (`begin_nested`), to drop what is
    deferred inside it if it rolls back."""
    if not transaction.nested:
        return
    deferred: dict[str, _Deferred] = session.info.get(_DEFERRED) or {}
    marks = session.info.setdefault(_SAVEPOINTS, {})
    marks[id(transaction)] = {key: len(item.gathered) for key, item in deferred.items()}


def _savepoint_rolled_back(session: Session, previous: SessionTransaction) -> None:
    if previous.parent is None:
        for obj in session.info.pop(_MADE, []):
            if obj in session:
                session.expunge(obj)
    marks: dict[int, dict[str, int]] = session.info.get(_SAVEPOINTS) or {}
    mark = marks.pop(id(previous), None) if previous.nested else None
    deferred: dict[str, _Deferred] | None = session.info.get(_DEFERRED)
    if mark is None or not deferred:
        return
    for key in list(deferred):
        if key not in mark:
            del deferred[key]
        else:
            del deferred[key].gathered[mark[key] :]


def _before_commit(session: Session) -> None:
    if session.in_nested_transaction() or not session.info.get(_DEFERRED):
        return
    session.flush()  # the transaction's own changes first, before the shared locks
    run_deferred(session)


def _after_commit(session: Session) -> None:
    session.info.pop(_MADE, None)
    for work in session.info.pop(_AFTER_COMMIT, []):
        work()


def _after_transaction_end(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:
        session.info.pop(_DEFERRED, None)
        session.info.pop(_SAVEPOINTS, None)
        session.info.pop(_AFTER_COMMIT, None)  # rolled back: nothing of it happened


def before_reading(session: Session, *tables: str) -> None:
    """Run the deferred work that writes any of `tables` (and the steps before it), for a read
    that bypasses the ORM's execution (Core on `session.connection()`): so a transaction reads
    its own writes there too."""
    deferred: dict[str, _Deferred] | None = session.info.get(_DEFERRED)
    if not deferred or session.info.get(_RUNNING):
        return
    steps = [item.step for item in deferred.values() if item.tables.intersection(tables)]
    if steps:
        run_deferred(session, up_to=max(steps))


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
