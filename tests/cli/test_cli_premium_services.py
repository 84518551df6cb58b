"""`licensesvc service request|record`: an analyst records a Premium customer's upgrade,
health check and review; `customer show` and `entitlements` then show them, and what the
plan or the year does not allow is one line, exit 1, nothing recorded."""

from __future__ import annotations

from tests.cli.cli_helpers import Cli, Shop


def test_a_recorded_health_check_shows_on_customer_show_with_its_next_due(
    run: Cli, shop: Shop
) -> None:
    held = run.json("service", "record", shop.globex, "health_check", "--held-on", "2026-02-20")
    assert (held["status"], held["held_on"]) == ("held", "2026-02-20")
    services = {
        s["service"]: s for s in run.json("customer", "show", shop.globex)["premium_services"]
    }
    assert services["health_check"]["last_held"] == "2026-02-20"
    assert services["health_check"]["next_due"] == "2027-02-20"
    human = run.ok("customer", "show", shop.globex).stdout
    assert "Premium services" in human and "2027-02-20" in human


def test_the_years_upgrade_is_counted_and_a_second_refused(run: Cli, shop: Shop) -> None:
    run.ok("service", "request", shop.globex, "upgrade", "--planned-on", "2026-06-13")
    report = run.json("entitlements", "--customer", shop.globex)
    (upgrade,) = [s for s in report["premium_services"] if s["service"] == "upgrade"]
    assert (upgrade["used_this_year"], upgrade["left_this_year"]) == (1, 0)
    assert upgrade["requested_for"] == "2026-06-13"
    assert "1 of 1 this contract year" in run.ok("entitlements", "--customer", shop.globex).stdout
    held = run.json("service", "record", shop.globex, "upgrade", "--held-on", "2026-03-01")
    assert held["status"] == "held"  # the request, held earlier than planned
    refused = run.fails("service", "request", shop.globex, "upgrade", "--planned-on", "2026-09-01")
    assert refused.stderr.strip().startswith("Error: quota_exceeded: ")
    assert len(refused.stderr.strip().splitlines()) == 1


def test_a_base_customer_has_no_premium_services(run: Cli, shop: Shop) -> None:
    refused = run.fails("service", "record", shop.acme, "support_review", "--held-on", "2026-03-01")
    assert "plan_not_eligible" in refused.stderr
    services = run.json("customer", "show", shop.acme)["premium_services"]
    assert [s["included"] for s in services] == [False, False, False]
    run.fails("service", "record", shop.acme, "coffee", "--held-on", "2026-03-01", exit_code=2)
