"""Signed revocation lists that offline installers carry (docs/key-format.md section 8).

A list has no length limit: it grows with the vendor's revocations (keys past their own expiry
drop off it) and is bounded by memory only. Verifying one builds a dict of its serials once,
so that checking a key against a list of 100,000 entries is one lookup.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from keys import _encoding as enc
from keys.claims import CLOCK_SKEW
from keys.errors import InvalidValue, MalformedKey, StaleRevocationList
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

REVOCATION_VERSION = 2
REVOCATION_PREFIX = "LRL2."
REVOCATION_CONTEXT = b"licensesvc/revocation-list/v2\n"
# Version 1 (free-text reasons) is no longer read: see docs/key-format.md section 8.
V1_REVOCATION_PREFIX = "LRL1."
REVOCATION_STATUSES = ("revoked", "superseded")
#: why a key is on the list; never free text (the analyst's words stay in the audit trail)
REVOCATION_CODES = (
    "key_compromise",
    "superseded",
    "customer_request",
    "contract_ended",
    "issued_in_error",
)
_STATUSES = frozenset(REVOCATION_STATUSES)
_CODES = frozenset(REVOCATION_CODES)
_LIST_MEMBERS = frozenset({"entries", "issued_at", "kid", "next_update", "version"})
#: the list's place in the server's sequence (spec section 8): optional on the wire, a list
#: without it has sequence 0 (lists signed before sequence numbers existed)
_SEQUENCE = "sequence"
#: the largest sequence number (2^53 - 1: exact in every JSON implementation)
MAX_SEQUENCE = 2**53 - 1
_ENTRY_MEMBERS = frozenset({"code", "revoked_at", "serial", "status"})
_LIST_ORDER = tuple(sorted(_LIST_MEMBERS))
_SEQUENCED_LIST_ORDER = tuple(sorted(_LIST_MEMBERS | {_SEQUENCE}))
_ENTRY_ORDER = tuple(sorted(_ENTRY_MEMBERS))


@dataclass(frozen=True, slots=True)
class RevokedEntry:
    """One serial on a revocation list: its ``status`` ("revoked": refused at once;
    "superseded": refused once its overlap, ending at ``revoked_at``, is over) and its reason
    ``code`` (one of REVOCATION_CODES; a superseded entry's code is "superseded").

    ``key_expires_at`` is the revoked key's own expiry, if the builder knows it: it is not
    part of the signed list, it only lets :class:`RevocationList` leave out keys that have
    expired anyway.

    Construction raises InvalidValue (a ValueError) for an unknown status or code, a
    superseded entry with another code, a naive ``revoked_at`` or a serial the format cannot
    carry.
    """

    serial: str
    status: str  # "revoked" | "superseded"
    revoked_at: datetime
    code: str
    key_expires_at: datetime | None = field(default=None, compare=False, repr=False, kw_only=True)

    def __post_init__(self) -> None:
        enc.check_text(self.serial, "serial")
        if self.status not in _STATUSES:
            raise InvalidValue(f"status must be one of {REVOCATION_STATUSES}, not {self.status!r}")
        if self.code not in _CODES:
            raise InvalidValue(f"code must be one of {REVOCATION_CODES}, not {self.code!r}")
        if self.status == "superseded" and self.code != "superseded":
            raise InvalidValue("a superseded entry has the code 'superseded'")
        object.__setattr__(self, "revoked_at", enc.check_aware(self.revoked_at, "revoked_at"))
        if self.key_expires_at is not None:
            expires = enc.check_aware(self.key_expires_at, "key_expires_at")
            object.__setattr__(self, "key_expires_at", expires)

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON-ready wire form of the entry."""
        return {
            "code": self.code,
            "revoked_at": enc.format_timestamp(self.revoked_at),
            "serial": self.serial,
            "status": self.status,
        }


def _entry_from_wire(item: dict[str, Any]) -> RevokedEntry:
    return RevokedEntry(
        item["serial"], item["status"], enc.parse_timestamp(item["revoked_at"]), item["code"]
    )


class RevocationList:
    """A list of revoked and superseded serials, valid until ``next_update``.

    ``RevocationList(issued_at, next_update, entries, kid="", sequence=0)`` sorts the entries
    by serial and leaves out every entry whose ``key_expires_at`` is more than CLOCK_SKEW
    before ``issued_at`` (that key fails as ``expired`` at any time the list is used).
    ``sequence`` is the list's number in its server's sequence (1 to MAX_SEQUENCE, higher is
    newer; 0: the list carries none): a verifier with an anchor refuses a list older than one
    it has seen (spec section 8). It raises InvalidValue (a ValueError) for duplicate
    serials, naive datetimes, ``next_update`` not after ``issued_at``, or a sequence out of
    range. A verified list
    (:func:`verify_revocation_list`) keeps its entries as read and turns them into
    RevokedEntry objects only when asked.
    """

    __slots__ = ("_by_serial", "_entries", "issued_at", "kid", "next_update", "sequence")

    issued_at: datetime
    next_update: datetime
    kid: str
    sequence: int
    _entries: tuple[RevokedEntry, ...] | None
    _by_serial: dict[str, Any]  # serial -> RevokedEntry, or its wire dict (verified lists)

    def __init__(
        self,
        issued_at: datetime,
        next_update: datetime,
        entries: Iterable[RevokedEntry],
        kid: str = "",
        *,
        sequence: int = 0,
    ) -> None:
        if type(sequence) is not int or not 0 <= sequence <= MAX_SEQUENCE:
            raise ValueError(f"sequence must be a whole number from 0 to {MAX_SEQUENCE}")
        self.sequence = sequence
        self.issued_at = enc.check_aware(issued_at, "issued_at")
        self.next_update = enc.check_aware(next_update, "next_update")
        if self.next_update <= self.issued_at:
            raise InvalidValue("next_update must be later than issued_at")
        kept: list[RevokedEntry] = []
        for entry in entries:
            if not isinstance(entry, RevokedEntry):
                raise InvalidValue("entries must be RevokedEntry objects")
            expires = entry.key_expires_at
            if expires is not None and self.issued_at - expires > CLOCK_SKEW:
                continue  # expired keys drop off the list
            kept.append(entry)
        # Code point order = UTF-8 byte order (serials hold no surrogates), as the spec says.
        kept.sort(key=lambda entry: entry.serial)
        self._entries = tuple(kept)
        self._by_serial = {entry.serial: entry for entry in kept}
        if len(self._by_serial) != len(kept):
            raise InvalidValue("a serial may appear only once on a revocation list")
        self.kid = kid if kid == "" else enc.check_kid(kid)

    @classmethod
    def _verified(
        cls,
        issued_at: datetime,
        next_update: datetime,
        kid: str,
        by_serial: dict[str, dict[str, Any]],
        sequence: int,
    ) -> RevocationList:
        # The decoder checked every rule already; entries stay wire dicts until asked for.
        rl = cls.__new__(cls)
        rl.issued_at, rl.next_update, rl.kid = issued_at, next_update, kid
        rl.sequence = sequence
        rl._entries = None
        rl._by_serial = by_serial
        return rl

    @property
    def entries(self) -> tuple[RevokedEntry, ...]:
        """The entries, sorted by serial."""
        if self._entries is None:
            self._entries = tuple(self._entry(serial) for serial in self._by_serial)
        return self._entries

    def _entry(self, serial: str) -> RevokedEntry:
        found = self._by_serial[serial]
        if type(found) is dict:
            found = _entry_from_wire(found)
            self._by_serial[serial] = found
        return found  # type: ignore[no-any-return]

    def entry_for(self, serial: str) -> RevokedEntry | None:
        """Return the entry listing ``serial``, None when it is not listed (one dict lookup)."""
        return self._entry(serial) if serial in self._by_serial else None

    def status_of(self, serial: str) -> str | None:
        """Return "revoked" or "superseded" for a listed serial, None when not listed."""
        entry = self.entry_for(serial)
        return None if entry is None else entry.status

    def __len__(self) -> int:
        return len(self._by_serial)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, RevocationList):
            return NotImplemented
        return (self.issued_at, self.next_update, self.kid, self.sequence, self.entries) == (
            other.issued_at,
            other.next_update,
            other.kid,
            other.sequence,
            other.entries,
        )

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return (
            f"RevocationList(issued_at={enc.format_timestamp(self.issued_at)!r}, "
            f"next_update={enc.format_timestamp(self.next_update)!r}, "
            f"kid={self.kid!r}, sequence={self.sequence}, {len(self)} entries)"
        )

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON-ready wire form of the list (`sequence` only when it is not 0)."""
        wire: dict[str, Any] = {
            "entries": [entry.to_dict() for entry in self.entries],
            "issued_at": enc.format_timestamp(self.issued_at),
            "kid": self.kid,
            "next_update": enc.format_timestamp(self.next_update),
            "version": REVOCATION_VERSION,
        }
        if self.sequence:
            wire[_SEQUENCE] = self.sequence
        return wire


# The exact shape of a timestamp with the clock part's ranges; the calendar (month, day, leap
# years) is checked once per distinct day, since many entries of a long list share one.
_ENTRY_TIMESTAMP_RE = re.compile(r"(\d{4}-\d{2}-\d{2})T(?:[01]\d|2[0-3]):[0-5]\d:[0-5]\dZ")


def _decode_list(payload: bytes) -> RevocationList:
    """The decoding rule of spec section 4 for a list payload; raises ValueError (or any other
    exception, which the caller reports as malformed).

    Runs once per entry of lists of 100,000 and more, hence the shape: the members' order is
    checked with the set (a canonical payload has them sorted), so that re-encoding the parsed
    object without sorting reproduces a canonical payload byte for byte, and the C parts of
    ``json`` and ``re`` do the rest.
    """
    import json

    obj = json.loads(payload.decode("utf-8"), parse_constant=enc.reject_constant)
    if type(obj) is not dict:
        raise InvalidValue("the payload is not a JSON object")
    sequence = obj.get(_SEQUENCE, 0)
    has_sequence = _SEQUENCE in obj
    if has_sequence and (type(sequence) is not int or not 1 <= sequence <= MAX_SEQUENCE):
        raise InvalidValue(f"sequence must be a whole number from 1 to {MAX_SEQUENCE}")
    members = _LIST_MEMBERS | {_SEQUENCE} if has_sequence else _LIST_MEMBERS
    enc.require_members(obj, members, "revocation list payload")
    if type(obj["version"]) is not int or obj["version"] != REVOCATION_VERSION:
        raise InvalidValue(f"unsupported version {obj['version']!r}")
    kid = enc.check_kid(obj["kid"])
    issued_at = enc.parse_timestamp(obj["issued_at"])
    next_update = enc.parse_timestamp(obj["next_update"])
    if next_update <= issued_at:
        raise InvalidValue("next_update must be later than issued_at")
    items = obj["entries"]
    if type(items) is not list:
        raise InvalidValue("entries must be an array")
    if tuple(obj) != (_SEQUENCED_LIST_ORDER if has_sequence else _LIST_ORDER):
        raise InvalidValue("it is not in canonical form (members not sorted)")
    timestamp = _ENTRY_TIMESTAMP_RE.fullmatch
    forbidden = enc.FORBIDDEN_TEXT_RE.search
    max_length = enc.MAX_TEXT_LENGTH
    days: set[str] = set()
    by_serial: dict[str, dict[str, Any]] = {}
    previous = ""
    for item in items:
        # One comparison checks the member set and its (canonical, sorted) order.
        if type(item) is not dict or tuple(item) != _ENTRY_ORDER:
            if type(item) is not dict or item.keys() != _ENTRY_MEMBERS:
                raise InvalidValue(f"an entry must be an object with exactly {list(_ENTRY_ORDER)}")
            raise InvalidValue("it is not in canonical form (entry members not sorted)")
        serial = item["serial"]
        if type(serial) is not str or not 0 < len(serial) <= max_length or forbidden(serial):
            raise InvalidValue(
                f"serial must be text of 1 to {max_length} characters without control characters"
            )
        if serial <= previous:
            raise InvalidValue(
                f"entries are not in strictly ascending order of serial ({serial!r})"
            )
        previous = serial
        status = item["status"]
        if type(status) is not str or status not in _STATUSES:
            raise InvalidValue(f"status must be one of {REVOCATION_STATUSES}")
        code = item["code"]
        if type(code) is not str or code not in _CODES:
            raise InvalidValue(f"code must be one of {REVOCATION_CODES}")
        if status == "superseded" and code != "superseded":
            raise InvalidValue("a superseded entry must have the code 'superseded'")
        revoked_at = item["revoked_at"]
        found = timestamp(revoked_at) if type(revoked_at) is str else None
        if found is None:
            raise InvalidValue(f"revoked_at is not a timestamp: {revoked_at!r}")
        days.add(found[1])
        by_serial[serial] = item
    for day in days:
        enc.parse_date(day)  # raises ValueError for 2025-02-29 and the like
    # Exactly one encoding: the payload must be the canonical JSON of what it says. With the
    # members in sorted order (checked above), encoding without sorting gives the canonical
    # form. This also catches duplicate member names, which
    # json.loads collapses (the error path names them).
    encoded = json.dumps(obj, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    if encoded.encode("utf-8") != payload:
        enc.parse_json_object(payload)  # raises ValueError naming a duplicate member
        raise InvalidValue("it is not in canonical form")
    return RevocationList._verified(issued_at, next_update, kid, by_serial, sequence)


def sign_revocation_list(rl: RevocationList, signing_key: SigningKey) -> str:
    """Return the compact text form (prefix ``LRL2.``) of ``rl`` signed by ``signing_key``.

    The list's ``kid`` is the signing key's kid. Build ``rl`` with
    ``RevocationList(issued_at, next_update, entries)``, each entry a
    ``RevokedEntry(serial, status, revoked_at, code, key_expires_at=...)``: entries of keys
    that expired before ``issued_at`` are left out. Raises nothing for a valid list.
    """
    signed = RevocationList(
        rl.issued_at, rl.next_update, rl.entries, signing_key.kid, sequence=rl.sequence
    )
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


def check_not_older_than_seen(
    rl: RevocationList, highest_seen: int, *, claims: Claims | None = None
) -> None:
    """Return None if ``rl`` is not older than the newest list already seen (its sequence is
    at least ``highest_seen``); raise StaleRevocationList otherwise: a list the server has
    since replaced may lack a revocation made after it (spec section 8)."""
    if rl.sequence < highest_seen:
        which = (
            f"number {rl.sequence}"
            if rl.sequence
            else "unnumbered (signed before lists carried numbers)"
        )
        raise StaleRevocationList(
            f"The revocation list is {which}, older than number {highest_seen} already seen "
            "here; it may lack later revocations. Use the newest list.",
            claims=claims,
        )


def verify_revocation_list(
    text: str | bytes, trusted: TrustedKeys, *, at: datetime | None = None
) -> RevocationList:
    """Return the verified RevocationList in ``text`` (the list as text, or a file's bytes;
    read as spec section 2 says, of any length).

    Raises MalformedKey (also for a version 1 list), UnknownKeyId, BadSignature, or
    StaleRevocationList when ``at`` (default now; truncated to whole seconds) is past
    ``next_update`` plus CLOCK_SKEW; KeyConfigurationError for a bad ``trusted`` argument;
    InvalidValue (a ValueError) for a naive ``at``.
    """
    moment = enc.check_aware(datetime.now(UTC) if at is None else at, "at")
    trusted_keys = trusted_by_kid(trusted)
    # 1. Decode: reading rule, prefix, base64url, canonical JSON, members, order.
    try:
        envelope = open_envelope(REVOCATION_PREFIX, text, what="revocation list", max_length=None)
    except MalformedKey:
        if _starts_with_v1_prefix(text):
            raise MalformedKey(
                "The revocation list is in the old version 1 format, which is no longer "
                "accepted; fetch a current list (LRL2.) from the server."
            ) from None
        raise
    try:
        rl = _decode_list(envelope.payload)
    except Exception as exc:  # any surprise while parsing is malformed
        raise MalformedKey(f"The revocation list could not be parsed: {exc}.") from None
    # 2. kid among the trusted keys; 3. signature over the revocation-list context + payload.
    check_envelope_signature(envelope, REVOCATION_CONTEXT, rl.kid, trusted_keys, "revocation list")
    # 4. A list past its next_update is refused, never silently trusted.
    check_not_stale(rl, moment)
    return rl


def _starts_with_v1_prefix(text: str | bytes) -> bool:
    try:
        return enc.read_input(text, "revocation list").startswith(V1_REVOCATION_PREFIX)
    except ValueError:
        return False
