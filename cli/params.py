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


class RowId(click.ParamType):  # type: ignore[type-arg]
    """A record id: a whole number from 1 to 2^31-1 (the database's range), by the rule the API
    applies too (licensesvc.platform.inputs)."""

    name = "ID"

    def __init__(self, minimum: int = 1) -> None:
        self.minimum = minimum

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        from licensesvc.platform import inputs

        if isinstance(value, int) and not isinstance(value, bool):
            number = value
        else:
            text = str(value).strip()
            if not re.fullmatch(r"[+-]?[0-9]{1,20}", text):
                self.fail(f"{value!r} is not a whole number", param, ctx)
            number = int(text)
        problem = inputs.int_problem(number, minimum=self.minimum)
        if problem is not None:
            self.fail(f"{number} {problem}", param, ctx)
        return number


class Text(click.ParamType):  # type: ignore[type-arg]
    """Text without control characters (one line), or free text that may also carry newline
    and tab: the rule of licensesvc.platform.inputs."""

    def __init__(self, *, multiline: bool) -> None:
        self.multiline = multiline
        self.name = "TEXT"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        from licensesvc.platform import inputs

        text = str(value)
        problem = inputs.text_problem(text, multiline=self.multiline)
        if problem is not None:
            self.fail(problem, param, ctx)
        return text


#: a record id (customer, contract, license, token)
ROW_ID = RowId()
#: a count that may be zero (agents, jobs, grace days)
COUNT = RowId(minimum=0)
#: a name, host, serial or case number: one line, no control characters
LINE = Text(multiline=False)
#: a reason or note: newline and tab allowed, no other control character
FREE_TEXT = Text(multiline=True)
