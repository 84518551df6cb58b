"""The Premium services the seed counts, as rules on dates: no database.

"One major upgrade per year, including support outside standard business hours" is a countable
entitlement like DR tests: each contract year allows `Policy.upgrades_per_contract_year`
(default 1), counted when it is requested (or recorded held without a request) and restarted
with the next contract year. The annual health check and the bi-annual support review meeting
(every 6 months: twice a year) are included, with the day they were last held and the day the
next is due: a cadence after the last one held, or after Premium cover began when none was.

Each service's rules are stated once, in `RULES`; licensesvc/accounts/premium_services.py reads
the records and applies them."""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date

from .vocabulary import Plan, PremiumService, ServiceRecordStatus


@dataclass(frozen=True)
class ServiceRule:
    """One Premium service: how often it falls due (months), or how many a contract year
    allows (a policy number's name)."""

    service: PremiumService
    every_months: int | None
    per_contract_year: str | None


RULES: dict[PremiumService, ServiceRule] = {
    PremiumService.UPGRADE: ServiceRule(PremiumService.UPGRADE, None, "upgrades_per_contract_year"),
    PremiumService.HEALTH_CHECK: ServiceRule(PremiumService.HEALTH_CHECK, 12, None),
    PremiumService.SUPPORT_REVIEW: ServiceRule(PremiumService.SUPPORT_REVIEW, 6, None),
}


def add_months(day: date, months: int) -> date:
    """The same day `months` later, the month's last day where it is shorter."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def next_due(rule: ServiceRule, last_held: date | None, premium_since: date) -> date | None:
    """The day the next one is due: `every_months` after the last one held, or after Premium
    cover began (`premium_since`) when none was; None for a service counted per year."""
    if rule.every_months is None:
        return None
    return add_months(last_held or premium_since, rule.every_months)


def service_problem(
    service: PremiumService,
    status: ServiceRecordStatus,
    day: date,
    today: date,
    plan_that_day: Plan | None,
    term: tuple[date, date] | None,
) -> tuple[str, str] | None:
    """Why a service cannot be recorded `status` on `day` (the planned day of a request, the
    day it was held), as (refusal code, words), or None. `term` is the first and last covered
    day of the contract in force that day; `plan_that_day` its plan that day."""
    name = service.value
    if status is ServiceRecordStatus.HELD and day > today:
        return "validation_error", f"a {name} is recorded held on {today} or before, not {day}"
    if status is ServiceRecordStatus.REQUESTED and day < today:
        return "validation_error", f"a {name} is requested for {today} or later, not {day}"
    if term is None or not term[0] <= day <= term[1]:
        return "validation_error", f"{day} is not inside a support contract's term"
    if plan_that_day is not Plan.PREMIUM:
        return "plan_not_eligible", f"the {name} is a Premium service; the plan on {day} is Base"
    return None


def quota_problem(service: PremiumService, used: int, allowed: int) -> tuple[str, str] | None:
    """The refusal when a contract year's count is used up, or None."""
    if used >= allowed:
        return (
            "quota_exceeded",
            f"{used} of {allowed} {service.value} allowed this contract year already on record",
        )
    return None
