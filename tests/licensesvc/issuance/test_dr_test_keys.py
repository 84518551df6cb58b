"""A DR-test key as the customer's admin installs it on the DR server on test day: bound to the
license's failover host unless the request names another host (a license without a failover
host must name it), valid over the customer's own calendar days around the test."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

import keys
from licensesvc.accounts import customers
from licensesvc.issuance import signing
from licensesvc.issuance.key_requests import (
    Decision,
    KeyRequestInput,
    explain_request,
)
from licensesvc.models import KeyRequest
from tests.conftest import Contexts, FakeClock, World
from tests.licensesvc.service_helpers import ask, refusal


def test_dr_test_key_without_a_host_is_bound_to_the_failover_host(
    world: World, contexts: Contexts, analyst
) -> None:
    cust = contexts.customer(world.base_customer)
    out = ask(
        cust,
        world.base_license,
        "dr_test",
        dr_test_date=contexts.clock.today + timedelta(days=10),
    )
    assert out.case.status == "granted"
    claims = keys.decode_unverified(out.key.key_text)
    assert claims.host == "dr.acme.example" and claims.failover_host is None
    # installed on the DR server on test day, it verifies there (and only there)
    trusted = signing.trusted_public_keys(analyst)
    on_test_day = datetime.combine(contexts.clock.today + timedelta(days=10), datetime.min.time())
    at = on_test_day.replace(hour=12, tzinfo=UTC)
    keys.verify(out.key.key_text, trusted, at=at, host="dr.acme.example")
    with pytest.raises(keys.WrongHost):
        keys.verify(out.key.key_text, trusted, at=at, host="sched.acme.example")


def test_a_named_dr_host_wins_over_the_failover_host(world: World, contexts: Contexts) -> None:
    out = ask(
        contexts.customer(world.base_customer),
        world.base_license,
        "dr_test",
        dr_test_date=contexts.clock.today + timedelta(days=10),
        host="DR-Site.acme.example",
    )
    assert keys.decode_unverified(out.key.key_text).host == "dr-site.acme.example"


def _license_without_failover(analyst, world: World) -> int:
    return customers.create_license(
        analyst, world.base_customer, "JAMS Scheduler", 5, 100, "solo.acme.example"
    ).id


def test_a_license_without_failover_host_must_name_the_dr_host(
    world: World, contexts: Contexts, analyst
) -> None:
    lic = _license_without_failover(analyst, world)
    cust = contexts.customer(world.base_customer)
    day = contexts.clock.today + timedelta(days=10)
    out = ask(cust, lic, "dr_test", dr_test_date=day)
    assert refusal(out) == "validation_error"
    assert out.case.refusal_message == (
        f"license {lic} has no failover host: name the DR host the DR-test key is for (host)"
    )
    assert out.key is None
    # the dry run says the same before anything is recorded
    dry = explain_request(cust, KeyRequestInput(lic, "dr_test", dr_test_date=day))
    assert isinstance(dry, Decision) and dry.refusal is not None
    assert dry.refusal.code == "validation_error"
    assert "no failover host" in dry.refusal.detail
    named = ask(cust, lic, "dr_test", dr_test_date=day, host="dr9.acme.example")
    assert named.case.status == "granted"
    assert keys.decode_unverified(named.key.key_text).host == "dr9.acme.example"


def test_the_dry_run_names_the_failover_host_the_key_is_bound_to(
    world: World, contexts: Contexts
) -> None:
    day = contexts.clock.today + timedelta(days=10)
    dry = explain_request(
        contexts.customer(world.base_customer),
        KeyRequestInput(world.base_license, "dr_test", dr_test_date=day),
    )
    assert isinstance(dry, Decision) and dry.refusal is None
    hosts = next(c for c in dry.checks if c.name == "hosts_within_contract")
    assert hosts.detail == (
        "bound to the DR host dr.acme.example, the license's failover host; "
        "one DR-test host in its window"
    )


def test_an_analysts_grant_of_a_dr_case_binds_the_failover_host(
    world: World, contexts: Contexts, analyst
) -> None:
    from licensesvc.issuance.key_requests import grant_case

    cust = contexts.customer(world.base_customer)
    # too close to today: refused invalid_window, then granted by an analyst anyway
    out = ask(cust, world.base_license, "dr_test", dr_test_date=contexts.clock.today)
    assert refusal(out) == "invalid_window"
    granted = grant_case(analyst, out.case.case_number, "test moved, approved by lead")
    assert keys.decode_unverified(granted.key.key_text).host == "dr.acme.example"


# -- the DR window in the customer's calendar days -------------------------------------------


@pytest.mark.parametrize(
    ("region", "zone"),
    [("na", "America/New_York"), ("emea", "Europe/London"), ("apac", "Australia/Sydney")],
)
def test_the_dr_window_runs_over_the_customers_calendar_days(
    analyst, contexts: Contexts, clock: FakeClock, region: str, zone: str
) -> None:
    today = clock.today
    c = customers.create_customer(analyst, f"DR {region}", region)
    customers.create_contract(
        analyst,
        c.id,
        "base",
        today - timedelta(days=30),
        today + timedelta(days=335),
        today + timedelta(days=335),
    )
    lic = customers.create_license(
        analyst, c.id, "JAMS", 5, 100, "sched.dr.example", failover_host="dr.dr.example"
    )
    test_day = date(2026, 7, 15)
    out = ask(contexts.customer(c.id), lic.id, "dr_test", dr_test_date=test_day)
    assert out.case.status == "granted", out.case.refusal_message
    tz = ZoneInfo(zone)
    first, last = test_day - timedelta(days=2), test_day + timedelta(days=5)
    # from the customer's midnight of the window's first day to the last second of its last
    assert out.key.not_before == datetime.combine(first, datetime.min.time(), tz)
    assert out.key.expires_at == datetime.combine(
        last, datetime.max.time().replace(microsecond=0), tz
    )
    assert out.key.not_before.astimezone(tz).date() == first
    assert out.key.expires_at.astimezone(tz).date() == last
    stored = contexts.session.scalar(
        select(KeyRequest).where(KeyRequest.case_number == out.case.case_number)
    )
    assert stored is not None and stored.dr_test_date == test_day
