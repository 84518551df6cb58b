"""The domain's words write a moment in UTC ("2026-06-02 19:34Z"); a front end shows each one in
the customer's zone, the zone named, and leaves every other word as it was."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from licensesvc.domain.moments import in_zone, utc_minute


def test_utc_minute_writes_the_domains_form() -> None:
    assert utc_minute(datetime(2026, 6, 2, 19, 34, 59, tzinfo=UTC)) == "2026-06-02 19:34Z"
    assert utc_minute(datetime(2026, 6, 2, 19, 34)) == "2026-06-02 19:34Z"  # naive: UTC


@pytest.mark.parametrize(
    ("zone", "text", "shown"),
    [
        (
            "Europe/London",
            "1 of 1 used; the next one frees on 2026-06-02 19:34Z; you may escalate",
            "1 of 1 used; the next one frees on 2026-06-02 20:34 BST; you may escalate",
        ),
        ("Europe/London", "until 2026-12-02 19:34Z", "until 2026-12-02 19:34 GMT"),
        ("America/New_York", "until 2026-12-03 01:00Z", "until 2026-12-02 20:00 EST"),
        ("Australia/Sydney", "until 2026-12-02 19:34Z", "until 2026-12-03 06:34 AEDT"),
        (
            "America/New_York",
            "expires_at: the key says 2027-01-31T23:59:59Z, the records 2027-06-30T23:59:59Z",
            "expires_at: the key says 2027-01-31 18:59 EST, the records 2027-06-30 19:59 EDT",
        ),
        # dates alone, and DR-test words, are left as they are
        (
            "Europe/London",
            "3 of 2 DR-test keys used; the count restarts on 2027-11-06",
            "3 of 2 DR-test keys used; the count restarts on 2027-11-06",
        ),
    ],
)
def test_in_zone_shows_each_utc_moment_in_the_zone(zone: str, text: str, shown: str) -> None:
    assert in_zone(text, ZoneInfo(zone)) == shown
