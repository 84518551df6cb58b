"""What an analyst tripped on: a typo in `key issue` that left a refused case in the customer's
portal, cases and reports that named a customer only by id, an `entitlements` table that left
out what the JSON says, a queue with respond-by in every zone but the customer's, and help
that did not say which host a DR-test key is bound to or what each severity means."""

from __future__ import annotations

import json
from typing import Any

import pytest

from licensesvc.domain import support_plan
from licensesvc.models import KeyRequest
from tests.cli.cli_helpers import Cli, Shop, count, key_issue


@pytest.mark.parametrize(
    ("kind", "options", "missing"),
    [
        ("dr_test", {}, "--dr-test-date"),
        ("temporary", {}, "--reason"),
    ],
)
def test_key_issue_missing_what_its_kind_needs_records_no_case(
    run: Cli, shop: Shop, kind: str, options: dict[str, Any], missing: str
) -> None:
    before = count(run, KeyRequest)
    result = run.fails(*key_issue(shop.globex_license, kind, **options))
    assert result.stderr == f"Error: a {kind} key needs {missing}; nothing was recorded\n"
    assert result.stdout == ""
    assert count(run, KeyRequest) == before  # no refused validation_error case appears
    # the dry run still lists the failing check (it records nothing anyway)
    dry = run.fails(*key_issue(shop.globex_license, kind, **options), "--dry-run")
    assert "FAIL  request_valid" in dry.stdout


def test_key_issue_help_says_a_dr_test_key_is_bound_to_the_failover_host(run: Cli) -> None:
    text = " ".join(run.ok("key", "issue", "--help").stdout.split())
    assert (
        "for a dr_test key the license's failover host, and required when the license has none"
        in text
    )


def test_a_dr_test_key_issued_without_a_host_is_bound_to_the_failover_host(
    run: Cli, shop: Shop
) -> None:
    issued = run.json(*key_issue(shop.acme_license, "dr_test", dr_test_date="2026-03-20"))
    shown = run.json("key", "show", issued["serial"])
    assert shown["host"] == "dr.acme.example"


def test_case_escalate_help_defines_each_severity_as_the_seed_does(run: Cli) -> None:
    text = " ".join(run.ok("case", "escalate", "--help").stdout.split())
    for s in support_plan.SEVERITIES:
        assert f"{s.level} - {s.name}: {s.definition}" in text


def _refused_case(run: Cli, shop: Shop) -> str:
    result = run.fails("--json", *key_issue(shop.acme_license, "temporary", reason="usage_spike"))
    return str(json.loads(result.stdout)["case_number"])


def test_case_show_names_the_customer(run: Cli, shop: Shop) -> None:
    number = _refused_case(run, shop)
    lines = run.ok("case", "show", number, "--tz", "UTC").stdout.splitlines()
    assert any(line.split() == ["customer", "Acme"] for line in lines), lines
    assert run.json("case", "show", number)["customer"] == "Acme"


def test_keys_expiring_names_the_customer(run: Cli, shop: Shop) -> None:
    run.json(*key_issue(shop.globex_license, "temporary", reason="usage_spike"))
    rows = run.json("report", "keys-expiring", "--days", "120")
    assert [r["customer"] for r in rows] == ["Globex"]
    table = run.ok("report", "keys-expiring", "--days", "120").stdout.splitlines()
    assert table[0].split()[:4] == ["SERIAL", "KIND", "CUSTOMER", "ID"]
    assert table[1].split()[2] == "Globex"


def test_human_entitlements_show_cover_phone_and_services_like_the_json(
    run: Cli, shop: Shop
) -> None:
    data = run.json("entitlements", "--customer", shop.globex)
    text = run.ok("entitlements", "--customer", shop.globex).stdout
    hours = data["support_hours"]
    assert hours["sev1_cover"] == "24x7" and hours["support_phone"]
    for label, value in (
        ("Sev 1 cover", hours["sev1_cover"]),
        ("support phone", hours["support_phone"]),
        ("after hours", hours["after_hours"]),
        ("root-cause analysis", data["root_cause_analysis"]),
    ):
        line = next(line for line in text.splitlines() if line.startswith(label))
        assert line.split(None, len(label.split()))[-1] == value
    assert data["services"]
    for service in data["services"]:
        assert f"  - {service}" in text


def test_the_queue_shows_respond_by_in_the_customers_zone_beside_the_analysts(
    run: Cli, shop: Shop
) -> None:
    number = _refused_case(run, shop)
    run.ok("case", "escalate", number, "--severity", "2")
    lines = run.ok("case", "list", "--escalated", "--tz", "Asia/Tokyo").stdout.splitlines()
    assert "RESPOND BY (LOCAL)" in lines[0] and "RESPOND BY (CUSTOMER)" in lines[0]
    # Acme (NA) escalated Monday 10:00 EST, Sev 2 on Base: 4 business hours, 14:00 in New York
    assert "2026-03-03 04:00 JST" in lines[1] and "2026-03-02 14:00 EST" in lines[1]
    row = run.json("case", "list", "--escalated", "--tz", "Asia/Tokyo")[0]
    assert row["customer_timezone"] == "America/New_York"
    assert row["respond_by_customer"] == "2026-03-02T14:00:00-05:00"
    assert row["respond_by_local"] == "2026-03-03T04:00:00+09:00"
