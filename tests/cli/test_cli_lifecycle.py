"""The analyst's story of a contract over a year, through the CLI: a plan change, payments
and a correction, a renewal, a termination, license changes and retirement, a customer's
calendar, and escalated cases worked in order with status updates."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from licensesvc.models import ContractPayment, LicenseChange
from tests.cli.cli_helpers import Cli, Shop, command, count, key_issue


def test_a_contract_changes_plan_is_paid_corrected_renewed_and_terminated(
    run: Cli, shop: Shop
) -> None:
    c = shop.acme_contract
    changed = run.json(
        *command(
            "contract",
            "change-plan",
            contract=c,
            plan="premium",
            **{"from": "2026-03-02"},
            reason="upgrade signed",
        )
    )
    assert changed["plan"] == "base" and changed["plan_today"] == "premium"
    assert [h["plan"] for h in changed["plan_history"]] == ["base", "premium"]
    # the upgrade lets Acme have a temporary key today
    assert run.json(*key_issue(shop.acme_license, "temporary", reason="usage_spike"))["serial"]

    refused = run.fails(
        *command("contract", "record-payment", contract=c, paid_through="2027-12-31")
    )
    assert refused.stderr == (
        "Error: validation_error: maintenance cannot be paid through 2027-12-31: the contract "
        "ends on 2026-12-31; record the payment on its renewal (`licensesvc contract renew`)\n"
    )
    run.ok(
        *command(
            "contract",
            "record-payment",
            contract=c,
            paid_through="2026-06-30",
            correction=True,
            reason="INV-7 covered half a year",
        )
    )
    run.ok(
        *command(
            "contract", "record-payment", contract=c, paid_through="2026-12-31", invoice="INV-8"
        )
    )
    ledger = run.json(*command("contract", "payments", contract=c))  # newest first
    assert [(e["paid_through"], e["invoice"], e["correction"]) for e in ledger] == [
        ("2026-12-31", "INV-8", False),
        ("2026-06-30", None, True),
        ("2026-12-31", None, False),
    ]
    table = run.ok(*command("contract", "payments", contract=c)).stdout.splitlines()
    assert table[0].split()[:3] == ["ENTRY", "PAID", "THROUGH"]

    renewal = run.json(
        *command("contract", "renew", contract=c, end="2027-12-31", paid_through="2027-12-31")
    )
    assert (renewal["start"], renewal["renews"], renewal["plan"]) == ("2027-01-01", c, "premium")
    again = run.fails(*command("contract", "renew", contract=c, end="2028-12-31"))
    assert f"already renewed by contract {renewal['id']}" in again.stderr

    ended = run.ok(
        *command(
            "contract",
            "terminate",
            contract=renewal["id"],
            on="2027-06-30",
            reason="sold the business",
        )
    ).stdout
    assert "terminated on  2027-06-30" in ended
    trail = run.json("audit", "list", "--entity", f"contract:{c}")
    assert [r["action"] for r in trail][:4] == [
        "contract.payment_recorded",
        "contract.payment_corrected",
        "contract.plan_changed",
        "contract.created",
    ]


def test_an_overlapping_contract_is_refused_and_nothing_is_written(run: Cli, shop: Shop) -> None:
    before = count(run, ContractPayment)
    result = run.fails(
        *command(
            "contract",
            "create",
            customer=shop.acme,
            plan="premium",
            start="2026-06-01",
            end="2027-05-31",
            paid_through="2027-05-31",
        )
    )
    assert (
        f"Error: conflict: contract {shop.acme_contract} (2026-01-01 .. 2026-12-31)"
        in result.stderr
    )
    assert "renew it (`contract renew`)" in result.stderr
    assert count(run, ContractPayment) == before


def test_a_license_is_updated_then_retired(run: Cli, shop: Shop) -> None:
    lic = shop.acme_license
    updated = run.json(
        "license", "update", lic, "--agents", 25, "--jobs", 2000, "--reason", "order 88"
    )
    assert (updated["agents"], updated["jobs"]) == (25, 2000)
    assert updated["changes"][0]["changes"] == {"agents": [10, 25], "jobs": [1000, 2000]}
    same = run.fails("license", "update", lic, "--agents", 25, "--reason", "again")
    assert "nothing to change" in same.stderr
    assert count(run, LicenseChange) == 1
    missing = run.fails("license", "update", lic, "--agents", 30, exit_code=2)
    assert "Missing option '--reason'" in missing.stderr
    retired = run.json("license", "retire", lic, "--reason", "server decommissioned")
    assert retired["retired_at"]
    refused = run.fails(*key_issue(lic, "standard"))
    assert "refused: validation_error (case CS-" in refused.stderr
    assert f"license {lic} was retired on" in refused.stderr


def test_a_customer_region_and_calendar_change(run: Cli, shop: Shop) -> None:
    shown = run.json("customer", "update", shop.globex, "--holidays", "GB-SCT")
    assert shown["holidays"] == "GB-SCT"
    moved = run.json("customer", "update", shop.acme, "--region", "apac")
    assert (moved["region"], moved["holidays"]) == ("apac", "AU-NSW")
    bad = run.fails("customer", "update", shop.acme, "--holidays", "GB-XYZ")
    assert bad.stderr.startswith("Error: validation_error: GB has no subdivision 'XYZ'")
    usage = run.fails("customer", "update", shop.acme, exit_code=2)
    assert "give --region or --holidays" in usage.stderr
    made = run.json(
        "customer", "create", "--name", "Wayne", "--region", "apac", "--holidays", "AU-VIC"
    )
    assert made["holidays"] == "AU-VIC"


def refused_case(run: Cli, shop: Shop) -> str:
    args = key_issue(shop.acme_license, "temporary", reason="usage_spike")
    return str(json.loads(run.fails(*args, "--json").stdout)["case_number"])


def test_escalated_cases_are_worked_overdue_first_with_status_updates(
    run: Cli, shop: Shop, clock
) -> None:
    first = refused_case(run, shop)
    escalated = run.ok(
        "case", "escalate", first, "--severity", 2, "--reason", "review_refusal"
    ).stdout
    # Monday 10:00 EST, Base Sev 2: 4 business hours; updates every 2 business days
    assert escalated == (
        f"escalated {first} (review_refusal, Sev 2); respond by 2026-03-02T19:00:00Z, next update "
        "due 2026-03-04T15:00:00Z\n"
        "Phone call is required to meet the service goal for Sev 2: call 1-800-261-5267.\n"
    )
    clock.set(datetime(2026, 3, 2, 20, 0, tzinfo=UTC))  # past the first case's respond-by
    second = refused_case(run, shop)
    run.ok("case", "escalate", second, "--severity", 4)
    listed = run.json("case", "list", "--escalated")
    assert [(r["case_number"], r["overdue"]) for r in listed] == [(first, True), (second, False)]
    assert [r["case_number"] for r in run.json("case", "list", "--overdue")] == [first]
    header = run.ok("case", "list", "--escalated").stdout.splitlines()[0].split()
    assert header[:4] == ["CASE", "SEV", "CUSTOMER", "PRODUCT"] and "OVERDUE" in header

    updated = run.ok(
        "case", "update", first, "--text", "Key approved, issuing within the hour"
    ).stdout
    assert updated == f"updated {first}; next update due 2026-03-04T20:00:00Z\n"
    assert run.json("case", "list", "--overdue") == []
    shown = run.json("case", "show", first)
    assert [u["text"] for u in shown["updates"]] == ["Key approved, issuing within the hour"]
    assert shown["responded_at"] == "2026-03-02T20:00:00Z"
    again = run.fails("case", "escalate", first, "--reason", "response_time_not_met")
    assert "already escalated and on time" in again.stderr
    assert run.fails("case", "escalate", first, "--reason", "bored", exit_code=2)

    granted = run.json("case", "grant", first, "--reason", "lead approved")
    assert (
        granted["original_refusal_code"] == "plan_not_eligible" and granted["refusal_code"] is None
    )
