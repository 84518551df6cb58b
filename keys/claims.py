"""What a license key says: :class:`Claims` and its wire form (docs/key-format.md section 5)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from keys import _encoding as enc
from keys._root import InvalidValue

FORMAT_VERSION = 1
# Leeway for not_before / expires_at (and a revocation list's next_update) against the
# verifier's clock: machines in the field drift.
CLOCK_SKEW = timedelta(minutes=5)
KINDS = ("standard", "replacement", "dr_test", "temporary")
TEMPORARY_REASONS = ("infrastructure_change", "upgrade_patching", "seasonal_testing", "usage_spike")

CLAIM_MEMBERS = frozenset(
    {
        "agents",
        "case_number",
        "customer_id",
        "customer_name",
        "expires_at",
        "failover_host",
        "host",
        "issued_at",
        "jobs",
        "kid",
        "kind",
        "license_id",
        "maintenance_until",
        "not_before",
        "product",
        "reason",
        "serial",
        "supersedes",
        "version",
    }
)


@dataclass(frozen=True)
class Claims:
    """The signed content of a license key.

    Datetimes must be timezone-aware; they are stored converted to UTC and truncated to whole
    seconds (the wire format's precision), so a round trip through a key gives equal Claims.
    Construction raises InvalidValue (a ValueError) for any value the wire format cannot carry.
    """

    serial: str
    license_id: str
    customer_id: str
    customer_name: str
    product: str
    kind: str
    agents: int
    jobs: int
    host: str
    issued_at: datetime
    not_before: datetime
    maintenance_until: date
    expires_at: datetime | None = None  # None = perpetual
    failover_host: str | None = None
    reason: str | None = None  # temporary keys
    supersedes: str | None = None  # serial of the key this one replaces
    case_number: str | None = None
    kid: str = ""  # filled in by sign_key: the kid of the signing key
    version: int = FORMAT_VERSION

    def __post_init__(self) -> None:
        for name in ("serial", "license_id", "customer_id", "customer_name", "product", "host"):
            enc.check_text(getattr(self, name), name)
        for name in ("failover_host", "supersedes", "case_number"):
            enc.check_optional_text(getattr(self, name), name)
        if self.kind not in KINDS:
            raise InvalidValue(f"kind must be one of {KINDS}, not {self.kind!r}")
        if self.reason is not None and self.reason not in TEMPORARY_REASONS:
            raise InvalidValue(f"reason must be one of {TEMPORARY_REASONS}, not {self.reason!r}")
        enc.check_integer(self.agents, "agents")
        enc.check_integer(self.jobs, "jobs")
        if self.version != FORMAT_VERSION or type(self.version) is not int:
            raise InvalidValue(f"version must be {FORMAT_VERSION}")
        if self.kid != "":
            enc.check_kid(self.kid)
        if type(self.maintenance_until) is not date:
            raise InvalidValue("maintenance_until must be a date (not a datetime)")
        # Frozen dataclass: normalizing needs object.__setattr__.
        object.__setattr__(self, "issued_at", enc.check_aware(self.issued_at, "issued_at"))
        object.__setattr__(self, "not_before", enc.check_aware(self.not_before, "not_before"))
        if self.expires_at is not None:
            expires_at = enc.check_aware(self.expires_at, "expires_at")
            object.__setattr__(self, "expires_at", expires_at)
            if expires_at <= self.not_before:
                raise InvalidValue("expires_at must be later than not_before")

    @property
    def perpetual(self) -> bool:
        """Return True when the key never expires."""
        return self.expires_at is None

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON-ready wire form: every member, absent optionals as None."""
        return {
            "agents": self.agents,
            "case_number": self.case_number,
            "customer_id": self.customer_id,
            "customer_name": self.customer_name,
            "expires_at": (
                None if self.expires_at is None else enc.format_timestamp(self.expires_at)
            ),
            "failover_host": self.failover_host,
            "host": self.host,
            "issued_at": enc.format_timestamp(self.issued_at),
            "jobs": self.jobs,
            "kid": self.kid,
            "kind": self.kind,
            "license_id": self.license_id,
            "maintenance_until": enc.format_date(self.maintenance_until),
            "not_before": enc.format_timestamp(self.not_before),
            "product": self.product,
            "reason": self.reason,
            "serial": self.serial,
            "supersedes": self.supersedes,
            "version": self.version,
        }

    @classmethod
    def from_dict(cls, obj: dict[str, Any]) -> Claims:
        """Return Claims from a wire-form dict (as parsed from a payload).

        Raises ValueError for missing or unknown members and for any value of the wrong type;
        this is strict (a ``kid`` is required), it is the decoder's view of a payload.
        """
        enc.require_members(obj, CLAIM_MEMBERS, "license key payload")
        if type(obj["version"]) is not int or obj["version"] != FORMAT_VERSION:
            raise InvalidValue(f"unsupported version {obj['version']!r}")
        for name in ("kind", "reason"):
            if obj[name] is not None and not isinstance(obj[name], str):
                raise InvalidValue(f"{name} must be a string")
        expires_at = obj["expires_at"]
        return cls(
            serial=obj["serial"],
            license_id=obj["license_id"],
            customer_id=obj["customer_id"],
            customer_name=obj["customer_name"],
            product=obj["product"],
            kind=obj["kind"],
            agents=obj["agents"],
            jobs=obj["jobs"],
            host=obj["host"],
            issued_at=enc.parse_timestamp(obj["issued_at"]),
            not_before=enc.parse_timestamp(obj["not_before"]),
            maintenance_until=enc.parse_date(obj["maintenance_until"]),
            expires_at=None if expires_at is None else enc.parse_timestamp(expires_at),
            failover_host=obj["failover_host"],
            reason=obj["reason"],
            supersedes=obj["supersedes"],
            case_number=obj["case_number"],
            kid=enc.check_kid(obj["kid"]),
            version=obj["version"],
        )

    @classmethod
    def _from_checked(cls, values: dict[str, Any]) -> Claims:
        """Return Claims holding ``values`` (every field, already valid and normalized)
        WITHOUT running the constructor's checks. Only for :func:`decode_canonical_payload`,
        which has established everything ``__post_init__`` would check."""
        claims = object.__new__(cls)
        object.__setattr__(claims, "__dict__", values)  # (frozen: no plain assignment)
        return claims


# --------------------------------------------------------------------------------------------
# Decoding fast path
#
# The spec's decoding rule (section 4) is: parse the JSON, check members and types, re-serialize
# canonically, and compare with the payload. Since a payload that passes has exactly one
# spelling, the same outcome can be had by recognizing that spelling directly: the expression
# below matches exactly the canonical JSON of a version-1 payload whose every value has its
# type, members sorted and complete, no whitespace, integers without sign or leading zero, text
# values of 1 to 256 code points with no forbidden character and nothing that would need an
# escape (no `"` or `\`). Only what a regular expression cannot say is checked afterwards: the
# integer range, real calendar dates and times, and expires_at after not_before.
#
# Whenever it does not match, or a later check fails, decode_canonical_payload returns None and
# the caller applies the general rule (Claims.from_dict and the re-serialization), which then
# decides, with its own error message. So the fast path never rejects anything by itself, and it
# accepts only payloads the general rule accepts, with equal Claims (tests/keys check this).
# --------------------------------------------------------------------------------------------

# The characters of each kind of value (inside the quotes, for strings):
_INTEGER = "0|[1-9][0-9]{0,15}"  # the range is checked afterwards
# Not `"` or `\` (they would need an escape), not U+0000-U+001F or U+007F-U+009F. (U+2028 and
# U+2029 are excluded by decode_canonical_payload itself: in the pattern, they would double the
# time it takes to compile, which a command-line verifier pays on every run.)
_TEXT = r'[^"\\\x00-\x1f\x7f-\x9f]{1,256}'
_TIMESTAMP = "[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z"  # calendar: afterwards
_DATE = "[0-9]{4}-[0-9]{2}-[0-9]{2}"
_KID = "[0-9a-f]{32}"

# member: (its characters, is it a JSON string, may it be null)
_CANONICAL_MEMBERS: dict[str, tuple[str, bool, bool]] = {
    "agents": (_INTEGER, False, False),
    "case_number": (_TEXT, True, True),
    "customer_id": (_TEXT, True, False),
    "customer_name": (_TEXT, True, False),
    "expires_at": (_TIMESTAMP, True, True),
    "failover_host": (_TEXT, True, True),
    "host": (_TEXT, True, False),
    "issued_at": (_TIMESTAMP, True, False),
    "jobs": (_INTEGER, False, False),
    "kid": (_KID, True, False),
    "kind": ("|".join(map(re.escape, KINDS)), True, False),
    "license_id": (_TEXT, True, False),
    "maintenance_until": (_DATE, True, False),
    "not_before": (_TIMESTAMP, True, False),
    "product": (_TEXT, True, False),
    "reason": ("|".join(map(re.escape, TEMPORARY_REASONS)), True, True),
    "serial": (_TEXT, True, False),
    "supersedes": (_TEXT, True, True),
    "version": (str(FORMAT_VERSION), False, False),
}
assert set(_CANONICAL_MEMBERS) == CLAIM_MEMBERS


def _canonical_member(name: str, characters: str, string: bool, nullable: bool) -> str:
    value = f"(?P<{name}>{characters})"  # a null value leaves the group None
    if string:
        value = f'"{value}"'
    if nullable:
        value = f"(?:null|{value})"
    return f'"{name}":{value}'


_CANONICAL_PAYLOAD = re.compile(
    r"\{"
    + ",".join(
        _canonical_member(name, *_CANONICAL_MEMBERS[name]) for name in sorted(_CANONICAL_MEMBERS)
    )
    + r"\}"
)


# Its groups, in order, are the members in name order (decode_canonical_payload unpacks them).
assert list(_CANONICAL_PAYLOAD.groupindex) == sorted(CLAIM_MEMBERS)


def decode_canonical_payload(payload: bytes) -> Claims | None:
    """Return the Claims of a canonical license-key payload, or None to mean "not decided
    here: apply the general decoding rule" (see the comment above). Raises nothing."""
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if "\u2028" in text or "\u2029" in text:  # forbidden in text values, see _TEXT
        return None
    match = _CANONICAL_PAYLOAD.fullmatch(text)
    if match is None:
        return None
    # Strings, or None for null; in member-name order.
    (
        agents,
        case_number,
        customer_id,
        customer_name,
        expires_at,
        failover_host,
        host,
        issued_at,
        jobs,
        kid,
        kind,
        license_id,
        maintenance_until,
        not_before,
        product,
        reason,
        serial,
        supersedes,
        _version,  # the pattern admits FORMAT_VERSION only
    ) = match.groups()
    try:
        # fromisoformat on these exact shapes accepts and rejects what the general rule's
        # datetime(...) and date(...) do, and returns UTC datetimes.
        issued = datetime.fromisoformat(issued_at)
        valid_from = datetime.fromisoformat(not_before)
        expires = None if expires_at is None else datetime.fromisoformat(expires_at)
        maintenance = date.fromisoformat(maintenance_until)
    except ValueError:
        return None
    agent_limit = int(agents)
    job_limit = int(jobs)
    if (
        agent_limit > enc.MAX_SAFE_INTEGER
        or job_limit > enc.MAX_SAFE_INTEGER
        or (expires is not None and expires <= valid_from)
    ):
        return None
    return Claims._from_checked(
        {
            "serial": serial,
            "license_id": license_id,
            "customer_id": customer_id,
            "customer_name": customer_name,
            "product": product,
            "kind": kind,
            "agents": agent_limit,
            "jobs": job_limit,
            "host": host,
            "issued_at": issued,
            "not_before": valid_from,
            "maintenance_until": maintenance,
            "expires_at": expires,
            "failover_host": failover_host,
            "reason": reason,
            "supersedes": supersedes,
            "case_number": case_number,
            "kid": kid,
            "version": FORMAT_VERSION,
        }
    )
