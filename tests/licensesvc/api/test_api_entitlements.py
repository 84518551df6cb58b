"""The entitlement report and the license list over HTTP."""

from __future__ import annotations

from flask.testing import FlaskClient

from licensesvc.services.context import ServiceContext
from licensesvc.services.entitlements import entitlement_report
from tests.conftest import World
from tests.licensesvc.api.api_helpers import Tokens, assert_problem, bearer


def test_premium_customer_sees_its_entitlements(
    api_client: FlaskClient, tokens_for: Tokens, world: World
) -> None:
    r = api_client.get("/v1/entitlements", headers=bearer(tokens_for.premium))
    assert r.status_code == 200
    report = r.get_json()
    assert report["plan"] == "premium"
    assert report["contract_active"] is True
    assert report["maintenance_current"] is True
    assert report["maintenance_paid_through"] == "2027-01-31"
    assert report["allowed_key_kinds"] == ["replacement", "dr_test", "temporary"]
    assert report["customer"] == {"id": world.premium_customer, "name": "Globex", "region": "emea"}
    sev2 = report["response_targets"][1]
    assert (sev2["severity"], sev2["initial_response"]) == (2, "2 Business Hours")
    assert report["quotas"]["dr_test"] == {"used": 0, "limit": 2, "period_start": "2026-01-31"}
    assert report["support_hours"]["core_hours"] == "08:00-18:00 GMT"
    assert "Annual health check" in report["services"]


def test_the_report_carries_every_member_the_service_reports(
    api_client: FlaskClient, tokens_for: Tokens, world: World, analyst: ServiceContext
) -> None:
    served = api_client.get("/v1/entitlements", headers=bearer(tokens_for.base)).get_json()
    assert set(served) == set(entitlement_report(analyst, world.base_customer))
    assert served["plan"] == "base"
    assert served["temporary_key_reasons"] == []


def test_analyst_names_the_customer_and_customers_may_name_only_themselves(
    api_client: FlaskClient, tokens_for: Tokens, world: World
) -> None:
    r = api_client.get(
        f"/v1/entitlements?customer_id={world.base_customer}", headers=bearer(tokens_for.analyst)
    )
    assert r.get_json()["plan"] == "base"
    missing = api_client.get("/v1/entitlements", headers=bearer(tokens_for.analyst))
    assert "customer_id" in assert_problem(missing, 422, "validation_error")["errors"]
    own = api_client.get(
        f"/v1/entitlements?customer_id={world.base_customer}", headers=bearer(tokens_for.base)
    )
    assert own.status_code == 200
    other = api_client.get(
        f"/v1/entitlements?customer_id={world.premium_customer}", headers=bearer(tokens_for.base)
    )
    assert_problem(other, 404, "not_found")


def test_customer_lists_its_licenses_and_cannot_read_another(
    api_client: FlaskClient, tokens_for: Tokens, world: World
) -> None:
    mine = api_client.get("/v1/licenses", headers=bearer(tokens_for.base)).get_json()
    assert [lic["id"] for lic in mine] == [world.base_license]
    assert mine[0]["host"] == "sched.acme.example"
    assert mine[0]["failover_host"] == "dr.acme.example"
    assert mine[0]["expires_on"] is None
    one = api_client.get(f"/v1/licenses/{world.base_license}", headers=bearer(tokens_for.base))
    assert one.get_json()["product"] == "JAMS Scheduler"
    other = api_client.get(f"/v1/licenses/{world.premium_license}", headers=bearer(tokens_for.base))
    assert_problem(other, 404, "not_found")
    everyone = api_client.get("/v1/licenses", headers=bearer(tokens_for.analyst)).get_json()
    assert {lic["id"] for lic in everyone} == {world.base_license, world.premium_license}
