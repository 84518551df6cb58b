"""Signed revocation lists that offline installers carry (docs/key-format.md section 8)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from keys import _encoding as enc
from keys.claims import CLOCK_SKEW, FORMAT_VERSION
from keys.errors import LicenseKeyError, MalformedKey, StaleRevocationList
from keys.signing import (
    SigningKey,
    TrustedKeys,
    check_envelope_signature,
    open_envelope,
    seal,
    trusted_by_kid,
)

if TYPE_CHECKING:
    from keys.claims import Claims

REVOCATION_PREFIX = "LRL1."
REVOCATION_CONTEXT = b"licensesvc/revocation-list/v1\n"
REVOCATION_STATUSES = ("revoked", "superseded")
_LIST_MEMBERS = frozenset({"entries", "issued_at", "kid", "next_update", "version"})
_ENTRY_MEMBERS = frozenset({"reason", "revoked_at", "serial", "status"})


@dataclass(frozen=True)
class RevokedEntry:
    """One serial on a revocation list.

    Construction raises ValueError for a status other than "revoked"/"superseded", a naive
    ``revoked_at`` or text the format cannot carry.
    """

    serial: str
    status: str  # "revoked" | "superseded"
    revoked_at: datetime
    reason: str | None = None

    def __post_init__(self) -> None:
        enc.check_text(self.serial, "serial")
        if self.status not in REVOCATION_STATUSES:
            raise ValueError(f"status must be one of {REVOCATION_STATUSES}")
        enc.check_optional_text(self.reason, "reason")
        object.__setattr__(self, "revoked_at", enc.check_aware(self.revoked_at, "revoked_at"))

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON-ready wire form of the entry."""
        return {
            "reason": self.reason,
            "revoked_at": enc.format_timestamp(self.revoked_at),
            "serial": self.serial,
            "status": self.status,
        }


def _serial_order(entry: RevokedEntry) -> bytes:
    # UTF-8 byte order equals code point order, and is easy to reproduce in any language.
    return entry.serial.encode("utf-8")


@dataclass(frozen=True)
class RevocationList:
    """A list of revoked and superseded serials, valid until ``next_update``.

    Entries are stored sorted by serial. Construction raises ValueError for duplicate
    serials, naive datetimes or ``next_update`` not after ``issued_at``.
    """

    issued_at: datetime
    next_update: datetime
    entries: tuple[RevokedEntry, ...]
    kid: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "issued_at", enc.check_aware(self.issued_at, "issued_at"))
        object.__setattr__(self, "next_update", enc.check_aware(self.next_update, "next_update"))
        if self.next_update <= self.issued_at:
            raise ValueError("next_update must be later than issued_at")
        entries = tuple(sorted(self.entries, key=_serial_order))
        if not all(isinstance(entry, RevokedEntry) for entry in entries):
            raise ValueError("entries must be RevokedEntry objects")
        serials = [entry.serial for entry in entries]
        if len(set(serials)) != len(serials):
            raise ValueError("a serial may appear only once on a revocation list")
        object.__setattr__(self, "entries", entries)
        if self.kid != "":
            enc.check_kid(self.kid)

    def status_of(self, serial: str) -> str | None:
        """Return "revoked" or "superseded" for a listed serial, None when not listed."""
        for entry in self.entries:
            if entry.serial == serial:
                return entry.status
        return None

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON-ready wire form of the list."""
        return {
            "entries": [entry.to_dict() for entry in self.entries],
            "issued_at": enc.format_timestamp(self.issued_at),
            "kid": self.kid,
            "next_update": enc.format_timestamp(self.next_update),
            "version": FORMAT_VERSION,
        }


def _list_from_dict(obj: dict[str, Any]) -> RevocationList:
    enc.require_members(obj, _LIST_MEMBERS, "revocation list payload")
    if type(obj["version"]) is not int or obj["version"] != FORMAT_VERSION:
        raise ValueError(f"unsupported version {obj['version']!r}")
    if not isinstance(obj["entries"], list):
        raise ValueError("entries must be an array")
    entries = []
    for item in obj["entries"]:
        if not isinstance(item, dict):
            raise ValueError("an entry must be an object")
        enc.require_members(item, _ENTRY_MEMBERS, "revocation entry")
        if not isinstance(item["status"], str):
            raise ValueError("status must be a string")
        entries.append(
            RevokedEntry(
                serial=item["serial"],
                status=item["status"],
                revoked_at=enc.parse_timestamp(item["revoked_at"]),
                reason=item["reason"],
            )
        )
    return RevocationList(
        issued_at=enc.parse_timestamp(obj["issued_at"]),
        next_update=enc.parse_timestamp(obj["next_update"]),
        entries=tuple(entries),
        kid=enc.check_kid(obj["kid"]),
    )


def sign_revocation_list(rl: RevocationList, signing_key: SigningKey) -> str:
    """Return the compact text form (prefix ``LRL1.``) of ``rl`` signed by ``signing_key``.

    The list's ``kid`` is set to the signing key's kid. Raises nothing for a valid list.
    """
    signed = dataclasses.replace(rl, kid=signing_key.kid)
    payload = enc.canonical_json(signed.to_dict())
    return seal(REVOCATION_PREFIX, REVOCATION_CONTEXT, payload, signing_key)


def check_not_stale(rl: RevocationList, at: datetime, *, claims: Claims | None = None) -> None:
    """Return None if ``rl`` is current at ``at``; raise StaleRevocationList if it is past
    ``next_update`` plus CLOCK_SKEW."""
    if at - rl.next_update > CLOCK_SKEW:
        raise StaleRevocationList(
            "The revocation list was due to be replaced at "
            f"{enc.format_timestamp(rl.next_update)}; fetch a current one.",
            claims=claims,
        )


def verify_revocation_list(
    text: str, trusted: TrustedKeys, *, at: datetime | None = None
) -> RevocationList:
    """Return the verified RevocationList in ``text``.

    Raises MalformedKey, UnknownKeyId, BadSignature, or StaleRevocationList when ``at``
    (default now) is past ``next_update`` plus CLOCK_SKEW; KeyConfigurationError for a bad
    ``trusted`` argument; ValueError for a naive ``at``.
    """
    moment = datetime.now(UTC) if at is None else at
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("at must be a timezone-aware datetime")
    trusted_keys = trusted_by_kid(trusted)
    # 1. Decode: prefix, base64url, canonical JSON, members.
    try:
        envelope = open_envelope(REVOCATION_PREFIX, text)
        rl = _list_from_dict(enc.parse_json_object(envelope.payload))
        if enc.canonical_json(rl.to_dict()) != envelope.payload:
            raise MalformedKey("The revocation list is not in canonical form.")
    except LicenseKeyError:
        raise
    except Exception as exc:  # any surprise while parsing is malformed
        raise MalformedKey(f"The revocation list could not be parsed: {exc}.") from None
    # 2. kid among the trusted keys; 3. signature over the revocation-list context + payload.
    check_envelope_signature(envelope, REVOCATION_CONTEXT, rl.kid, trusted_keys, "revocation list")
    # 4. A list past its next_update is refused, never silently trusted.
    check_not_stale(rl, moment)
    return rl
