"""The CLI runs every command that changes a case or a key the way the API runs its writing
calls: a unit of work that lost a lock race (PostgreSQL: serialization failure 40001, deadlock
40P01, lock timeout 55P03) is rolled back and run again, up to 3 attempts in all
(platform/transactions.py `retrying`). The failure is injected at the database driver's door:
the statement that writes the audit records (SQLite: their INSERT; PostgreSQL: the one that
calls licensesvc_audit_append, with the transaction's other writes) fails with SQLSTATE 40001."""

from __future__ import annotations

import ast
import inspect
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.exc import OperationalError

from licensesvc.models import AuditRecord, IssuedKey, KeyRequest
from licensesvc.portal import views
from tests.cli.cli_helpers import Cli, Shop, key_issue

ROOT = Path(__file__).resolve().parents[2]
#: the service calls that change a case or a key
CHANGES_A_CASE_OR_KEY = {
    "grant_case",
    "deny_case",
    "escalate_case",
    "revoke_key",
    "request_key",
    "post_case_update",
    "assign_case",
    "add_case_note",
    "change_severity",
}


class SerializationFailure(Exception):
    """What psycopg raises for SQLSTATE 40001 (the attribute retrying looks at)."""

    sqlstate = "40001"


class Injector:
    """Make the next `times` statements that write audit records fail with a serialization
    failure."""

    def __init__(self) -> None:
        self.times = 0
        self.injected = 0

    def __call__(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        said = statement.upper()
        writes_audit = said.lstrip().startswith("INSERT INTO AUDIT_RECORDS")
        if self.times and (writes_audit or "LICENSESVC_AUDIT_APPEND(" in said):
            self.times -= 1
            self.injected += 1
            raise OperationalError(statement, None, SerializationFailure("could not serialize"))


@pytest.fixture
def inject(run: Cli) -> Iterator[Injector]:
    injector = Injector()
    engine = run.runtime.engine
    event.listen(engine, "before_cursor_execute", injector)
    try:
        yield injector
    finally:
        event.remove(engine, "before_cursor_execute", injector)


def _refused_case(run: Cli, shop: Shop) -> str:
    result = run.fails(
        "--json", *key_issue(shop.acme_license, "temporary", reason="seasonal_testing")
    )
    return str(json.loads(result.stdout)["case_number"])


def _audits(run: Cli, action: str, entity_id: str) -> int:
    with run.runtime.sessions() as s:
        return int(
            s.scalar(
                select(func.count())
                .select_from(AuditRecord)
                .where(AuditRecord.action == action, AuditRecord.entity_id == entity_id)
            )
            or 0
        )


def _status(run: Cli, case: str) -> str:
    with run.runtime.sessions() as s:
        return str(s.scalar(select(KeyRequest.status).where(KeyRequest.case_number == case)))


def test_a_serialization_failure_during_deny_is_retried_and_decides_once(
    run: Cli, shop: Shop, inject: Injector
) -> None:
    case = _refused_case(run, shop)
    inject.times = 2
    out = run.ok("case", "deny", case, "--reason", "Base plan: upgrade to Premium").stdout
    assert out == f"denied {case}: Base plan: upgrade to Premium\n"
    assert inject.injected == 2  # two attempts failed, the third committed
    assert _status(run, case) == "denied"
    assert _audits(run, "case.denied", case) == 1


@pytest.mark.parametrize(
    "words",
    [
        ("case", "grant", "{case}", "--reason", "support lead approved"),
        ("case", "escalate", "{case}", "--note", "go-live Friday"),
    ],
    ids=["grant", "escalate"],
)
def test_grant_and_escalate_are_retried_too(
    run: Cli, shop: Shop, inject: Injector, words: tuple[str, ...]
) -> None:
    case = _refused_case(run, shop)
    inject.times = 1
    run.ok(*(w.format(case=case) for w in words))
    assert inject.injected == 1
    with run.runtime.sessions() as s:
        keys = s.scalar(
            select(func.count()).select_from(IssuedKey).where(IssuedKey.case_number == case)
        )
    assert keys == (1 if words[1] == "grant" else 0)  # one key, not one per attempt


def test_a_revocation_and_a_key_issue_are_retried(run: Cli, shop: Shop, inject: Injector) -> None:
    inject.times = 1
    issued = run.json(*key_issue(shop.acme_license, "standard"))
    assert inject.injected == 1
    with run.runtime.sessions() as s:
        assert s.scalar(select(func.count()).select_from(IssuedKey)) == 1  # not two
    inject.times = 1
    run.ok("key", "revoke", issued["serial"], "--reason", "decommissioned")
    assert inject.injected == 2
    assert _audits(run, "key.revoked", issued["serial"]) == 1


def test_three_lost_races_give_one_line_and_change_nothing(
    run: Cli, shop: Shop, inject: Injector
) -> None:
    case = _refused_case(run, shop)
    inject.times = 3
    result = run.fails("case", "deny", case, "--reason", "r")
    assert inject.injected == 3
    assert result.stderr == "Error: cannot use the database: could not serialize\n"
    assert _status(run, case) == "refused"
    assert _audits(run, "case.denied", case) == 0


def test_no_cli_command_changes_a_case_or_key_outside_the_retry() -> None:
    """Every command function calling a service that changes a case or key does so through
    CliState.retried, never inside a bare unit_of_work; the portal's writers run in the
    platform's unit of work (committed once, retried)."""
    offenders: list[str] = []
    callers = 0
    for path in sorted((ROOT / "cli" / "commands").glob("*.py")):
        tree = ast.parse(path.read_text())
        for node in tree.body:
            if not isinstance(node, ast.FunctionDef):
                continue
            called = {
                n.func.attr if isinstance(n.func, ast.Attribute) else getattr(n.func, "id", "")
                for n in ast.walk(node)
                if isinstance(n, ast.Call)
            }
            if not called & CHANGES_A_CASE_OR_KEY:
                continue
            callers += 1
            if "retried" not in called or "unit_of_work" in called:
                offenders.append(f"{path.name}:{node.name}")
    assert callers >= 6 and offenders == []
    for writer in (views.escalate, views._submit_once):
        assert "transactions.unit_of_work(" in inspect.getsource(writer), writer.__name__
