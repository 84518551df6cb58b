"""A DR-test key over HTTP: bound to the license's failover host when the request names no
host; a license without a failover host must name one (422 validation_error, with a case); the
OpenAPI document says so."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.orm import Session

import keys
from licensesvc.platform.context import ServiceContext
from tests.conftest import FakeClock
from tests.licensesvc.api.api_helpers import Caller, Tokens, add_customer, assert_problem


def test_a_dr_test_key_without_a_host_is_bound_to_the_failover_host(as_base: Caller) -> None:
    key = as_base.issue("dr_test", dr_test_date="2026-03-20")
    assert key["host"] == "dr.acme.example"
    assert keys.decode_unverified(key["key"]).failover_host is None


def test_a_license_without_failover_host_must_name_the_dr_host(
    api_client, analyst: ServiceContext, tokens_for: Tokens, session: Session, clock: FakeClock
) -> None:
    today = clock.today
    customer, lic = add_customer(
        analyst,
        tokens_for,
        "Initrode",
        "base",
        start=today - timedelta(days=30),
        end=today + timedelta(days=300),
        paid_through=today + timedelta(days=300),
    )
    session.commit()
    caller = Caller(api_client, tokens_for.of(customer), lic)
    r = caller.ask_for_key("dr_test", dr_test_date="2026-03-20")
    body = assert_problem(r, 422, "validation_error")
    assert body["detail"] == (
        f"license {lic} has no failover host: name the DR host the DR-test key is for (host)"
    )
    assert body["case_number"]  # the refusal is a case, as every refusal
    key = caller.issue("dr_test", dr_test_date="2026-03-20", host="dr.initrode.example")
    assert key["host"] == "dr.initrode.example"


def test_the_openapi_description_of_host_names_the_failover_default(as_base: Caller) -> None:
    spec = as_base.read("/openapi.json")
    schemas = spec["components"]["schemas"]
    described = [
        s["properties"]["host"].get("description", "")
        for s in schemas.values()
        if "dr_test_date" in s.get("properties", {})
        and "override_reason" in s.get("properties", {})  # the request body, not a case
    ]
    assert described
    assert all(
        "for `dr_test` the license's failover host, and required when the license has none" in d
        for d in described
    )
