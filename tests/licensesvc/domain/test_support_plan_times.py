"""Respond-by and next-update times, each worked out by hand: Sev 1-4 x Base/Premium x the
three regions on a Friday at 17:30 local, and the boundaries (a Saturday, a holiday eve, the
DST change weekends). Sev 1 counts hours of after-hours cover (Base 24x5: Monday 00:00 to
Friday 24:00 local, holidays included; Premium 24x7); Sev 2-4 count core hours (EMEA and NA
08:00-18:00 = 10 h a business day, APAC 08:00-17:00 = 9 h), skipping weekends and holidays.
Updates: Sev 1 daily (24 h of cover), Sev 2 every 2 business days, Sev 3 every 5, Sev 4 the
policy's 10."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from licensesvc.config import Policy
from licensesvc.domain import support_plan

POLICY = Policy()


def z(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


# Friday 13 March 2026, 17:30 local: EMEA GMT (17:30Z), NA EDT (21:30Z), APAC AEDT (06:30Z,
# already after the 17:00 close). Monday 16 March is a business day everywhere.
FRIDAY = {"emea": "2026-03-13T17:30", "na": "2026-03-13T21:30", "apac": "2026-03-13T06:30"}

# (region, plan, severity, respond_by, next_update_due), UTC
FRIDAY_TABLE = [
    # EMEA: local = UTC
    ("emea", "base", 1, "2026-03-13T18:30", "2026-03-16T17:30"),  # 6.5 h Fri + 17.5 h Mon
    ("emea", "premium", 1, "2026-03-13T18:30", "2026-03-14T17:30"),  # 24x7: Saturday
    ("emea", "base", 2, "2026-03-16T11:30", "2026-03-17T17:30"),  # 0.5 + 3.5 h; 20 h
    ("emea", "premium", 2, "2026-03-16T09:30", "2026-03-17T17:30"),  # 0.5 + 1.5 h
    ("emea", "base", 3, "2026-03-16T17:30", "2026-03-20T17:30"),  # 10 h; 50 h
    ("emea", "premium", 3, "2026-03-16T11:30", "2026-03-20T17:30"),  # 4 h
    ("emea", "base", 4, "2026-03-17T17:30", "2026-03-27T17:30"),  # 20 h; 100 h
    ("emea", "premium", 4, "2026-03-16T17:30", "2026-03-27T17:30"),  # 10 h
    # North America: EDT, local + 4 h
    ("na", "base", 1, "2026-03-13T22:30", "2026-03-16T21:30"),
    ("na", "premium", 1, "2026-03-13T22:30", "2026-03-14T21:30"),
    ("na", "base", 2, "2026-03-16T15:30", "2026-03-17T21:30"),
    ("na", "premium", 2, "2026-03-16T13:30", "2026-03-17T21:30"),
    ("na", "base", 3, "2026-03-16T21:30", "2026-03-20T21:30"),
    ("na", "premium", 3, "2026-03-16T15:30", "2026-03-20T21:30"),
    ("na", "base", 4, "2026-03-17T21:30", "2026-03-27T21:30"),
    ("na", "premium", 4, "2026-03-16T21:30", "2026-03-27T21:30"),
    # APAC: AEDT, local - 11 h; nothing of Friday's core day is left
    ("apac", "base", 1, "2026-03-13T07:30", "2026-03-16T06:30"),  # Mon 17:30 AEDT
    ("apac", "premium", 1, "2026-03-13T07:30", "2026-03-14T06:30"),
    ("apac", "base", 2, "2026-03-16T01:00", "2026-03-17T06:00"),  # Mon 12:00; 18 h: Tue 17:00
    ("apac", "premium", 2, "2026-03-15T23:00", "2026-03-17T06:00"),  # Mon 10:00
    ("apac", "base", 3, "2026-03-16T06:00", "2026-03-20T06:00"),  # 9 h: Mon 17:00; 45 h
    ("apac", "premium", 3, "2026-03-16T01:00", "2026-03-20T06:00"),
    ("apac", "base", 4, "2026-03-17T06:00", "2026-03-27T06:00"),  # 18 h; 90 h
    ("apac", "premium", 4, "2026-03-16T06:00", "2026-03-27T06:00"),
]


@pytest.mark.parametrize(
    ("region", "plan", "severity", "respond_by", "next_update"),
    FRIDAY_TABLE,
    ids=[f"{r}-{p}-sev{s}" for r, p, s, *_ in FRIDAY_TABLE],
)
def test_friday_half_past_five_local(
    region: str, plan: str, severity: int, respond_by: str, next_update: str
) -> None:
    start = z(FRIDAY[region])
    where = support_plan.REGIONS[region]
    calendar = where.default_holidays
    assert support_plan.respond_by(start, plan, severity, where, calendar, POLICY) == z(respond_by)
    assert support_plan.next_update_due(start, plan, severity, where, calendar, POLICY) == z(
        next_update
    )


# (id, region, calendar, plan, severity, start, respond_by or None, next_update or None), UTC
BOUNDARIES = [
    # Saturday 14 March 10:00 GMT: 24x5 starts Monday 00:00; 24x7 counts the weekend
    (
        "emea-saturday-base-sev1",
        "emea",
        None,
        "base",
        1,
        "2026-03-14T10:00",
        "2026-03-16T01:00",
        "2026-03-17T00:00",
    ),
    (
        "emea-saturday-premium-sev1",
        "emea",
        None,
        "premium",
        1,
        "2026-03-14T10:00",
        "2026-03-14T11:00",
        "2026-03-15T10:00",
    ),
    (
        "emea-saturday-base-sev2",
        "emea",
        None,
        "base",
        2,
        "2026-03-14T10:00",
        "2026-03-16T12:00",
        "2026-03-17T18:00",
    ),
    (
        "apac-saturday-base-sev3",
        "apac",
        None,
        "base",
        3,
        "2026-03-14T01:00",  # Sat 12:00 AEDT
        "2026-03-16T06:00",
        None,
    ),
    (
        "na-saturday-premium-sev4",
        "na",
        None,
        "premium",
        4,
        "2026-03-14T15:00",
        "2026-03-16T22:00",
        None,
    ),  # Mon 08:00 EDT + 10 h = 18:00 EDT
    # holiday eve, England: Thursday 2 April 17:30 BST; Good Friday and Easter Monday off
    (
        "emea-easter-eve-base-sev2",
        "emea",
        None,
        "base",
        2,
        "2026-04-02T16:30",
        "2026-04-07T10:30",
        None,
    ),
    # ... Scotland works on Easter Monday
    (
        "emea-easter-eve-scotland-base-sev2",
        "emea",
        "GB-SCT",
        "base",
        2,
        "2026-04-02T16:30",
        "2026-04-06T10:30",
        None,
    ),
    # ... the after-hours cover counts the holiday: 6.5 h Thursday + 17.5 h Good Friday
    (
        "emea-easter-eve-base-sev1",
        "emea",
        None,
        "base",
        1,
        "2026-04-02T16:30",
        "2026-04-02T17:30",
        "2026-04-03T16:30",
    ),
    # holiday eve, US: Wednesday 25 November 17:30 EST, Thanksgiving off, Friday works
    (
        "na-thanksgiving-eve-base-sev3",
        "na",
        None,
        "base",
        3,
        "2026-11-25T22:30",
        "2026-11-27T22:30",
        None,
    ),
    (
        "na-thanksgiving-eve-premium-sev2",
        "na",
        None,
        "premium",
        2,
        "2026-11-25T22:30",
        "2026-11-27T14:30",
        None,
    ),
    # holiday eve, NSW: Christmas Eve 16:00 AEDT; Christmas Friday, Boxing Day substitute Monday
    (
        "apac-christmas-eve-base-sev2",
        "apac",
        None,
        "base",
        2,
        "2026-12-24T05:00",
        "2026-12-29T00:00",
        None,
    ),  # 1 h Thursday + 3 h Tuesday 29th: 11:00 AEDT
    (
        "apac-christmas-eve-premium-sev3",
        "apac",
        None,
        "premium",
        3,
        "2026-12-24T05:00",
        "2026-12-29T00:00",
        None,
    ),
    (
        "apac-christmas-eve-base-sev1",
        "apac",
        None,
        "base",
        1,
        "2026-12-24T05:00",
        "2026-12-24T06:00",
        None,
    ),
    # DST, England: Friday 27 March 17:30 GMT; Monday 30 March is BST (UTC+1)
    (
        "emea-dst-base-sev2",
        "emea",
        None,
        "base",
        2,
        "2026-03-27T17:30",
        "2026-03-30T10:30",
        "2026-03-31T16:30",
    ),
    (
        "emea-dst-base-sev1",
        "emea",
        None,
        "base",
        1,
        "2026-03-27T17:30",
        "2026-03-27T18:30",
        "2026-03-30T16:30",
    ),
    (
        "emea-dst-premium-sev1",
        "emea",
        None,
        "premium",
        1,
        "2026-03-29T00:30",
        "2026-03-29T01:30",
        "2026-03-30T00:30",
    ),  # real hours across the skipped hour
    # DST, US: Friday 6 March 17:30 EST; Monday 9 March is EDT (UTC-4)
    (
        "na-dst-base-sev2",
        "na",
        None,
        "base",
        2,
        "2026-03-06T22:30",
        "2026-03-09T15:30",
        "2026-03-10T21:30",
    ),
    (
        "na-dst-base-sev1",
        "na",
        None,
        "base",
        1,
        "2026-03-06T22:30",
        "2026-03-06T23:30",
        "2026-03-09T21:30",
    ),
    (
        "na-dst-premium-sev1",
        "na",
        None,
        "premium",
        1,
        "2026-03-07T17:00",
        "2026-03-07T18:00",
        "2026-03-08T17:00",
    ),
    # US fall back: Friday 30 October 17:30 EDT; Monday 2 November is EST (UTC-5)
    ("na-fall-back-base-sev2", "na", None, "base", 2, "2026-10-30T21:30", "2026-11-02T16:30", None),
    # DST, NSW: AEDT ends Sunday 5 April (Easter); Thursday 2 April 17:30 AEDT, Good Friday,
    # Easter Saturday, Sunday and Monday off; Tuesday is AEST (UTC+10)
    (
        "apac-dst-easter-base-sev2",
        "apac",
        None,
        "base",
        2,
        "2026-04-02T06:30",
        "2026-04-07T02:00",
        None,
    ),
    (
        "apac-dst-base-sev1",
        "apac",
        None,
        "base",
        1,
        "2026-04-03T06:30",
        "2026-04-03T07:30",
        "2026-04-06T07:30",
    ),  # Friday 17:30 AEDT -> Monday 17:30 AEST
    # NSW spring forward Sunday 4 October, Labour Day Monday 5 October
    (
        "apac-dst-labour-day-base-sev2",
        "apac",
        None,
        "base",
        2,
        "2026-10-02T07:30",
        "2026-10-06T01:00",
        None,
    ),  # Tuesday 12:00 AEDT
]


@pytest.mark.parametrize(
    ("region", "calendar", "plan", "severity", "start", "respond_by", "next_update"),
    [row[1:] for row in BOUNDARIES],
    ids=[row[0] for row in BOUNDARIES],
)
def test_boundaries(
    region: str,
    calendar: str | None,
    plan: str,
    severity: int,
    start: str,
    respond_by: str | None,
    next_update: str | None,
) -> None:
    where = support_plan.REGIONS[region]
    cal = calendar or where.default_holidays
    at = z(start)
    if respond_by is not None:
        assert support_plan.respond_by(at, plan, severity, where, cal, POLICY) == z(respond_by)
    if next_update is not None:
        assert support_plan.next_update_due(at, plan, severity, where, cal, POLICY) == z(
            next_update
        )


def test_after_hours_cover_is_policy() -> None:
    # Premium on 24x5 (policy) waits for Monday like Base does
    start = z("2026-03-14T10:00")
    where = support_plan.REGIONS["emea"]
    policy = Policy(sev1_cover_premium="24x5")
    assert support_plan.respond_by(start, "premium", 1, where, "GB-ENG", policy) == z(
        "2026-03-16T01:00"
    )


@pytest.mark.parametrize(
    ("code", "expected"),
    [("gb-eng", ("GB", "ENG")), ("US", ("US", None)), ("AU-nsw", ("AU", "NSW"))],
)
def test_holiday_calendars_are_country_and_subdivision(
    code: str, expected: tuple[str, str | None]
) -> None:
    assert support_plan.holiday_calendar(code) == expected


@pytest.mark.parametrize(
    ("code", "says"),
    [("XX", "unknown holiday country 'XX'"), ("GB-XYZ", "GB has no subdivision 'XYZ'")],
)
def test_unknown_holiday_calendars_are_refused(code: str, says: str) -> None:
    with pytest.raises(ValueError, match=says):
        support_plan.holiday_calendar(code)
