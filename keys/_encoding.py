"""Byte-level encodings of the key format (docs/key-format.md sections 3 and 4).

Every decoder here raises ``ValueError`` on anything but the one canonical spelling; the
callers translate that into :class:`keys.errors.MalformedKey` at their boundary.
"""

from __future__ import annotations

import binascii
import re
from datetime import UTC, date, datetime
from typing import Any

from keys._root import InvalidValue

# ``json`` is imported where it is used: the verification fast path (keys.claims) never needs
# it, and a command-line verifier starts measurably faster without it.

MAX_SAFE_INTEGER = 2**53 - 1
MAX_TEXT_LENGTH = 256
# Spec section 7 step 1: longer license keys (and rotation statements) are rejected before any
# parsing. Revocation lists have no such limit (spec section 8): they grow with the vendor's
# revocations and are bounded by memory only.
MAX_INPUT_LENGTH = 32768
# The whitespace that may surround a key or file (spec section 6); nothing else is stripped.
WHITESPACE = "\t\n\v\f\r "
# One byte-order mark at the very start of an input is ignored (spec section 2, "Reading input").
BOM = "\ufeff"

_B64URL_RE = re.compile(r"[A-Za-z0-9_-]*")
# base64url -> standard base64 for binascii, by swapping the characters in which the two
# alphabets differ; "=" becomes "-" too. So every character that is not base64url comes out as
# one that binascii's strict mode refuses.
_URLSAFE_TO_STANDARD = bytes.maketrans(b"-_+/=", b"+/-_-")
_STANDARD_TO_URLSAFE = bytes.maketrans(b"+/", b"-_")
_PADDING = (b"", b"===", b"==", b"=")  # by length modulo 4
# By length modulo 4: the characters that may end a canonical encoding. A last group of 2
# characters holds 1 byte, so its last character's low 4 bits must be zero; one of 3 holds 2
# bytes, leaving 2 bits (spec section 3: no stray trailing bits).
_CANONICAL_LAST = (b"", b"", b"AQgw", b"AEIMQUYcgkosw048")
_TIMESTAMP_RE = TIMESTAMP_RE = re.compile(r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})Z")
_DATE_RE = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
_KID_RE = re.compile(r"[0-9a-f]{32}")
# U+0000-U+001F, U+007F-U+009F, U+2028, U+2029: never allowed in a text value.
_FORBIDDEN_TEXT_RE = FORBIDDEN_TEXT_RE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def _b64url_encode_bytes(data: bytes) -> bytes:
    return binascii.b2a_base64(data, newline=False).translate(_STANDARD_TO_URLSAFE).rstrip(b"=")


def b64url_encode(data: bytes) -> str:
    """Return ``data`` as unpadded base64url text."""
    return _b64url_encode_bytes(data).decode("ascii")


def b64url_decode(text: str) -> bytes:
    """Return the bytes of canonical unpadded base64url ``text``; raise ValueError otherwise.

    binascii's strict mode rejects every character outside the alphabet (see the translation
    above) and a length of 1 modulo 4; what it lets through and the spec forbids are stray
    trailing bits, which only the last character can carry. (The result is the same as the
    spec's re-encode-and-compare check, without encoding everything a second time.)
    """
    try:
        standard = text.encode("ascii").translate(_URLSAFE_TO_STANDARD)
        tail = len(standard) % 4  # characters in the last, partial group
        data = binascii.a2b_base64(standard + _PADDING[tail], strict_mode=True)
        canonical = tail == 0 or standard[-1:] in _CANONICAL_LAST[tail]
    except (UnicodeEncodeError, binascii.Error):
        canonical = False
    if not canonical:
        # The failure path only: say which rule was broken.
        if not _B64URL_RE.fullmatch(text) or len(text) % 4 == 1:
            raise InvalidValue("not unpadded base64url")
        raise InvalidValue("non-canonical base64url")
    return data


def read_input(data: str | bytes, what: str, max_length: int | None = None) -> str:
    """Return an input (a key, a license file, a list, a statement) as the spec's reading rule
    sees it (docs/key-format.md section 2, "Reading input"): bytes decoded as strict UTF-8; one
    leading byte-order mark dropped; surrounding whitespace stripped; CR LF read as LF.

    Raises ValueError for bytes that are not UTF-8, an input longer than ``max_length`` code
    points (counted after decoding, before anything is stripped) and a CR not followed by LF.
    """
    if isinstance(data, bytes | bytearray):
        if max_length is not None and len(data) > 4 * max_length:
            raise InvalidValue(f"the {what} is too long")
        try:
            text = bytes(data).decode("utf-8")
        except UnicodeDecodeError:
            raise InvalidValue(f"the {what} is not UTF-8 text") from None
    elif isinstance(data, str):
        text = data
    else:
        raise InvalidValue(f"the {what} is not text")
    if max_length is not None and len(text) > max_length:
        raise InvalidValue(f"the {what} is too long")
    if text.startswith(BOM):
        text = text[1:]
    text = text.strip(WHITESPACE)
    if "\r" in text:  # testing first is cheaper than replacing
        text = text.replace("\r\n", "\n")
        if "\r" in text:
            raise InvalidValue(f"the {what} has a CR that is not part of a CR LF line ending")
    return text


def canonical_json(value: Any) -> bytes:
    """Return the canonical JSON bytes of ``value`` (spec section 4)."""
    import json

    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def _reject_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for name, member in pairs:
        if name in result:
            raise InvalidValue(f"duplicate member {name!r}")
        result[name] = member
    return result


def reject_constant(name: str) -> Any:
    """``parse_constant`` for json.loads: NaN and Infinity are not JSON (raises ValueError)."""
    raise InvalidValue(f"{name} is not valid JSON")


def parse_json_object(payload: bytes) -> dict[str, Any]:
    """Return the JSON object in ``payload``; raise ValueError on duplicates or non-objects.

    Only parsing: canonical form is checked by the caller re-serializing the decoded value.
    """
    import json

    text = payload.decode("utf-8", errors="strict")
    value = json.loads(text, object_pairs_hook=_reject_duplicates, parse_constant=reject_constant)
    if not isinstance(value, dict):
        raise InvalidValue("payload is not a JSON object")
    return value


def require_members(obj: dict[str, Any], members: frozenset[str], what: str) -> None:
    """Raise ValueError unless ``obj`` has exactly ``members``."""
    names = set(obj)
    if names != members:
        missing = sorted(members - names)
        unknown = sorted(names - members)
        raise InvalidValue(f"{what}: missing members {missing}, unknown members {unknown}")


def format_timestamp(moment: datetime) -> str:
    """Return ``moment`` (tz-aware) as ``YYYY-MM-DDTHH:MM:SSZ`` in UTC, whole seconds."""
    utc = moment.astimezone(UTC)
    return (
        f"{utc.year:04d}-{utc.month:02d}-{utc.day:02d}"
        f"T{utc.hour:02d}:{utc.minute:02d}:{utc.second:02d}Z"
    )


def parse_timestamp(value: Any) -> datetime:
    """Return the UTC datetime of a canonical timestamp string; raise ValueError otherwise."""
    if not isinstance(value, str):
        raise InvalidValue("timestamp is not a string")
    match = _TIMESTAMP_RE.fullmatch(value)
    if match is None:
        raise InvalidValue(f"not a timestamp: {value!r}")
    year, month, day, hour, minute, second = (int(part) for part in match.groups())
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


def format_date(day: date) -> str:
    """Return ``day`` as ``YYYY-MM-DD``."""
    return f"{day.year:04d}-{day.month:02d}-{day.day:02d}"


def parse_date(value: Any) -> date:
    """Return the date of a canonical ``YYYY-MM-DD`` string; raise ValueError otherwise."""
    if not isinstance(value, str):
        raise InvalidValue("date is not a string")
    match = _DATE_RE.fullmatch(value)
    if match is None:
        raise InvalidValue(f"not a date: {value!r}")
    year, month, day = (int(part) for part in match.groups())
    return date(year, month, day)


def check_text(value: Any, what: str) -> str:
    """Return ``value`` if it is a valid text value (spec section 4); raise ValueError."""
    if not isinstance(value, str):
        raise InvalidValue(f"{what} must be a string")
    if not 1 <= len(value) <= MAX_TEXT_LENGTH:
        raise InvalidValue(f"{what} must have 1 to {MAX_TEXT_LENGTH} characters")
    if _FORBIDDEN_TEXT_RE.search(value):
        raise InvalidValue(f"{what} contains a control or line-separator character")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InvalidValue(f"{what} contains a surrogate code point") from exc
    return value


def check_optional_text(value: Any, what: str) -> str | None:
    """Return ``value`` if it is None or a valid text value; raise ValueError."""
    return None if value is None else check_text(value, what)


def check_integer(value: Any, what: str) -> int:
    """Return ``value`` if it is an int (not bool) in 0..2**53-1; raise ValueError."""
    if type(value) is not int or not 0 <= value <= MAX_SAFE_INTEGER:
        raise InvalidValue(f"{what} must be an integer from 0 to {MAX_SAFE_INTEGER}")
    return value


def check_kid(value: Any, what: str = "kid") -> str:
    """Return ``value`` if it is 32 lowercase hex characters; raise ValueError."""
    if not isinstance(value, str) or not _KID_RE.fullmatch(value):
        raise InvalidValue(f"{what} must be 32 lowercase hexadecimal characters")
    return value


def check_aware(moment: Any, what: str) -> datetime:
    """Return ``moment`` in UTC truncated to whole seconds; raise ValueError if naive."""
    if not isinstance(moment, datetime):
        raise InvalidValue(f"{what} must be a datetime")
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise InvalidValue(f"{what} must be timezone-aware")
    try:
        return moment.astimezone(UTC).replace(microsecond=0)
    except OverflowError as exc:
        raise InvalidValue(f"{what} is out of range in UTC") from exc


_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def ascii_lower(text: str) -> str:
    """Return ``text`` with A-Z folded to a-z and every other character unchanged."""
    return text.translate(_ASCII_LOWER)
