"""Stories of an analyst working the escalation queue: owners, internal notes, severity
changes with a reason, and respond-by in local time beside UTC."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from licensesvc.models import AuditRecord, CaseNote
from tests.cli.cli_helpers import Cli, Shop, count, key_issue


def escalated_case(run: Cli, shop: Shop, severity: int = 3) -> str:
    result = run.fails("--json", *key_issue(shop.acme_license, "temporary", reason="usage_spike"))
    case = str(json.loads(result.stdout)["case_number"])
    run.ok("case", "escalate", case, "--severity", severity)
    return case


def test_the_queue_shows_severity_customer_owner_age_and_respond_by_in_two_zones(
    run: Cli, shop: Shop, clock: Any
) -> None:
    later = escalated_case(run, shop, severity=4)  # Sev 4: a day later than Sev 2
    sooner = escalated_case(run, shop, severity=2)
    run.ok("case", "assign", sooner, "--to", "bob")
    clock.set(datetime(2026, 3, 3, 16, 0, tzinfo=UTC))  # 25 hours on
    lines = run.ok("case", "list", "--escalated", "--tz", "America/New_York").stdout.splitlines()
    assert lines[0].split()[:7] == ["CASE", "SEV", "CUSTOMER", "PRODUCT", "KIND", "OWNER", "AGE"]
    assert "RESPOND BY (UTC)" in lines[0] and "RESPOND BY (LOCAL)" in lines[0]
    first, second = (line.split() for line in lines[1:])
    assert first[:3] == [sooner, "2", "Acme"] and "bob" in first and "1d1h" in first
    assert "2026-03-02T19:00:00Z" in first and "2026-03-02 14:00 EST" in lines[1]
    assert first[-1] == "yes"  # respond-by passed without a response: overdue
    assert second[0] == later and second[-1] == "no"
    queue = run.json("case", "list", "--escalated", "--tz", "Asia/Tokyo")
    assert [r["case_number"] for r in queue] == [sooner, later]
    assert queue[0]["respond_by"] == "2026-03-02T19:00:00Z"
    assert queue[0]["respond_by_local"] == "2026-03-03T04:00:00+09:00"
    assert queue[0] | {} and queue[0]["customer_name"] == "Acme" and queue[0]["age_hours"] == 25
    assert queue[0]["overdue_reason"] == "no response by 2026-03-02T19:00:00Z"
    assert [r["case_number"] for r in run.json("case", "list", "--overdue")] == [sooner]


def test_the_local_zone_comes_from_tz_and_an_unknown_zone_is_a_usage_error(
    run: Cli, shop: Shop, monkeypatch: Any
) -> None:
    escalated_case(run, shop, severity=2)
    monkeypatch.setenv("TZ", "Europe/Paris")
    assert run.json("case", "list", "--escalated")[0]["respond_by_local"].endswith("+01:00")
    result = run.fails("case", "list", "--escalated", "--tz", "Mars/Olympus", exit_code=2)
    assert "unknown time zone 'Mars/Olympus'" in result.stderr


def test_assign_sets_the_owner_once_and_audits_it(run: Cli, shop: Shop) -> None:
    case = escalated_case(run, shop)
    assert run.ok("case", "assign", case, "--to", "bob").stdout == f"assigned {case} to bob\n"
    records = count(run, AuditRecord)
    assert run.json("case", "assign", case, "--to", "bob")["owner"] == "bob"
    assert count(run, AuditRecord) == records  # the same owner again: nothing written
    assert run.json("case", "assign", case, "--to", "carol")["owner"] == "carol"
    [latest] = run.json("audit", "list", "--entity", f"case:{case}", "--limit", 1)
    assert latest["action"] == "case.assigned"
    assert latest["details"] == {"owner": "carol", "previous_owner": "bob"}
    assert run.fails("case", "assign", case, "--to", " ").stderr == (
        "Error: validation_error: give the analyst's name to assign the case to\n"
    )


def test_a_note_is_internal_shown_to_analysts_in_case_show(run: Cli, shop: Shop) -> None:
    case = escalated_case(run, shop)
    run.ok("case", "update", case, "--text", "We are on it")
    out = run.ok("case", "note", case, "--text", "customer is grumpy\nphone first").stdout
    assert out == f"noted on {case} (internal)\n"
    shown = run.json("case", "show", case)
    assert [n["text"] for n in shown["notes"]] == ["customer is grumpy\nphone first"]
    assert [u["text"] for u in shown["updates"]] == ["We are on it"]
    screen = run.ok("case", "show", case, "--tz", "UTC").stdout
    assert "Notes (internal)" in screen and "customer is grumpy\\nphone first" in screen
    assert "Updates (the customer sees these)" in screen and "We are on it" in screen
    assert count(run, CaseNote) == 1
    blank = run.fails("case", "note", case, "--text", "  ")
    assert blank.stderr == "Error: validation_error: a note needs text\n"
    assert count(run, CaseNote) == 1


def test_a_severity_change_needs_a_reason_and_recounts_respond_by(
    run: Cli, shop: Shop, clock: Any
) -> None:
    case = escalated_case(run, shop, severity=4)
    before = run.json("case", "show", case)["respond_by"]
    clock.set(datetime(2026, 3, 2, 16, 0, tzinfo=UTC))  # 11:00 in New York
    out = run.ok("case", "severity", case, 2, "--reason", "scheduler down", "--tz", "UTC").stdout
    # Base Sev 2: 4 business hours from 11:00 EST
    assert out.splitlines()[0] == (
        f"{case} is now Sev 2; respond by 2026-03-02T20:00:00Z (2026-03-02 20:00 UTC)"
    )
    shown = run.json("case", "show", case)
    assert shown["severity"] == 2 and shown["respond_by"] != before
    [latest] = run.json("audit", "list", "--entity", f"case:{case}", "--limit", 1)
    assert latest["action"] == "case.severity_changed" and latest["reason"] == "scheduler down"
    assert latest["details"]["previous_severity"] == 4
    assert run.fails("case", "severity", case, 2, "--reason", "again").stderr == (
        f"Error: invalid_state: case {case} is already Sev 2\n"
    )
    assert run.fails("case", "severity", case, 5, "--reason", "x", exit_code=2)
    assert "--reason" in run.fails("case", "severity", case, 1, exit_code=2).stderr


def test_a_decided_case_cannot_be_assigned_or_change_severity(run: Cli, shop: Shop) -> None:
    case = escalated_case(run, shop)
    run.ok("case", "deny", case, "--reason", "base plan")
    assert (
        "only a refused or escalated case" in run.fails("case", "assign", case, "--to", "b").stderr
    )
    assert (
        "only a refused or escalated case"
        in run.fails("case", "severity", case, 1, "--reason", "x").stderr
    )
    run.ok("case", "note", case, "--text", "notes are kept on decided cases too")
