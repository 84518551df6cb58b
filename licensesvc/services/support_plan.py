"""What each plan promises, from the vendor's support overview, and business-hours arithmetic
for respond-by times (core support hours of the customer's region, local holidays excluded)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

import holidays


@dataclass(frozen=True)
class Target:
    """A response target: an amount of business hours or business days."""

    amount: int
    unit: str  # "business_hours" | "business_days"

    def text(self) -> str:
        word = "Business Hour" if self.unit == "business_hours" else "Business Day"
        return f"{self.amount} {word}{'s' if self.amount != 1 else ''}"


@dataclass(frozen=True)
class Severity:
    level: int
    name: str
    definition: str
    phone_required: bool
    initial_base: Target
    initial_premium: Target
    updates: str


SEVERITIES: tuple[Severity, ...] = (
    Severity(
        1,
        "Critical",
        "Complete loss of service; a production business-critical component is completely "
        "inoperable and no workaround exists.",
        True,
        Target(1, "business_hours"),
        Target(1, "business_hours"),
        "Daily",
    ),
    Severity(
        2,
        "High",
        "Severe loss of service; work continues in a limited capacity, possibly with a "
        "workaround; a business-critical production component is affected.",
        True,
        Target(4, "business_hours"),
        Target(2, "business_hours"),
        "Every 2 Business Days",
    ),
    Severity(
        3,
        "Normal",
        "Minor loss of service; work continues despite an inconvenience or a non-critical issue.",
        False,
        Target(1, "business_days"),
        Target(4, "business_hours"),
        "Every 5 Business Days",
    ),
    Severity(
        4,
        "Low",
        "A non-critical component malfunctions with moderate to minor impact, or a "
        "non-technical request.",
        False,
        Target(2, "business_days"),
        Target(1, "business_days"),
        "As agreed upon with customer",
    ),
)


@dataclass(frozen=True)
class Region:
    code: str
    name: str
    timezone: str
    timezone_label: str
    opens: time
    closes: time
    holiday_country: str

    @property
    def hours_per_day(self) -> int:
        return self.closes.hour - self.opens.hour


REGIONS: dict[str, Region] = {
    # the seed says "8AM - 6PM GMT": GMT all year, not British Summer Time
    "emea": Region("emea", "EMEA", "GMT", "GMT", time(8), time(18), "GB"),
    "na": Region("na", "North America", "America/New_York", "EST/EDT", time(8), time(18), "US"),
    "apac": Region("apac", "APAC", "Australia/Sydney", "AU", time(8), time(17), "AU"),
}

BASE_SERVICES = (
    "Severity defined support response",
    "Multi-channel support: phone, email and online web portal",
    "Remote desktop sharing for complex issues",
    "Root-cause analysis of system issues when applicable",
    "Software updates, including bug fixes and product enhancements",
    "Product upgrade planning assistance",
    "License key assistance: replacement keys and DR-test keys",
    "Escalation path for support requests",
)
PREMIUM_EXTRAS = (
    "Annual health check",
    "Bi-annual support review meeting",
    "Upgrade assistance: one major upgrade per year, including outside business hours",
    "Services deliverables: deployment advisory, custom reports, integration workloads, "
    "workarounds, job and workflow optimization",
    "120-day temporary license keys",
)
ROOT_CAUSE_SCOPE = {
    "base": "Root-cause analysis for severity 1 issues only",
    "premium": "Root-cause analysis for product outages and severe performance degradation "
    "when applicable to the case",
}
AFTER_HOURS = "24x5 or 24x7 support for Sev 1 issues"


def initial_target(plan: str, severity: int) -> Target:
    sev = SEVERITIES[severity - 1]
    return sev.initial_premium if plan == "premium" else sev.initial_base


def response_targets(plan: str) -> list[dict[str, Any]]:
    """Return the severity table as the plan sees it: initial response and update targets."""
    rows = []
    for sev in SEVERITIES:
        target = initial_target(plan, sev.level)
        rows.append(
            {
                "severity": sev.level,
                "name": sev.name,
                "definition": sev.definition,
                "phone_required": sev.phone_required,
                "initial_response": target.text(),
                "initial_response_amount": target.amount,
                "initial_response_unit": target.unit,
                "status_updates": sev.updates,
            }
        )
    return rows


def support_hours() -> list[dict[str, Any]]:
    """Return core support hours of every region."""
    return [
        {
            "region": r.code,
            "name": r.name,
            "hours": f"{r.opens:%H:%M}-{r.closes:%H:%M} {r.timezone_label}",
            "timezone": r.timezone,
            "excluding": f"local holidays ({r.holiday_country})",
        }
        for r in REGIONS.values()
    ]


def plan_services(plan: str) -> list[str]:
    return list(BASE_SERVICES + (PREMIUM_EXTRAS if plan == "premium" else ()))


@lru_cache(maxsize=64)
def _holidays(country: str, year: int) -> holidays.HolidayBase:
    return holidays.country_holidays(country, years=year)


def is_business_day(region: Region, day: date) -> bool:
    return day.weekday() < 5 and day not in _holidays(region.holiday_country, day.year)


def add_business_time(start: datetime, target: Target, region: Region) -> datetime:
    """Return the moment `target` business time after `start` in `region` (tz-aware UTC).

    A business day counts as one full core day of hours ("1 Business Day" after Tuesday 10:00
    is Wednesday 10:00). Time outside core hours, weekends and local holidays does not count.
    """
    tz = ZoneInfo(region.timezone)
    remaining = timedelta(
        hours=target.amount * (1 if target.unit == "business_hours" else region.hours_per_day)
    )
    local = start.astimezone(tz)
    day = local.date()
    cursor = local
    for _ in range(3660):  # ten years of days: a hard stop, never reached
        opens = datetime.combine(day, region.opens, tz)
        closes = datetime.combine(day, region.closes, tz)
        if is_business_day(region, day) and cursor < closes:
            begin = max(cursor, opens)
            available = closes - begin
            if remaining <= available:
                return (begin + remaining).astimezone(start.tzinfo)
            remaining -= available
        day += timedelta(days=1)
        cursor = datetime.combine(day, time(0), tz)
    raise RuntimeError("business-hours arithmetic ran past ten years")
