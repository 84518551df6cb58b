"""The Premium services the seed counts: one major upgrade per contract year (requested,
tracked, used, restarted with the next contract year), the annual health check and the
bi-annual review as included, last held and next due; recorded by an analyst with audit, shown
in the entitlement report and on `customer show`'s overview."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from licensesvc import accounts
from licensesvc.domain import premium_services as rules
from licensesvc.domain.errors import Forbidden, InvalidState, ServiceRefused
from licensesvc.issuance import entitlement_report
from licensesvc.models import AuditRecord, ServiceRecord


def statuses(contexts, customer_id):
    report = entitlement_report(contexts.customer(customer_id), customer_id)
    return {s.service.value: s for s in report.premium_services}


def test_a_premium_customer_sees_each_service_included_with_its_next_due(world, contexts, clock):
    start = clock.today - timedelta(days=30)
    seen = statuses(contexts, world.premium_customer)
    upgrade = seen["upgrade"]
    assert (upgrade.included, upgrade.per_contract_year, upgrade.used_this_year) == (True, 1, 0)
    assert upgrade.left_this_year == 1
    assert upgrade.resets_on == start.replace(year=start.year + 1)
    assert seen["health_check"].next_due == rules.add_months(start, 12)
    assert seen["support_review"].next_due == rules.add_months(start, 6)
    assert seen["health_check"].last_held is None and not seen["health_check"].overdue


def test_a_base_customer_sees_them_not_included(world, contexts):
    seen = statuses(contexts, world.base_customer)
    assert [s.included for s in seen.values()] == [False, False, False]
    assert seen["upgrade"].left_this_year is None and seen["health_check"].next_due is None


def test_one_upgrade_per_contract_year_requested_held_then_refused_then_restarted(
    world, contexts, clock
):
    analyst = contexts.analyst()
    customer = world.premium_customer
    planned = clock.today + timedelta(days=10)
    asked = accounts.request_service(analyst, customer, "upgrade", planned, "v7 to v8")
    assert (asked.status, asked.planned_on) == ("requested", planned)
    seen = statuses(contexts, customer)["upgrade"]
    assert (seen.used_this_year, seen.left_this_year, seen.requested_for) == (1, 0, planned)

    clock.advance(days=10)
    held = accounts.record_service(analyst, customer, "upgrade", clock.today)
    assert (held.id, held.status, held.held_on) == (asked.id, "held", clock.today)
    assert statuses(contexts, customer)["upgrade"].last_held == clock.today

    with pytest.raises(ServiceRefused) as refused:
        accounts.request_service(analyst, customer, "upgrade", clock.today + timedelta(days=5))
    assert refused.value.code == "quota_exceeded"
    assert "1 of 1 upgrade" in refused.value.message
    with pytest.raises(ServiceRefused):
        accounts.record_service(analyst, customer, "upgrade", clock.today)
    assert len(analyst.session.scalars(select(ServiceRecord)).all()) == 1

    resets = statuses(contexts, customer)["upgrade"].resets_on
    accounts.renew_contract(analyst, world.premium_contract, resets + timedelta(days=364))
    clock.advance(days=(resets - clock.today).days + 1)
    seen = statuses(contexts, customer)["upgrade"]
    assert (seen.used_this_year, seen.left_this_year) == (0, 1)
    assert seen.last_held == held.held_on
    accounts.request_service(analyst, customer, "upgrade", clock.today + timedelta(days=3))
    assert statuses(contexts, customer)["upgrade"].left_this_year == 0


def test_a_held_health_check_and_review_move_their_next_due(world, contexts, clock):
    analyst = contexts.analyst()
    customer = world.premium_customer
    held_on = clock.today - timedelta(days=3)
    accounts.record_service(analyst, customer, "health_check", held_on, "all green")
    accounts.record_service(analyst, customer, "support_review", held_on)
    seen = statuses(contexts, customer)
    assert (seen["health_check"].last_held, seen["health_check"].next_due) == (
        held_on,
        rules.add_months(held_on, 12),
    )
    assert seen["support_review"].next_due == rules.add_months(held_on, 6)
    clock.advance(days=200)
    assert statuses(contexts, customer)["support_review"].overdue
    assert not statuses(contexts, customer)["health_check"].overdue


def test_every_record_writes_audit(world, contexts, clock):
    analyst = contexts.analyst()
    record = accounts.record_service(analyst, world.premium_customer, "health_check", clock.today)
    actions = analyst.session.scalars(
        select(AuditRecord.action).where(AuditRecord.entity_id == str(record.id))
    ).all()
    assert "service.held" in actions


@pytest.mark.parametrize(
    ("customer", "service", "days", "code"),
    [
        ("base_customer", "health_check", 0, "plan_not_eligible"),
        ("premium_customer", "health_check", 1, "validation_error"),  # held tomorrow
        ("premium_customer", "upgrade", -400, "validation_error"),  # before the term
    ],
)
def test_what_cannot_be_recorded_is_refused_and_records_nothing(
    world, contexts, clock, customer, service, days, code
):
    analyst = contexts.analyst()
    with pytest.raises(ServiceRefused) as refused:
        accounts.record_service(
            analyst, getattr(world, customer), service, clock.today + timedelta(days=days)
        )
    assert refused.value.code == code
    assert analyst.session.scalars(select(ServiceRecord)).all() == []


def test_only_analysts_record_and_one_request_at_a_time(world, contexts, clock):
    customer = world.premium_customer
    with pytest.raises(Forbidden):
        accounts.record_service(contexts.customer(customer), customer, "upgrade", clock.today)
    analyst = contexts.analyst()
    accounts.request_service(analyst, customer, "health_check", clock.today + timedelta(days=7))
    with pytest.raises(InvalidState):
        accounts.request_service(analyst, customer, "health_check", clock.today + timedelta(9))


def test_customer_show_carries_the_services(world, contexts, clock):
    analyst = contexts.analyst()
    accounts.record_service(analyst, world.premium_customer, "support_review", clock.today)
    overview = accounts.customer_overview(analyst, world.premium_customer)
    review = {s.service.value: s for s in overview.premium_services}["support_review"]
    assert (review.included, review.last_held) == (True, clock.today)


def test_months_are_added_to_the_months_last_day():
    assert rules.add_months(date(2026, 8, 31), 6) == date(2027, 2, 28)
    assert rules.add_months(date(2026, 1, 15), 12) == date(2027, 1, 15)
