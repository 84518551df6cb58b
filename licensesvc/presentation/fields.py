"""marshmallow fields of the presentation: how a time is written."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from marshmallow import fields


class UTCDateTime(fields.DateTime):
    """A tz-aware datetime written as `YYYY-MM-DDTHH:MM:SSZ` (UTC, whole seconds)."""

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> str | None:
        if value is None:
            return None
        if not isinstance(value, datetime) or value.tzinfo is None:
            raise ValueError("only tz-aware datetimes are written")
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
