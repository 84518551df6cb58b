"""The entitlement report and the license list over HTTP."""

from __future__ import annotations

from licensesvc.issuance.entitlements import entitlement_report
from licensesvc.platform.context import ServiceContext
from tests.conftest import World
from tests.licensesvc.api.api_helpers import Caller, assert_problem


def test_premium_customer_sees_its_entitlements(as_premium: Caller, world: World) -> None:
    report = as_premium.read("/v1/entitlements")
    assert report["plan"] == "premium"
    assert report["contract_active"] is True
    assert report["maintenance_current"] is True
    assert report["maintenance_paid_through"] == "2027-01-31"
    assert report["allowed_key_kinds"] == ["replacement", "dr_test", "temporary"]
    assert report["customer"] == {"id": world.premium_customer, "name": "Globex", "region": "emea"}
    sev2 = report["response_targets"][1]
    assert (sev2["severity"], sev2["initial_response"]) == (2, "2 Business Hours")
    assert report["quotas"]["dr_test"] == {
        "used": 0,
        "limit": 2,
        "period_start": "2026-01-31",
        "resets_on": "2027-01-31",
    }
    assert report["support_hours"]["core_hours"] == "08:00-18:00 GMT/BST"
    assert "Annual health check" in report["services"]


def test_the_report_carries_every_member_the_service_reports(
    as_base: Caller, world: World, analyst: ServiceContext
) -> None:
    served = as_base.read("/v1/entitlements")
    assert set(served) == set(entitlement_report(analyst, world.base_customer).as_dict())
    assert served["plan"] == "base"
    assert served["temporary_key_reasons"] == []


def test_analyst_names_the_customer_and_customers_may_name_only_themselves(
    as_base: Caller, as_analyst: Caller, world: World
) -> None:
    base_report = f"/v1/entitlements?customer_id={world.base_customer}"
    assert as_analyst.read(base_report)["plan"] == "base"
    missing = as_analyst.get("/v1/entitlements")
    assert "customer_id" in assert_problem(missing, 422, "validation_error")["errors"]
    assert as_base.get(base_report).status_code == 200
    other = as_base.get(f"/v1/entitlements?customer_id={world.premium_customer}")
    assert_problem(other, 404, "not_found")


def test_customer_lists_its_licenses_and_cannot_read_another(
    as_base: Caller, as_analyst: Caller, world: World
) -> None:
    mine = as_base.read("/v1/licenses")
    assert [lic["id"] for lic in mine] == [world.base_license]
    assert mine[0]["host"] == "sched.acme.example"
    assert mine[0]["failover_host"] == "dr.acme.example"
    assert mine[0]["expires_on"] is None
    assert as_base.read(f"/v1/licenses/{world.base_license}")["product"] == "JAMS Scheduler"
    other = as_base.get(f"/v1/licenses/{world.premium_license}")
    assert_problem(other, 404, "not_found")
    everyone = as_analyst.read("/v1/licenses")
    assert {lic["id"] for lic in everyone} == {world.base_license, world.premium_license}
