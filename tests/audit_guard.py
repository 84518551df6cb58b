"""Every committed change of state carries its audit record: the per-process caches
(platform/freshness.py) are correct only if the audit head moves with every change.

`AuditGuard` watches one test connection's statements. `ServiceCallGuard` fails a call of a
domain package's public function (on the test's session) that wrote to any table but the
bookkeeping ones below without appending an audit record; the `session` fixture installs it
for every test. With `AuditGuard.strict_commits`, a commit that changed state without an
audit record fails too (off by default: a test may set rows up by hand)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, event

#: tables written without an audit record, each for its reason
BOOKKEEPING = {
    "audit_records": "the trail itself",
    "alembic_version": "the schema's revision",
    "idempotency_keys": "a stored answer to replay, written with the audited work it answers",
    "outbox": "messages about audited events, and their delivery state",
    "webhook_deliveries": "webhooks about audited events, and their delivery state",
    "portal_sessions": "sign-in sessions, not state of the business",
    "portal_form_tokens": "a form's single-use marker, stored with the audited case",
    "revocation_lists": "the signed list, derived from the audited keys and rebuilt from them",
    "revocation_cascades": "the signed cascade, derived from the audited keys, rebuilt from them",
    "quota_slots": "a quota's slot, taken and freed with the audited key it counts",
    "tlog_leaves": "the transparency log's leaf, written with the audited key change it records",
    "tlog_nodes": "the log's tree, derived from its leaves by the integrator",
    "tlog_checkpoints": "the log's signed tree heads, derived from its leaves",
    "tlog_state": "the integrator's lock row and the tree size it reached",
}
#: columns whose update alone is bookkeeping
BOOKKEEPING_COLUMNS = {
    # the last use, and a token stored the old way re-hashed on use (the same token)
    "api_tokens": {"last_used_at", "token_hash"},
    "users": {"last_sign_in_at", "failed_sign_ins"},
}

_WRITE = re.compile(
    r'^\s*(?:INSERT\s+(?:OR\s+\w+\s+)?INTO|UPDATE|DELETE\s+FROM)\s+"?(\w+)"?', re.IGNORECASE
)
_SET = re.compile(r"\bSET\s+(.*?)\s+WHERE\b", re.IGNORECASE | re.DOTALL)


#: a write inside a statement: a data-modifying CTE (platform/transactions.py `defer_insert`:
#: on PostgreSQL the transaction's deferred writes are one statement)
_MEMBER = re.compile(r"\bAS\s*\(\s*(?=(?:INSERT|UPDATE|DELETE)\b)", re.IGNORECASE)
#: the audit chain's database function (migration 0021) appends records
_APPEND = "licensesvc_audit_append("


def writes_of(statement: str) -> list[str]:
    """The statement and each data-modifying CTE of it, as statements of their own."""
    found = [statement]
    if statement.lstrip()[:4].upper() == "WITH":
        found += [statement[m.end() :] for m in _MEMBER.finditer(statement)]
    return found


def written_table(statement: str) -> str | None:
    match = _WRITE.match(statement)
    return match.group(1).lower() if match else None


def needs_audit(statement: str) -> str | None:
    """The table a statement changes state in (so needs an audit record), or None."""
    table = written_table(statement)
    if table is None or table in BOOKKEEPING:
        return None
    columns = BOOKKEEPING_COLUMNS.get(table)
    if columns and statement.lstrip().upper().startswith("UPDATE"):
        set_clause = _SET.search(statement)
        if set_clause is not None:
            named = {
                part.split("=")[0].strip().strip('"').lower()
                for part in set_clause.group(1).split(",")
            }
            if named <= columns:
                return None
    return table


class UnauditedChange(AssertionError):
    """A transaction changed state without an audit record."""


class AuditGuard:
    def __init__(self) -> None:
        self.depth = 0
        self.changed: set[str] = set()
        self.audited = False
        self.strict_commits = False
        self.on_write: Any = None

    def before_cursor_execute(self, _conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if not self.depth:
            return
        if _APPEND in statement:
            self.audited = True
        for member in writes_of(statement):
            if written_table(member) == "audit_records":
                self.audited = True
            elif (table := needs_audit(member)) is not None:
                self.changed.add(table)
                if self.on_write is not None:
                    self.on_write(table)

    def savepoint(self, _conn: Any, _name: str) -> None:
        if self.depth == 0:
            self.changed, self.audited = set(), False
        self.depth += 1

    def rollback_savepoint(self, _conn: Any, _name: str, _context: Any) -> None:
        self.depth -= 1
        if self.depth == 0:
            self.changed, self.audited = set(), False

    def release_savepoint(self, _conn: Any, _name: str, _context: Any) -> None:
        self.depth -= 1
        if self.depth == 0:
            changed, audited = self.changed, self.audited
            self.changed, self.audited = set(), False
            if self.strict_commits and changed and not audited:
                raise UnauditedChange(
                    "committed a change of state without an audit record: "
                    + ", ".join(sorted(changed))
                )

    @contextmanager
    def watching(self, connection: Connection) -> Iterator[AuditGuard]:
        hooks: dict[str, Callable[..., Any]] = {
            "before_cursor_execute": self.before_cursor_execute,
            "savepoint": self.savepoint,
            "rollback_savepoint": self.rollback_savepoint,
            "release_savepoint": self.release_savepoint,
        }
        for name, hook in hooks.items():
            event.listen(connection, name, hook)
        try:
            yield self
        finally:
            for name, hook in hooks.items():
                event.remove(connection, name, hook)


def audit_pending(session: Any) -> int:
    """How many audit records the session's transaction has appended so far (gathered until
    commit by platform/audit.py's `append`)."""
    deferred = session.info.get("licensesvc_at_commit") or {}
    item = deferred.get("audit.append")
    return 0 if item is None else len(item.gathered)


def deferred_writes(session: Any) -> list[Any]:
    """The writes the session's transaction deferred to its commit and has not made yet
    (platform/transactions.py `defer_insert`, `defer_update`), each with its `table`."""
    deferred = session.info.get("licensesvc_at_commit") or {}
    item = deferred.get("platform.writes")
    return [] if item is None else list(item.gathered)


class ServiceCallGuard:
    """Fails a service call that changed state without appending an audit record: each call of
    a domain package's public function, on the test's session, is followed by a flush, and the
    writes it caused are checked against the records it appended. A write deferred to the
    commit (platform/transactions.py `defer_insert`) is the call's that deferred it, not the
    call's during which it happens to run."""

    PACKAGES = ("accounts", "issuance", "cases", "identity", "outreach")

    def __init__(self, session: Any, guard: AuditGuard) -> None:
        self.session = session
        self.guard = guard
        self.depth = 0
        self.writes: list[str] = []
        guard.on_write = self._wrote

    def _wrote(self, table: str) -> None:
        if not self.session.info.get("licensesvc_at_commit_running"):
            self.writes.append(table)

    def wrap(self, function: Any) -> Any:
        import functools

        @functools.wraps(function)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            first = args[0] if args else None
            session = getattr(first, "session", first)
            if session is not self.session:
                return function(*args, **kwargs)
            if self.depth == 0:
                if session.is_active:
                    session.flush()  # what the test itself changed is not the call's
                self.writes.clear()
            records = audit_pending(session)
            before = {id(w) for w in deferred_writes(session)} if self.depth == 0 else set()
            self.depth += 1
            try:
                result = function(*args, **kwargs)
            finally:
                self.depth -= 1
            if self.depth == 0 and session.is_active:
                session.flush()
                for write in deferred_writes(session):
                    if id(write) not in before and needs_audit(f"UPDATE {write.table.name}"):
                        self.writes.append(write.table.name)
                if self.writes and audit_pending(session) == records and not self.guard.audited:
                    raise UnauditedChange(
                        f"{function.__module__}.{function.__name__} changed "
                        f"{', '.join(sorted(set(self.writes)))} without an audit record"
                    )
            return result

        return guarded

    def install(self, monkeypatch: Any) -> None:
        import importlib
        import inspect
        import sys

        for name in self.PACKAGES:
            package = importlib.import_module(f"licensesvc.{name}")
            for attribute in package.__all__:
                function = getattr(package, attribute)
                if not inspect.isfunction(function):
                    continue
                guarded = self.wrap(function)
                monkeypatch.setattr(package, attribute, guarded)
                module = sys.modules[function.__module__]
                if getattr(module, attribute, None) is function:
                    monkeypatch.setattr(module, attribute, guarded)
