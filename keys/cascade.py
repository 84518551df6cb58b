"""Compact revocation for large fleets: the signed revocation cascade and its deltas
(docs/key-format.md section 14).

A *base* carries a filter cascade in the binary format of Mozilla's ``filtercascade`` /
``rust-cascade`` (version 2, hash algorithm 2: the low 32 bits of SHA-256), built over every
unexpired key the server had issued up to its ``covered_through`` time: the revoked keys on one
side, the others on the other, so that it answers exactly for each of them. A *delta* carries
a stash: the serials revoked (and superseded) since a named generation. Both sit in one binary
envelope signed with the server's signing key under their own context string.

Only the standard library and ``cryptography`` (through :mod:`keys.signing`): installers embed
this module. The server builds the filters with the ``filtercascade`` package; this module
reads them, and assembles and signs the envelope around them.
"""

from __future__ import annotations

import hashlib
import struct
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from keys import _encoding as enc
from keys.claims import CLOCK_SKEW
from keys.errors import InvalidValue, MalformedKey, RevocationDeltaRefused, StaleRevocationList
from keys.signing import (
    Envelope,
    SigningKey,
    TrustedKeys,
    check_envelope_signature,
    trusted_by_kid,
)

if TYPE_CHECKING:
    from keys.claims import Claims

CASCADE_MAGIC = b"LRC1"
CASCADE_CONTEXT = b"licensesvc/revocation-cascade/v1\n"
CASCADE_VERSION = 1
#: Mozilla's filter-cascade file format version read here (the one with inverted flag and salt)
FILTER_FORMAT_VERSION = 2
#: filtercascade's HashAlgorithm.SHA256 = rust-cascade's Sha256l32: the low 32 bits of SHA-256
HASH_SHA256_L32 = 2
SIGNATURE_LENGTH = 64
#: the largest generation number (2^53 - 1: exact in every JSON implementation)
MAX_GENERATION = 2**53 - 1
#: at most this many hash functions per layer: a bound on work, far above any real filter
MAX_HASH_FUNCTIONS = 64
#: a stash inflates to at most this many bytes (about 100,000 entries)
MAX_STASH_BYTES = 8 * 1024 * 1024
KINDS = ("base", "delta")
_HEADER_MEMBERS = frozenset(
    {
        "base",
        "count",
        "covered_through",
        "generation",
        "issued_at",
        "kid",
        "kind",
        "next_update",
        "server",
        "since",
        "version",
    }
)
_U32 = struct.Struct("<I")
_LAYER_HEADER = struct.Struct("<BIIB")  # hash algorithm, size in bits, hash count, layer number
_HASH_INPUT = struct.Struct("<IB")  # hash function number, layer number


def cascade_item(serial: str) -> bytes:
    """Return the bytes a key is filed under in a cascade: its serial in UTF-8."""
    return serial.encode("utf-8")


class FilterCascade:
    """A filter cascade read from Mozilla's binary format, version 2 (docs/key-format.md
    section 14.2): ``FilterCascade.from_bytes(data)``, then ``item in cascade``."""

    __slots__ = ("_layers", "inverted", "salt")

    def __init__(self, layers: list[tuple[int, int, bytes]], salt: bytes, inverted: bool) -> None:
        self._layers = layers
        self.salt = salt
        self.inverted = inverted

    @classmethod
    def from_bytes(cls, data: bytes) -> FilterCascade:
        """Return the cascade in ``data``; raise InvalidValue (a ValueError) for anything but
        version 2 with hash algorithm 2, layers numbered 1, 2, ... and no byte left over."""
        view = memoryview(data)
        if len(view) < 4:
            raise InvalidValue("the filter cascade is truncated before its salt")
        version = view[0] | view[1] << 8
        if version != FILTER_FORMAT_VERSION:
            raise InvalidValue(f"filter cascade version {version} is not supported (only 2)")
        if view[2] > 1:
            raise InvalidValue("the filter cascade's inverted flag is neither 0 nor 1")
        inverted = view[2] == 1
        salt_length = view[3]
        position = 4 + salt_length
        if len(view) < position:
            raise InvalidValue("the filter cascade is truncated in its salt")
        salt = bytes(view[4:position])
        layers: list[tuple[int, int, bytes]] = []
        while position < len(view):
            if len(view) - position < _LAYER_HEADER.size:
                raise InvalidValue("the filter cascade is truncated in a layer header")
            algorithm, size, hash_count, number = _LAYER_HEADER.unpack_from(view, position)
            position += _LAYER_HEADER.size
            if algorithm != HASH_SHA256_L32:
                raise InvalidValue(f"hash algorithm {algorithm} is not supported (only 2)")
            if number != len(layers) + 1:
                raise InvalidValue("the filter cascade's layers are not numbered 1, 2, ...")
            if size < 1 or not 1 <= hash_count <= MAX_HASH_FUNCTIONS:
                raise InvalidValue("a layer has no bits or an unsupported number of hashes")
            byte_count = (size + 7) // 8
            if len(view) - position < byte_count:
                raise InvalidValue("the filter cascade is truncated in a layer's bits")
            layers.append((size, hash_count, bytes(view[position : position + byte_count])))
            position += byte_count
        if not layers:
            raise InvalidValue("the filter cascade has no layer")
        if len(layers) > 255:
            raise InvalidValue("the filter cascade has more than 255 layers")
        return cls(layers, salt, inverted)

    @property
    def layer_count(self) -> int:
        """The number of Bloom filter layers."""
        return len(self._layers)

    def __contains__(self, item: bytes) -> bool:
        """True when the cascade says ``item`` is in its included set (meaningful only for
        items of the set it was built over)."""
        sha256 = hashlib.sha256
        pack = _HASH_INPUT.pack
        salt = self.salt
        found = False
        for number, (size, hash_count, bits) in enumerate(self._layers, 1):
            for function in range(hash_count):
                digest = sha256(salt + pack(function, number) + item).digest()
                index = int.from_bytes(digest[:4], "little") % size
                if not bits[index >> 3] >> (index & 7) & 1:
                    return found != self.inverted
            found = not found
        return found != self.inverted


@dataclass(frozen=True, slots=True)
class CascadeHeader:
    """The signed header of a base or a delta (docs/key-format.md section 14.1)."""

    kind: str  # "base" | "delta"
    kid: str
    generation: int
    base: int
    since: int
    issued_at: datetime
    next_update: datetime
    covered_through: datetime
    count: int
    server: str

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON-ready wire form."""
        return {
            "base": self.base,
            "count": self.count,
            "covered_through": enc.format_timestamp(self.covered_through),
            "generation": self.generation,
            "issued_at": enc.format_timestamp(self.issued_at),
            "kid": self.kid,
            "kind": self.kind,
            "next_update": enc.format_timestamp(self.next_update),
            "server": self.server,
            "since": self.since,
            "version": CASCADE_VERSION,
        }


#: a stash: serial -> None (revoked) or the end of its overlap (superseded)
Stash = dict[str, datetime | None]


def encode_stash(stash: Mapping[str, datetime | None]) -> bytes:
    """Return the stash section: zlib of one line per serial, ascending (b"" when empty)."""
    if not stash:
        return b""
    lines = []
    for serial in sorted(stash):
        enc.check_text(serial, "serial")
        until = stash[serial]
        lines.append(serial if until is None else f"{serial}\t{enc.format_timestamp(until)}")
    return zlib.compress(("\n".join(lines) + "\n").encode("utf-8"), 9)


def _decode_stash(section: bytes) -> Stash:
    if not section:
        return {}
    inflater = zlib.decompressobj()
    text = inflater.decompress(section, MAX_STASH_BYTES)
    if inflater.unconsumed_tail or not inflater.eof or inflater.unused_data:
        raise InvalidValue("the stash is not one complete zlib stream of at most 8 MiB")
    lines = text.decode("utf-8").split("\n")
    if lines.pop() != "":
        raise InvalidValue("the stash's last line does not end with a newline")
    stash: Stash = {}
    previous = ""
    for line in lines:
        serial, tab, until = line.partition("\t")
        enc.check_text(serial, "serial")
        if serial <= previous:
            raise InvalidValue("the stash's serials are not in strictly ascending order")
        previous = serial
        stash[serial] = enc.parse_timestamp(until) if tab else None
    return stash


def sign_cascade(
    header: CascadeHeader,
    filter_bytes: bytes,
    stash: Mapping[str, datetime | None],
    signing_key: SigningKey,
) -> bytes:
    """Return the signed binary envelope (``LRC1``...) of a base (``filter_bytes`` in
    Mozilla's format) or a delta (``filter_bytes`` empty). The header's ``kid`` becomes the
    signing key's. Raises InvalidValue for a header the format cannot carry."""
    signed = CascadeHeader(**{**_fields(header), "kid": signing_key.kid})
    _check_header(signed, has_filter=bool(filter_bytes), stash_size=len(stash))
    header_bytes = enc.canonical_json(signed.to_dict())
    stash_bytes = encode_stash(stash)
    body = b"".join(
        (
            CASCADE_MAGIC,
            _U32.pack(len(header_bytes)),
            header_bytes,
            _U32.pack(len(filter_bytes)),
            filter_bytes,
            _U32.pack(len(stash_bytes)),
            stash_bytes,
        )
    )
    return body + signing_key.sign(CASCADE_CONTEXT + body)


def _fields(header: CascadeHeader) -> dict[str, Any]:
    return {name: getattr(header, name) for name in CascadeHeader.__slots__}


def _check_header(header: CascadeHeader, *, has_filter: bool, stash_size: int) -> None:
    if header.kind not in KINDS:
        raise InvalidValue(f"kind must be one of {KINDS}")
    for name in ("generation", "base", "since"):
        value = getattr(header, name)
        if type(value) is not int or not 1 <= value <= MAX_GENERATION:
            raise InvalidValue(f"{name} must be a whole number from 1 to {MAX_GENERATION}")
    if type(header.count) is not int or not 0 <= header.count <= MAX_GENERATION:
        raise InvalidValue("count must be a whole number from 0")
    if header.kind == "base":
        if not header.base == header.since == header.generation:
            raise InvalidValue("a base's base and since are its generation")
        if not has_filter:
            raise InvalidValue("a base carries a filter cascade")
    else:
        if not header.base <= header.since < header.generation:
            raise InvalidValue("a delta needs base <= since < generation")
        if has_filter:
            raise InvalidValue("a delta carries no filter cascade")
        if header.count != stash_size:
            raise InvalidValue("a delta's count is the number of its stash's entries")
    if header.next_update <= header.issued_at:
        raise InvalidValue("next_update must be later than issued_at")
    if header.covered_through > header.issued_at:
        raise InvalidValue("covered_through must not be later than issued_at")
    if type(header.server) is not str or len(header.server) > enc.MAX_TEXT_LENGTH:
        raise InvalidValue("server must be text of at most 256 characters")
    if enc.FORBIDDEN_TEXT_RE.search(header.server):
        raise InvalidValue("server must not contain control characters")


@dataclass(frozen=True, slots=True)
class CascadePiece:
    """One verified base or delta: its header, its filter (bases) and its stash."""

    header: CascadeHeader
    filter: FilterCascade | None
    stash: Stash


def _split(data: bytes) -> tuple[dict[str, Any], bytes, bytes, Envelope]:
    """Step 1: the envelope's sections (raises ValueError for any bad framing)."""
    if data[:4] != CASCADE_MAGIC:
        raise InvalidValue("it does not start with LRC1")
    sections = []
    position = 4
    for _ in range(3):
        if len(data) - position < 4:
            raise InvalidValue("it is truncated")
        (length,) = _U32.unpack_from(data, position)
        position += 4
        if len(data) - position < length:
            raise InvalidValue("it is truncated")
        sections.append(data[position : position + length])
        position += length
    if len(data) - position != SIGNATURE_LENGTH:
        raise InvalidValue("it does not end with exactly one 64-byte signature")
    header_obj = enc.parse_json_object(sections[0])
    if enc.canonical_json(header_obj) != sections[0]:
        raise InvalidValue("its header is not in canonical form")
    return header_obj, sections[1], sections[2], Envelope(data[:position], data[position:])


def _header_from_wire(obj: dict[str, Any]) -> CascadeHeader:
    enc.require_members(obj, _HEADER_MEMBERS, "revocation cascade header")
    if type(obj["version"]) is not int or obj["version"] != CASCADE_VERSION:
        raise InvalidValue(f"unsupported version {obj['version']!r}")
    if obj["kind"] not in KINDS:
        raise InvalidValue(f"kind must be one of {KINDS}")
    return CascadeHeader(
        kind=obj["kind"],
        kid=enc.check_kid(obj["kid"]),
        generation=obj["generation"],
        base=obj["base"],
        since=obj["since"],
        issued_at=enc.parse_timestamp(obj["issued_at"]),
        next_update=enc.parse_timestamp(obj["next_update"]),
        covered_through=enc.parse_timestamp(obj["covered_through"]),
        count=obj["count"],
        server=obj["server"],
    )


def _as_bytes(data: str | bytes) -> bytes:
    return data if isinstance(data, bytes) else data.encode("latin-1")


def is_cascade(data: str | bytes) -> bool:
    """True when ``data`` starts like a revocation cascade or delta (``LRC1``)."""
    return _as_bytes(data[:4]) == CASCADE_MAGIC


def read_piece(data: bytes, trusted: TrustedKeys) -> CascadePiece:
    """Return the verified base or delta in ``data`` (not yet checked for staleness).

    Raises MalformedKey for anything but the format, UnknownKeyId or BadSignature."""
    trusted_keys = trusted_by_kid(trusted)
    # 1. Framing and header; 2. kid among the trusted keys; 3. the signature over the
    #    context and every byte before it; 4. only then the filter and the stash.
    try:
        header_obj, filter_bytes, stash_bytes, envelope = _split(data)
        header = _header_from_wire(header_obj)
    except Exception as exc:  # any surprise while parsing is malformed
        raise MalformedKey(f"The revocation cascade could not be parsed: {exc}.") from None
    check_envelope_signature(
        envelope, CASCADE_CONTEXT, header.kid, trusted_keys, "revocation cascade"
    )
    try:
        cascade = FilterCascade.from_bytes(filter_bytes) if filter_bytes else None
        stash = _decode_stash(stash_bytes)
        _check_header(header, has_filter=cascade is not None, stash_size=len(stash))
    except Exception as exc:
        raise MalformedKey(f"The revocation cascade could not be parsed: {exc}.") from None
    return CascadePiece(header, cascade, stash)


#: the answers of RevocationCascade.answer_for
REVOKED, SUPERSEDED, NOT_REVOKED, UNKNOWN = "revoked", "superseded", "not_revoked", "unknown"


class RevocationCascade:
    """A verified base with the deltas applied to it, in order: what an installer checks keys
    against. Made by :func:`verify_revocation_cascade`; :meth:`with_delta` applies one more.

    ``generation`` is the newest piece's, ``next_update`` and ``covered_through`` too; ``base``
    is the base's generation. ``server`` is where to fetch a current one.
    """

    __slots__ = (
        "_base_filter",
        "_stash",
        "base_header",
        "covered_through",
        "generation",
        "next_update",
    )

    def __init__(self, base: CascadePiece) -> None:
        if base.header.kind != "base" or base.filter is None:
            raise InvalidValue("a revocation cascade starts from a base")
        self.base_header = base.header
        self._base_filter = base.filter
        self._stash: Stash = dict(base.stash)
        self.generation = base.header.generation
        self.next_update = base.header.next_update
        self.covered_through = base.header.covered_through

    @property
    def base(self) -> int:
        """The base's generation."""
        return self.base_header.generation

    @property
    def server(self) -> str:
        """The server URL signed into the base."""
        return self.base_header.server

    @property
    def count(self) -> int:
        """The number of keys the base's filter covers."""
        return self.base_header.count

    @property
    def issued_at(self) -> datetime:
        """When the base was built."""
        return self.base_header.issued_at

    def with_delta(self, delta: CascadePiece) -> RevocationCascade:
        """Return this cascade with ``delta`` applied (this one is unchanged).

        Raises RevocationDeltaRefused for a delta of another base, or one that does not
        follow on from this generation (a gap, or one already applied)."""
        header = delta.header
        if header.kind != "delta":
            raise RevocationDeltaRefused("A base cannot be applied as a delta.")
        if header.base != self.base:
            raise RevocationDeltaRefused(
                f"The delta applies to base {header.base}, not to base {self.base}; fetch "
                f"the current cascade{self._from_server()}."
            )
        if header.since != self.generation:
            raise RevocationDeltaRefused(
                f"The delta follows generation {header.since}, but this cascade is at "
                f"generation {self.generation}; a delta between them is missing (or this one "
                f"was applied already): fetch ...delta?since={self.generation}"
                f"{self._from_server()}."
            )
        applied = RevocationCascade.__new__(RevocationCascade)
        applied.base_header = self.base_header
        applied._base_filter = self._base_filter
        applied._stash = {**self._stash, **delta.stash}
        applied.generation = header.generation
        applied.next_update = header.next_update
        applied.covered_through = max(header.covered_through, self.covered_through)
        return applied

    def _from_server(self) -> str:
        return f" from {self.server}" if self.server else ""

    def answer_for(
        self, serial: str, issued_at: datetime, expires_at: datetime | None
    ) -> tuple[str, datetime | None]:
        """Return what this cascade says of a key: (REVOKED, None), (SUPERSEDED, end of its
        overlap), (NOT_REVOKED, None) or (UNKNOWN, None) when it cannot speak for the key
        (issued after ``covered_through``, or expired before the base was built)."""
        if serial in self._stash:
            until = self._stash[serial]
            return (REVOKED, None) if until is None else (SUPERSEDED, until)
        base = self.base_header
        if issued_at <= base.covered_through:
            if expires_at is not None and base.issued_at - expires_at > CLOCK_SKEW:
                return UNKNOWN, None  # expired before the base: not in its filter
            revoked = cascade_item(serial) in self._base_filter
            return (REVOKED, None) if revoked else (NOT_REVOKED, None)
        if issued_at <= self.covered_through:
            return NOT_REVOKED, None  # a delta lists every revocation since its since
        return UNKNOWN, None

    def check_not_stale(self, at: datetime, *, claims: Claims | None = None) -> None:
        """Return None if current at ``at``; raise StaleRevocationList otherwise."""
        if at - self.next_update > CLOCK_SKEW:
            where = self.server or "the server"
            raise StaleRevocationList(
                "The revocation cascade was due to be replaced at "
                f"{enc.format_timestamp(self.next_update)}; fetch a current one (or a delta "
                f"since generation {self.generation}) from {where}.",
                claims=claims,
            )

    def __repr__(self) -> str:
        return (
            f"RevocationCascade(base={self.base}, generation={self.generation}, "
            f"count={self.count}, next_update={enc.format_timestamp(self.next_update)!r})"
        )


def verify_revocation_cascade(
    data: bytes,
    trusted: TrustedKeys,
    *,
    deltas: Iterable[bytes] = (),
    at: datetime | None = None,
) -> RevocationCascade:
    """Return the verified cascade in ``data`` (a base) with ``deltas`` applied in order.

    Raises MalformedKey, UnknownKeyId, BadSignature, RevocationDeltaRefused (a delta of
    another base, or a gap), or StaleRevocationList when ``at`` (default now) is past the
    newest piece's ``next_update`` plus CLOCK_SKEW; InvalidValue for a naive ``at``."""
    moment = enc.check_aware(datetime.now(UTC) if at is None else at, "at")
    trusted_keys = trusted_by_kid(trusted)
    base = read_piece(data, trusted_keys)
    if base.header.kind != "base":
        raise RevocationDeltaRefused(
            "This is a delta; start from a base (GET /v1/revocations/cascade)."
        )
    cascade = RevocationCascade(base)
    for delta in deltas:
        cascade = cascade.with_delta(read_piece(delta, trusted_keys))
    cascade.check_not_stale(moment)
    return cascade
