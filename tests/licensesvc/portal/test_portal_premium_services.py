"""The dashboard's Premium services section: the contract year's major upgrade as left of
allowed, the health check and the bi-annual review as last held and next due, as an analyst
recorded them; a Base customer reads what Premium would add."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy.orm import Session

from licensesvc import accounts
from licensesvc.platform.context import ServiceContext
from tests.conftest import FakeClock, World
from tests.licensesvc.portal.conftest import Browser


def section(page: str) -> str:
    found = re.search(r'<section[^>]*id="premium-services".*?</section>', page, re.S)
    assert found is not None
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", found.group(0)))


def test_a_premium_admin_sees_the_years_upgrade_and_the_next_health_check(
    premium_admin: Browser,
    analyst: ServiceContext,
    world: World,
    clock: FakeClock,
    session: Session,
) -> None:
    before = section(premium_admin.text("/"))
    assert "Major upgrade with out-of-hours support 1 of 1 left" in before
    held_on = clock.today - timedelta(days=2)
    accounts.record_service(analyst, world.premium_customer, "health_check", held_on)
    accounts.request_service(
        analyst, world.premium_customer, "upgrade", clock.today + timedelta(days=20)
    )
    session.commit()
    after = section(premium_admin.text("/"))
    next_check = held_on.replace(year=held_on.year + 1)
    assert f"Annual health check included {held_on:%Y-%m-%d} {next_check:%Y-%m-%d}" in after
    planned = clock.today + timedelta(days=20)
    assert "0 of 1 left" in after and f"requested for {planned:%Y-%m-%d}" in after
    assert "Bi-annual support review included not yet" in after


def test_a_base_admin_reads_what_premium_adds(base_admin: Browser) -> None:
    text = section(base_admin.text("/"))
    assert "The Premium plan adds one major upgrade a year" in text
    assert "Last held" not in text
