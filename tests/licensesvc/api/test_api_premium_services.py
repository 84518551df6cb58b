"""GET /v1/entitlements carries the Premium services: the contract year's major upgrade as
used and left, the health check and the review as last held and next due."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.orm import Session

from licensesvc import accounts
from licensesvc.platform.context import ServiceContext
from tests.conftest import FakeClock, World
from tests.licensesvc.api.api_helpers import Caller


def test_a_premium_customer_reads_its_services_after_an_analyst_records_them(
    as_premium: Caller, world: World, analyst: ServiceContext, clock: FakeClock, session: Session
) -> None:
    held_on = clock.today - timedelta(days=1)
    accounts.record_service(analyst, world.premium_customer, "support_review", held_on)
    accounts.record_service(analyst, world.premium_customer, "upgrade", held_on)
    session.commit()
    services = {s["service"]: s for s in as_premium.read("/v1/entitlements")["premium_services"]}
    assert list(services) == ["upgrade", "health_check", "support_review"]
    assert services["upgrade"] | {"resets_on": None} == {
        "service": "upgrade",
        "included": True,
        "every_months": None,
        "per_contract_year": 1,
        "used_this_year": 1,
        "left_this_year": 0,
        "resets_on": None,
        "last_held": held_on.isoformat(),
        "next_due": None,
        "overdue": False,
        "requested_for": None,
    }
    review = services["support_review"]
    assert (review["last_held"], review["every_months"]) == (held_on.isoformat(), 6)
    assert review["next_due"] == held_on.replace(month=held_on.month + 6).isoformat()


def test_a_base_customer_reads_them_not_included(as_base: Caller) -> None:
    services = as_base.read("/v1/entitlements")["premium_services"]
    assert [(s["service"], s["included"]) for s in services] == [
        ("upgrade", False),
        ("health_check", False),
        ("support_review", False),
    ]
