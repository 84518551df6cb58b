"""licensesvc/domain/support_plan.py: respond-by times in each region's core hours."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from licensesvc.domain import support_plan


@pytest.mark.parametrize(
    ("start", "plan", "severity", "region", "expected"),
    [
        # 15:00 in Sydney (AEDT): 2 hours today, 2 tomorrow from 08:00; Premium sev 3 = 4 hours
        (
            datetime(2026, 3, 2, 4, 0, tzinfo=UTC),
            "premium",
            3,
            "apac",
            datetime(2026, 3, 2, 23, 0, tzinfo=UTC),
        ),
        # Christmas in EMEA: 24 Dec 17:00 GMT, Base sev 2 = 4 business hours
        (
            datetime(2026, 12, 24, 17, 0, tzinfo=UTC),
            "base",
            2,
            "emea",
            datetime(2026, 12, 29, 11, 0, tzinfo=UTC),
        ),
        # Thanksgiving in North America: Base sev 1 = 1 business hour, next day 8:00 EST
        (
            datetime(2026, 11, 26, 15, 0, tzinfo=UTC),
            "base",
            1,
            "na",
            datetime(2026, 11, 27, 14, 0, tzinfo=UTC),
        ),
    ],
)
def test_respond_by_counts_only_core_hours_outside_holidays(
    start, plan, severity, region, expected
):
    target = support_plan.initial_target(plan, severity)
    assert support_plan.add_business_time(start, target, support_plan.REGIONS[region]) == expected
