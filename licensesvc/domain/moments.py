"""How the domain's words name a moment: to the minute in UTC, "2026-03-02 19:34Z". Refusals and
check details are text (stored with a case, sent by the API); a front end that shows times in
the customer's zone rewrites them with `in_zone` rather than show "…Z" beside "BST". Imports
nothing of ours."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

#: the one way the domain's messages write a moment
UTC_MINUTE = "%Y-%m-%d %H:%MZ"
#: that, and the ISO form the API's values take in words ("2027-01-31T23:59:59Z")
_UTC_MOMENT = re.compile(r"\b(\d{4}-\d{2}-\d{2})[ T](\d{2}):(\d{2})(?::\d{2}(?:\.\d+)?)?Z\b")


def utc_minute(moment: datetime) -> str:
    """The moment as the domain's messages write it: "2026-03-02 19:34Z" (naive: UTC)."""
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    return aware.astimezone(UTC).strftime(UTC_MINUTE)


def in_zone(text: str, zone: ZoneInfo) -> str:
    """text with every UTC moment in it (as `utc_minute` writes one, or in ISO form with a Z)
    shown to the minute in zone instead, its abbreviation named ("2026-06-02 19:34Z" in
    Europe/London: "2026-06-02 20:34 BST")."""

    def local(found: re.Match[str]) -> str:
        day, hour, minute = found.groups()
        moment = datetime.fromisoformat(f"{day}T{hour}:{minute}:00+00:00").astimezone(zone)
        return moment.strftime("%Y-%m-%d %H:%M %Z")

    return _UTC_MOMENT.sub(local, text)
