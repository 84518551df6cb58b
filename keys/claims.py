"""What a license key says: :class:`Claims` and its wire form (docs/key-format.md section 5)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from keys import _encoding as enc

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
    Construction raises ValueError for any value the wire format cannot carry.
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
            raise ValueError(f"kind must be one of {KINDS}, not {self.kind!r}")
        if self.reason is not None and self.reason not in TEMPORARY_REASONS:
            raise ValueError(f"reason must be one of {TEMPORARY_REASONS}, not {self.reason!r}")
        enc.check_integer(self.agents, "agents")
        enc.check_integer(self.jobs, "jobs")
        if self.version != FORMAT_VERSION or type(self.version) is not int:
            raise ValueError(f"version must be {FORMAT_VERSION}")
        if self.kid != "":
            enc.check_kid(self.kid)
        if type(self.maintenance_until) is not date:
            raise ValueError("maintenance_until must be a date (not a datetime)")
        # Frozen dataclass: normalizing needs object.__setattr__.
        object.__setattr__(self, "issued_at", enc.check_aware(self.issued_at, "issued_at"))
        object.__setattr__(self, "not_before", enc.check_aware(self.not_before, "not_before"))
        if self.expires_at is not None:
            expires_at = enc.check_aware(self.expires_at, "expires_at")
            object.__setattr__(self, "expires_at", expires_at)
            if expires_at <= self.not_before:
                raise ValueError("expires_at must be later than not_before")

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
            raise ValueError(f"unsupported version {obj['version']!r}")
        for name in ("kind", "reason"):
            if obj[name] is not None and not isinstance(obj[name], str):
                raise ValueError(f"{name} must be a string")
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
