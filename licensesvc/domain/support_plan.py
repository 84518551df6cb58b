"""What each plan promises, from the vendor's support overview, and the arithmetic of its
deadlines: respond-by and next-update times in core business hours of the customer's region
(its holiday calendar excluded), or for Sev 1 in hours of the plan's after-hours cover (24x5 or
24x7); the phone-call rule of Sev 1/2; when an escalated case is overdue."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import holidays

from licensesvc.domain import DEFAULT_HOLIDAYS
from licensesvc.domain import Region as R

if TYPE_CHECKING:
    from licensesvc.config import Policy
    from licensesvc.models import KeyRequest


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
    #: the holiday calendar of a customer in this region unless it has its own
    default_holidays: str

    @property
    def hours_per_day(self) -> int:
        return self.closes.hour - self.opens.hour

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


REGIONS: dict[str, Region] = {
    # the seed's "8AM - 6PM GMT" is UK time, as its "EST" is New York time (GMT/BST, EST/EDT)
    "emea": Region(
        "emea", "EMEA", "Europe/London", "GMT/BST", time(8), time(18), DEFAULT_HOLIDAYS[R.EMEA]
    ),
    "na": Region(
        "na",
        "North America",
        "America/New_York",
        "EST/EDT",
        time(8),
        time(18),
        DEFAULT_HOLIDAYS[R.NA],
    ),
    "apac": Region(
        "apac", "APAC", "Australia/Sydney", "AU", time(8), time(17), DEFAULT_HOLIDAYS[R.APAC]
    ),
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


#: severity 1's "Daily" status updates: 24 hours of after-hours cover
SEV1_UPDATE_HOURS = 24


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
            "excluding": f"local holidays ({r.default_holidays} unless the customer's own)",
        }
        for r in REGIONS.values()
    ]


def plan_services(plan: str) -> list[str]:
    return list(BASE_SERVICES + (PREMIUM_EXTRAS if plan == "premium" else ()))


def holiday_calendar(code: str) -> tuple[str, str | None]:
    """Return (country, subdivision) of a calendar written `CC` or `CC-SUB` (e.g. `GB-ENG`,
    `AU-NSW`, `US`). Raises ValueError naming what the holidays package supports."""
    country, _, subdiv = code.strip().partition("-")
    country = country.upper()
    supported = holidays.list_supported_countries()
    if country not in supported:
        raise ValueError(f"unknown holiday country {country!r}; use an ISO code such as GB or US")
    if not subdiv:
        return country, None
    match = {s.upper(): s for s in supported[country]}.get(subdiv.upper())
    if match is None:
        raise ValueError(
            f"{country} has no subdivision {subdiv!r}; choose one of "
            + ", ".join(supported[country])
        )
    return country, match


@lru_cache(maxsize=128)
def _holidays(calendar: str, year: int) -> holidays.HolidayBase:
    country, subdiv = holiday_calendar(calendar)
    return holidays.country_holidays(country, subdiv=subdiv, years=year)


def is_business_day(region: Region, day: date, calendar: str | None = None) -> bool:
    """A weekday that is no holiday of `calendar` (default: the region's)."""
    return day.weekday() < 5 and day not in _holidays(calendar or region.default_holidays, day.year)


def local_today(region: Region, now: datetime) -> date:
    """The calendar date in the region's time zone at the moment `now`."""
    return now.astimezone(region.zone).date()


def add_business_time(
    start: datetime, target: Target, region: Region, calendar: str | None = None
) -> datetime:
    """Return the moment `target` business time after `start` in `region` (tz-aware UTC).

    A business day counts as one full core day of hours ("1 Business Day" after Tuesday 10:00
    is Wednesday 10:00). Time outside core hours, weekends and the holidays of `calendar`
    (default: the region's) does not count. Arithmetic is in UTC, so a DST change never adds or
    loses an hour.
    """
    hours = target.amount * (1 if target.unit == "business_hours" else region.hours_per_day)
    tz = region.zone
    remaining = timedelta(hours=hours)
    cursor = start.astimezone(UTC)
    day = start.astimezone(tz).date()
    for _ in range(3660):  # ten years of days: a hard stop, never reached
        opens = datetime.combine(day, region.opens, tz).astimezone(UTC)
        closes = datetime.combine(day, region.closes, tz).astimezone(UTC)
        if is_business_day(region, day, calendar) and cursor < closes:
            begin = max(cursor, opens)
            available = closes - begin
            if remaining <= available:
                return begin + remaining
            remaining -= available
        day += timedelta(days=1)
    raise RuntimeError("business-hours arithmetic ran past ten years")


def add_cover_time(start: datetime, hours: int, region: Region, cover: str) -> datetime:
    """Return the moment `hours` of after-hours cover after `start` (tz-aware UTC). 24x7 counts
    every hour; 24x5 every hour from Monday 00:00 to Friday 24:00 in the region's time zone,
    holidays included."""
    remaining = timedelta(hours=hours)
    cursor = start.astimezone(UTC)
    if cover == "24x7":
        return cursor + remaining
    tz = region.zone
    day = start.astimezone(tz).date()
    for _ in range(3660):
        if day.weekday() < 5:
            opens = datetime.combine(day, time(0), tz).astimezone(UTC)
            closes = datetime.combine(day + timedelta(days=1), time(0), tz).astimezone(UTC)
            if cursor < closes:
                begin = max(cursor, opens)
                available = closes - begin
                if remaining <= available:
                    return begin + remaining
                remaining -= available
        day += timedelta(days=1)
    raise RuntimeError("cover-hours arithmetic ran past ten years")


def sev1_cover(plan: str, policy: Policy) -> str:
    """The after-hours cover of Sev 1 issues on `plan`: "24x5" or "24x7" (policy)."""
    return policy.sev1_cover_premium if plan == "premium" else policy.sev1_cover_base


def respond_by(
    start: datetime, plan: str, severity: int, region: Region, calendar: str, policy: Policy
) -> datetime:
    """The initial-response deadline of a case escalated at `start`: Sev 1 in hours of the
    plan's after-hours cover, Sev 2-4 in core business hours of the customer's calendar."""
    target = initial_target(plan, severity)
    if severity == 1:
        return add_cover_time(start, target.amount, region, sev1_cover(plan, policy))
    return add_business_time(start, target, region, calendar)


def update_target(severity: int, policy: Policy) -> Target:
    """How often an escalated case gets a status update (the table's last column): Sev 1
    daily (24 hours of cover), Sev 2 every 2 business days, Sev 3 every 5, Sev 4 as agreed
    (policy `sev4_update_business_days`)."""
    if severity == 1:
        return Target(SEV1_UPDATE_HOURS, "business_hours")
    days = {2: 2, 3: 5}.get(severity, policy.sev4_update_business_days)
    return Target(days, "business_days")


def next_update_due(
    start: datetime, plan: str, severity: int, region: Region, calendar: str, policy: Policy
) -> datetime:
    """When the next status update is due after one at `start` (or the escalation), counted
    like respond-by: Sev 1 in after-hours cover, Sev 2-4 in business time."""
    target = update_target(severity, policy)
    if severity == 1:
        return add_cover_time(start, target.amount, region, sev1_cover(plan, policy))
    return add_business_time(start, target, region, calendar)


def phone_notice(severity: int, phone: str) -> str | None:
    """The seed's "Phone call is required to meet service goal" for Sev 1 and 2, else None."""
    if not SEVERITIES[severity - 1].phone_required:
        return None
    return f"Phone call is required to meet the service goal for Sev {severity}: call {phone}."


@dataclass(frozen=True)
class CaseSupport:
    """What the support plan says about one case now: overdue or not, and whether to phone."""

    overdue: bool
    overdue_reason: str | None
    phone_required: bool
    support_phone: str | None
    notice: str | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "overdue": self.overdue,
            "overdue_reason": self.overdue_reason,
            "phone_required": self.phone_required,
            "support_phone": self.support_phone,
            "notice": self.notice,
        }


def overdue_reason(case: KeyRequest, now: datetime) -> str | None:
    """Why an escalated case is overdue (respond-by passed without an analyst's update, or
    the next update is late), else None."""
    if case.status != "escalated":
        return None
    if case.responded_at is None and case.respond_by is not None and now > case.respond_by:
        return f"no response by {case.respond_by:%Y-%m-%dT%H:%M:%SZ}"
    if case.next_update_due is not None and now > case.next_update_due:
        return f"status update was due {case.next_update_due:%Y-%m-%dT%H:%M:%SZ}"
    return None


def case_support(case: KeyRequest, now: datetime, phone: str) -> CaseSupport:
    """The support plan's view of a case at `now` (phone: the configured support number)."""
    reason = overdue_reason(case, now)
    notice = phone_notice(case.severity, phone) if case.status == "escalated" else None
    return CaseSupport(
        overdue=reason is not None,
        overdue_reason=reason,
        phone_required=notice is not None,
        support_phone=phone if notice is not None else None,
        notice=notice,
    )


def due_at(case: KeyRequest) -> datetime | None:
    """The next deadline of an escalated case: respond-by until answered, then the update."""
    if case.responded_at is None and case.respond_by is not None:
        if case.next_update_due is None:
            return case.respond_by
        return min(case.respond_by, case.next_update_due)
    return case.next_update_due
