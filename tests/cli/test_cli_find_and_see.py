"""Stories of an analyst finding a customer and seeing everything about it on one screen."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, event

from tests.cli.cli_helpers import (
    Cli,
    Shop,
    contract_create,
    count,
    key_issue,
    license_create,
    record_payment,
)


def test_search_finds_a_name_by_prefix_first_then_substring_any_case(run: Cli) -> None:
    for name in ("Mega Acme Holdings", "Acme Logistics", "Globex", "ACME Rail"):
        run.ok("customer", "create", "--name", name)
    found = run.json("customer", "list", "--search", "acme")
    assert [(c["name"], c["matched"]) for c in found] == [
        ("Acme Logistics", "name starts with"),
        ("ACME Rail", "name starts with"),
        ("Mega Acme Holdings", "name contains"),
    ]
    lines = run.ok("customer", "list", "--search", "ACME").stdout.splitlines()
    assert lines[0].split() == ["ID", "NAME", "REGION", "CREATED", "MATCHED"]
    assert "name starts with" in lines[1] and "name contains" in lines[3]


def test_search_wildcards_match_themselves(run: Cli) -> None:
    run.ok("customer", "create", "--name", "100% Uptime_Co")
    run.ok("customer", "create", "--name", "Uptime Co")
    assert [c["name"] for c in run.json("customer", "list", "--search", "%")] == ["100% Uptime_Co"]
    assert [c["name"] for c in run.json("customer", "list", "--search", "e_c")] == [
        "100% Uptime_Co"
    ]


def _contract_and_license_numbered_alike(run: Cli) -> tuple[str, int]:
    """A new customer whose contract and license have the same number, whatever numbers the
    database has given out before (PostgreSQL's sequences survive a rolled-back test): the
    customer's name and that number."""

    names: dict[object, str] = {}

    def customer(name: str) -> object:
        made = run.json("customer", "create", "--name", name)["id"]
        names[made] = name
        return made

    owner = customer("Initech")
    contract = run.json(*contract_create(owner))["id"]
    lic = run.json(*license_create(owner))["id"]
    if lic > contract:
        # contracts lag: other customers' contracts take the numbers up to the license's,
        # then a new owner's contract and license both take the next one
        fillers = 0
        while contract < lic:
            fillers += 1
            contract = run.json(*contract_create(customer(f"Filler {'X' * fillers}")))["id"]
        owner = customer("Initrode")
        contract = run.json(*contract_create(owner))["id"]
        lic = run.json(*license_create(owner))["id"]
    while lic < contract:  # licenses lag: the owner takes more until one has its number
        lic = run.json(*license_create(owner))["id"]
    assert lic == contract
    return names[owner], contract


def test_search_by_number_finds_the_owner_of_that_contract_and_that_license(
    run: Cli, shop: Shop
) -> None:
    # a contract and a license may share a number: both are found, each saying why
    name, number = _contract_and_license_numbered_alike(run)
    found = run.json("customer", "list", "--search", number)
    assert [(c["name"], c["matched"]) for c in found] == [
        (name, f"contract {number}, license {number}")
    ]
    run.ok("customer", "create", "--name", f"Route {number} Freight")
    found = run.json("customer", "list", "--search", str(number))
    assert (name, f"contract {number}, license {number}") in [
        (c["name"], c["matched"]) for c in found
    ]
    assert (f"Route {number} Freight", "name contains") in [
        (c["name"], c["matched"]) for c in found
    ]
    found = run.json("customer", "list", "--search", shop.acme_license)
    assert found[0]["name"] == "Acme" and f"license {shop.acme_license}" in found[0]["matched"]
    assert run.json("customer", "list", "--search", "99999") == []


def test_search_without_text_is_one_plain_line(run: Cli) -> None:
    result = run.fails("customer", "list", "--search", "   ")
    assert result.stderr == "Error: validation_error: give some text to search for\n"


def _acme_with_history(run: Cli, shop: Shop) -> dict[str, str]:
    """Acme's key, a refused case escalated, and a second ledger entry."""
    run.ok(
        "contract", "record-payment", "--contract", shop.acme_contract,
        "--paid-through", "2026-12-31", "--invoice", "INV-7",
    )  # fmt: skip
    serial = run.json(*key_issue(shop.acme_license, "standard"))["serial"]
    refused = run.fails("--json", *key_issue(shop.acme_license, "temporary", reason="usage_spike"))
    case = json.loads(refused.stdout)["case_number"]
    run.ok("case", "escalate", case, "--severity", 2)
    return {"serial": serial, "case": case}


def test_customer_show_is_one_screen_with_names_not_ids(run: Cli, shop: Shop) -> None:
    made = _acme_with_history(run, shop)
    screen = run.ok("customer", "show", shop.acme).stdout
    assert screen.startswith(f"customer     Acme (id {shop.acme})")
    assert "plan         base" in screen
    assert "maintenance  paid through 2026-12-31 (304 days left)" in screen
    assert "grace        0 days, until 2026-12-31" in screen
    assert "keys today   would be issued" in screen
    assert "INV-7" in screen
    key_line = next(line for line in screen.splitlines() if line.startswith(made["serial"]))
    assert key_line.split()[:5] == [made["serial"], "standard", "active", "JAMS", "Scheduler"]
    assert "sched.acme.example" in key_line
    open_cases = screen.split("Open cases\n")[1].split("\n\n")[0].splitlines()
    assert open_cases[1].split()[:4] == [made["case"], "escalated", "2", "temporary"]
    assert "JAMS Scheduler" in open_cases[1]
    recent = screen.split("Recent cases\n")[1].splitlines()
    assert recent[1].split()[1] == "granted"


def test_customer_show_json_is_the_whole_picture(run: Cli, shop: Shop) -> None:
    made = _acme_with_history(run, shop)
    shown = run.json("customer", "show", shop.acme)
    assert shown["customer"]["name"] == "Acme"
    assert {
        "plan": "base",
        "contract_id": shop.acme_contract,
        "maintenance_paid_through": "2026-12-31",
        "maintenance_days_left": 304,
        "in_grace_period": False,
        "refusal_code": None,
    }.items() <= shown["standing"].items()
    [contract] = shown["contracts"]
    assert [p["paid_through"] for p in contract["payments"]] == ["2026-12-31", "2026-12-31"]
    assert contract["payments"][1]["invoice"] == "INV-7"
    [lic] = shown["licenses"]
    assert (lic["product"], lic["agents"], lic["jobs"], lic["host"]) == (
        "JAMS Scheduler", 10, 1000, "sched.acme.example",
    )  # fmt: skip
    assert [k["serial"] for k in shown["keys"]] == [made["serial"]]
    assert shown["keys_total"] == 1
    assert [c["case_number"] for c in shown["open_cases"]] == [made["case"]]
    assert shown["open_cases"][0]["severity"] == 2 and shown["open_cases"][0]["respond_by"]
    assert [c["status"] for c in shown["recent_cases"]] == ["granted"]


def test_customer_show_of_a_lapsed_customer_says_why_keys_are_refused(
    run: Cli, shop: Shop, clock: Any
) -> None:
    clock.set(datetime(2027, 3, 1, 15, 0, tzinfo=UTC))
    st = run.json("customer", "show", shop.acme)["standing"]
    assert st["contract_active"] is False and st["refusal_code"] == "contract_expired"
    assert "ended on 2026-12-31" in run.ok("customer", "show", shop.acme).stdout


def test_customer_show_costs_the_same_queries_however_much_it_holds(
    run: Cli, shop: Shop, engine: Engine
) -> None:
    def statements() -> int:
        seen: list[str] = []

        def count(_c: Any, _cur: Any, statement: str, *_a: Any) -> None:
            seen.append(statement)

        event.listen(engine, "before_cursor_execute", count)
        try:
            run.ok("customer", "show", shop.acme)
        finally:
            event.remove(engine, "before_cursor_execute", count)
        return len(seen)

    run.json(*key_issue(shop.acme_license, "standard"))
    before = statements()
    for n in range(3):
        lic = run.json(*license_create(shop.acme, host=f"h{n}.example"))["id"]
        run.json(*key_issue(lic, "standard"))
        run.fails(*key_issue(lic, "temporary", reason="usage_spike"))
        run.ok(*record_payment(shop.acme_contract, "2026-12-31"))
    assert statements() == before


def test_key_show_says_what_the_key_grants(run: Cli, shop: Shop) -> None:
    serial = run.json(*key_issue(shop.acme_license, "standard"))["serial"]
    shown = run.json("key", "show", serial)
    assert {
        "serial": serial,
        "customer_name": "Acme",
        "product": "JAMS Scheduler",
        "host": "sched.acme.example",
        "failover_host": "dr.acme.example",
        "agents": 10,
        "jobs": 1000,
        "status": "active",
    }.items() <= shown.items()
    screen = run.ok("key", "show", serial).stdout.splitlines()
    assert [" ".join(line.split()) for line in screen[:7]] == [
        f"serial {serial}",
        "customer name Acme",
        "product JAMS Scheduler",
        "host sched.acme.example",
        "failover host dr.acme.example",
        "agents 10",
        "jobs 1000",
    ]


def test_key_issue_dry_run_lists_every_check_and_records_nothing(run: Cli, shop: Shop) -> None:
    from licensesvc.models import AuditRecord, IssuedKey, KeyRequest

    before = [count(run, m) for m in (AuditRecord, IssuedKey, KeyRequest)]
    ok = run.ok(*key_issue(shop.acme_license, "standard"), "--dry-run").stdout.splitlines()
    assert ok[0].startswith("pass  contract_active: ")
    assert ok[-1].startswith("would be granted: standard key, expires ")
    granted = run.json(*key_issue(shop.acme_license, "standard"), "--dry-run")
    assert granted["outcome"] == "granted" and granted["code"] is None
    assert {c["check"] for c in granted["checks"]} >= {"contract_active", "plan_eligible"}
    refused = run.fails(
        *key_issue(shop.acme_license, "temporary", reason="usage_spike"), "--dry-run"
    )
    assert "FAIL  plan_eligible: " in refused.stdout
    assert refused.stderr.startswith("Error: would be refused: plan_not_eligible: ")
    as_json = run.fails(
        "--json", *key_issue(shop.acme_license, "temporary", reason="usage_spike"), "--dry-run"
    )
    assert json.loads(as_json.stdout)["code"] == "plan_not_eligible"
    assert [count(run, m) for m in (AuditRecord, IssuedKey, KeyRequest)] == before
    assert run.fails(
        *key_issue(shop.acme_license, "standard"), "--dry-run", "--override-reason", "x",
        exit_code=2,
    )  # fmt: skip
