"""The rules every edge applies to what comes from outside, written once: the API's schemas
(licensesvc/api/schemas.py), the CLI's parameter types (cli/params.py) and the services call
these. Each `*_problem` function returns the words of a validation error, or None; each
`check_*` function raises ValidationFailed with `errors` naming the field.

- Integers that name a database row (ids, and every other integer a caller sends) lie in
  1..2^31-1, the range of PostgreSQL's `integer` (SQLite's is wider; the same bound applies).
- Text never carries NUL, other control characters (C0, DEL, C1) or lone surrogates: one
  line for names, hosts, codes and serials; free text (notes, reasons) may also carry newline
  and tab.
- Dates a policy reads lie in the range that policy can reach (`date_problem`), so a year
  like 0001 or 9999 is refused before any arithmetic overflows."""

from __future__ import annotations

import json
from datetime import date, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING

from licensesvc.domain.errors import ValidationFailed
from licensesvc.domain.text import text_problem as text_problem

if TYPE_CHECKING:
    from licensesvc.config import Policy

#: the largest value of PostgreSQL's `integer`: ids and counts beyond it are refused at the edge
DB_INT_MAX = 2**31 - 1
#: how deep a JSON document may nest (objects and arrays); deeper is refused before parsing
JSON_MAX_DEPTH = 32
#: the longest free text (notes, reasons) anyone may send
FREE_TEXT_MAX = 2000


def int_problem(value: int, *, minimum: int = 1, maximum: int = DB_INT_MAX) -> str | None:
    """Why value is not an acceptable integer (outside minimum..maximum), or None."""
    if isinstance(value, bool) or not minimum <= value <= maximum:
        return f"must be a whole number from {minimum} to {maximum}"
    return None


def date_problem(value: date, earliest: date, latest: date) -> str | None:
    """Why value lies outside earliest..latest (the range a policy can reach), or None."""
    if not earliest <= value <= latest:
        return f"must be a date from {earliest.isoformat()} to {latest.isoformat()}"
    return None


def dr_test_date_range(policy: Policy, today: date) -> tuple[date, date]:
    """The DR-test dates worth deciding about: from a year before today to a year past the
    policy's furthest lead. Outside it the answer can only be a refusal, and a year like 9999
    would overflow the window arithmetic; the edge refuses it as a validation error."""
    return today - timedelta(days=366), today + timedelta(days=policy.dr_max_lead_days + 366)


def _fail(name: str, problem: str) -> ValidationFailed:
    return ValidationFailed(f"{name} {problem}", extra={"errors": {name: [problem]}})


def check_id(value: int, name: str) -> int:
    """Return value when it can name a row (1..DB_INT_MAX). Raises ValidationFailed."""
    problem = int_problem(value)
    if problem is not None:
        raise _fail(name, problem)
    return value


def check_text(value: str, name: str, *, multiline: bool = False) -> str:
    """Return value when it carries no forbidden control character. Raises ValidationFailed."""
    problem = text_problem(value, multiline=multiline)
    if problem is not None:
        raise _fail(name, problem)
    return value


def choice(value: str, vocabulary: type[StrEnum], name: str) -> str:
    """Return value's plain string when it is one of vocabulary's values. Raises
    ValidationFailed naming the choices."""
    allowed = [member.value for member in vocabulary]
    if value not in allowed:
        raise _fail(name, f"must be one of {', '.join(allowed)}")
    return str(value)


def json_depth_problem(body: bytes, limit: int = JSON_MAX_DEPTH) -> str | None:
    """Why a JSON text nests deeper than limit (objects and arrays), or None. Scans the bytes
    without parsing them (strings are skipped), so a 1,000-deep document costs no recursion."""
    if body.count(b"[") + body.count(b"{") <= limit:
        return None  # cannot nest deeper than its brackets
    depth = 0
    in_string = False
    escaped = False
    for byte in body:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:  # quote
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):  # [ {
            depth += 1
            if depth > limit:
                return f"JSON nests deeper than {limit} levels"
        elif byte in (0x5D, 0x7D):
            depth -= 1
    return None


def loads_json(body: bytes | str) -> object:
    """Parse a JSON request body strictly: nesting at most JSON_MAX_DEPTH deep (checked before
    parsing), no duplicate member names (RFC 8259 leaves them undefined; we refuse them rather
    than let the last one win), no NaN or Infinity, no integer too long to convert.

    Raises ValidationFailed (errors name the member, or `_body`) for those, and ValueError for
    text that is not JSON at all (the caller's usual 400)."""
    raw = body.encode() if isinstance(body, str) else body
    problem = json_depth_problem(raw)
    if problem is not None:
        raise _fail("_body", problem)

    def pairs(items: list[tuple[str, object]]) -> dict[str, object]:
        obj: dict[str, object] = {}
        for name, value in items:
            if name in obj:
                raise _fail(name, "appears more than once in the same object")
            obj[name] = value
        return obj

    def constant(name: str) -> object:
        raise _fail("_body", f"{name} is not a JSON number")

    try:
        return json.loads(raw, object_pairs_hook=pairs, parse_constant=constant)
    except ValidationFailed:
        raise
    except json.JSONDecodeError:
        raise
    except (ValueError, RecursionError) as exc:  # e.g. an integer of more than 4,300 digits
        raise _fail("_body", f"cannot be read as JSON numbers ({type(exc).__name__})") from None
