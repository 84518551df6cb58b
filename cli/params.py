"""Parameter types: ISO dates and timestamps with messages that say what is expected.
Standard library and click only (the offline verify path uses these)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Any

import click

_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_TIMESTAMP_RE = re.compile(
    r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|z|[+-]\d{2}:\d{2})?)?$"
)


# click >= 8.3 makes ParamType generic; subscripting it would fail on the 8.1 the pin allows
class ISODate(click.ParamType):  # type: ignore[type-arg]
    """A calendar date written YYYY-MM-DD."""

    name = "YYYY-MM-DD"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> date:
        if isinstance(value, date) and not isinstance(value, datetime):
            return value
        text = str(value).strip()
        if _DATE_RE.match(text):
            try:
                return date.fromisoformat(text)
            except ValueError:
                pass
        self.fail(f"{value!r} is not a date; expected YYYY-MM-DD", param, ctx)


class ISOTimestamp(click.ParamType):  # type: ignore[type-arg]
    """A moment written YYYY-MM-DDTHH:MM[:SS][Z|+HH:MM], or a date (its midnight). Without a
    zone the time is taken as UTC."""

    name = "TIMESTAMP"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> datetime:
        if isinstance(value, datetime):
            moment = value
        else:
            text = str(value).strip()
            moment_or_none = None
            if _TIMESTAMP_RE.match(text):
                try:
                    moment_or_none = datetime.fromisoformat(text.replace("z", "Z"))
                except ValueError:
                    moment_or_none = None
            if moment_or_none is None:
                self.fail(
                    f"{value!r} is not a timestamp; expected YYYY-MM-DDTHH:MM:SSZ (or YYYY-MM-DD)",
                    param,
                    ctx,
                )
            moment = moment_or_none
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return moment.astimezone(UTC)


ISO_DATE = ISODate()
ISO_TIMESTAMP = ISOTimestamp()
