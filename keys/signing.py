"""Ed25519 signing and public keys, key IDs, and the signed-envelope layer.

docs/key-format.md sections 1-3. The envelope functions are shared by license keys,
revocation lists and rotation statements; each passes its own prefix and context string.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import NamedTuple

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from keys import _encoding as enc
from keys.errors import (
    BadSignature,
    InvalidValue,
    KeyConfigurationError,
    MalformedKey,
    UnknownKeyId,
)

RAW_PUBLIC_KEY_LENGTH = 32
SIGNATURE_LENGTH = 64

# Edwards25519 (RFC 8032 section 5.1): the field prime, the curve constant d, and the y
# coordinates of the 8 points of small order (y = 1: the identity; y = -1: order 2; y = 0:
# order 4; the last two: order 8). Each y names two points (the sign bit picks x or -x).
_P = 2**255 - 19
_D = (-121665 * pow(121666, -1, _P)) % _P
_Y_ORDER_8 = 2707385501144840649318225287225658788936804267575313519463743609750303402022
_SMALL_ORDER_Y = frozenset({0, 1, _P - 1, _Y_ORDER_8, _P - _Y_ORDER_8})
_PEM_BEGIN_RE = re.compile(r"-----BEGIN ([A-Z0-9 ]+)-----")
_PUBLIC_PEM_RE = re.compile(r"-----BEGIN PUBLIC KEY-----.*?-----END PUBLIC KEY-----", re.DOTALL)


def check_public_key_point(raw: bytes) -> None:
    """Return None if ``raw`` is the canonical encoding of an Ed25519 point of large order.

    Raises ValueError for a wrong length, a non-canonical encoding (y >= p, or x = 0 with the
    sign bit set), bytes that are not a point of the curve, and the 8 points of small order
    (a signature by such a "key" can verify for many messages). docs/key-format.md section 1.
    """
    if len(raw) != RAW_PUBLIC_KEY_LENGTH:
        raise InvalidValue("an Ed25519 public key is exactly 32 bytes")
    encoded = int.from_bytes(raw, "little")
    y, sign = encoded & ((1 << 255) - 1), encoded >> 255
    if y >= _P:
        raise InvalidValue("the public key is not canonically encoded (y >= p)")
    if y in _SMALL_ORDER_Y:
        raise InvalidValue("the public key is a point of small order")
    # x^2 = (y^2 - 1) / (d y^2 + 1) must have a square root (Euler's criterion).
    x2 = (y * y - 1) * pow(_D * y * y + 1, -1, _P) % _P
    if x2 == 0 and sign:  # pragma: no cover - x = 0 only for y = +-1, refused above
        raise InvalidValue("the public key is not canonically encoded (x = 0, sign bit set)")
    if x2 != 0 and pow(x2, (_P - 1) // 2, _P) != 1:
        raise InvalidValue("the public key is not a point of the curve")


def kid_for_raw_public_key(raw: bytes) -> str:
    """Return the key ID of a raw 32-byte public key: hex of the first 16 bytes of SHA-256."""
    # cryptography's SHA-256 rather than hashlib's: it is loaded anyway, hashlib is not.
    digest = hashes.Hash(hashes.SHA256())
    digest.update(raw)
    return digest.finalize()[:16].hex()


class PublicKey:
    """An Ed25519 public key that verifiers trust."""

    __slots__ = ("_key", "_kid", "_raw")

    def __init__(self, key: Ed25519PublicKey) -> None:
        self._key = key
        self._raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        self._kid = kid_for_raw_public_key(self._raw)  # derived once, not per verification

    @classmethod
    def from_pem(cls, pem: bytes | str) -> PublicKey:
        """Return the public key in a SubjectPublicKeyInfo PEM.

        Raises KeyConfigurationError if the PEM is unreadable or not an Ed25519 public key.
        """
        data = pem.encode("ascii", errors="replace") if isinstance(pem, str) else pem
        try:
            key = serialization.load_pem_public_key(data)
        except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
            raise KeyConfigurationError(f"not a readable public key PEM: {exc}") from None
        if not isinstance(key, Ed25519PublicKey):
            raise KeyConfigurationError("the public key is not an Ed25519 key")
        public = cls(key)
        try:
            check_public_key_point(public._raw)
        except ValueError as exc:
            raise KeyConfigurationError(f"not a usable Ed25519 public key: {exc}") from None
        return public

    @classmethod
    def from_raw(cls, raw: bytes) -> PublicKey:
        """Return the public key for 32 raw bytes; raises KeyConfigurationError otherwise."""
        if len(raw) != RAW_PUBLIC_KEY_LENGTH:
            raise KeyConfigurationError("an Ed25519 public key is exactly 32 bytes")
        try:
            return cls(Ed25519PublicKey.from_public_bytes(raw))
        except ValueError as exc:  # pragma: no cover - any 32 bytes load
            raise KeyConfigurationError(f"not an Ed25519 public key: {exc}") from None

    @classmethod
    def from_raw_b64(cls, b64: str) -> PublicKey:
        """Return the public key for its raw bytes in unpadded base64url (43 characters).

        Raises KeyConfigurationError for any other encoding or length.
        """
        try:
            raw = enc.b64url_decode(b64.strip(enc.WHITESPACE))
        except (ValueError, AttributeError) as exc:
            raise KeyConfigurationError(f"not unpadded base64url: {exc}") from None
        return cls.from_raw(raw)

    @property
    def kid(self) -> str:
        """The key ID (32 lowercase hex characters) derived from the raw key bytes."""
        return self._kid

    def raw(self) -> bytes:
        """Return the 32 raw public-key bytes."""
        return self._raw

    def raw_b64(self) -> str:
        """Return the raw public-key bytes as unpadded base64url (43 characters)."""
        return enc.b64url_encode(self._raw)

    def to_pem(self) -> str:
        """Return the SubjectPublicKeyInfo PEM text."""
        return self._key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ).decode("ascii")

    def verify_signature(self, signature: bytes, message: bytes) -> None:
        """Check a raw Ed25519 signature over ``message`` (no context added).

        Low level: callers outside this package want :func:`keys.verify`. Returns None;
        raises BadSignature.
        """
        try:
            self._key.verify(signature, message)
        except InvalidSignature:
            raise BadSignature() from None

    def __eq__(self, other: object) -> bool:
        return isinstance(other, PublicKey) and other._raw == self._raw

    def __hash__(self) -> int:
        return hash(self._raw)

    def __repr__(self) -> str:
        return f"PublicKey(kid={self.kid!r})"


class SigningKey:
    """An Ed25519 private key that signs license keys, revocation lists and rotations."""

    __slots__ = ("_key", "_public")

    def __init__(self, key: Ed25519PrivateKey) -> None:
        self._key = key
        self._public = PublicKey(key.public_key())

    @classmethod
    def generate(cls) -> SigningKey:
        """Return a new random signing key."""
        return cls(Ed25519PrivateKey.generate())

    @classmethod
    def from_seed_for_tests(cls, seed: bytes) -> SigningKey:
        """Return the signing key for a fixed 32-byte seed. For test fixtures only.

        Raises KeyConfigurationError if ``seed`` is not 32 bytes.
        """
        if len(seed) != 32:
            raise KeyConfigurationError("an Ed25519 seed is exactly 32 bytes")
        return cls(Ed25519PrivateKey.from_private_bytes(seed))

    @classmethod
    def from_pem(cls, pem: bytes, passphrase: bytes | None) -> SigningKey:
        """Return the signing key in a PKCS#8 PEM, decrypting it with ``passphrase``.

        Raises KeyConfigurationError on a wrong or missing passphrase, an unreadable PEM, or a
        key that is not Ed25519.
        """
        try:
            key = serialization.load_pem_private_key(pem, password=passphrase)
        except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
            raise KeyConfigurationError(
                "could not load the signing key (wrong passphrase or not a private key PEM)"
            ) from exc
        if not isinstance(key, Ed25519PrivateKey):
            raise KeyConfigurationError("the signing key is not an Ed25519 key")
        return cls(key)

    def to_pem(self, passphrase: bytes) -> bytes:
        """Return the key as encrypted PKCS#8 PEM; raises KeyConfigurationError if empty."""
        if not passphrase:
            raise KeyConfigurationError("a signing key is only exported with a passphrase")
        return self._key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(passphrase),
        )

    def to_unencrypted_pem_for_tests(self) -> bytes:
        """Return the key as plaintext PKCS#8 PEM. The only unencrypted path; tests only."""
        return self._key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )

    @property
    def kid(self) -> str:
        """The key ID of this key's public key."""
        return self._public.kid

    @property
    def public_key(self) -> PublicKey:
        """The matching public key."""
        return self._public

    def sign(self, message: bytes) -> bytes:
        """Return the 64-byte Ed25519 signature of ``message`` (no context added; low level)."""
        return self._key.sign(message)

    def __repr__(self) -> str:
        return f"SigningKey(kid={self.kid!r})"


def public_keys_from_pem(data: bytes | str) -> list[PublicKey]:
    """Return every public key of a PEM file: one ``PUBLIC KEY`` block, or a bundle of several
    (docs/key-format.md section 1). Text outside the blocks (comments) is ignored.

    Raises KeyConfigurationError for bytes that are not ASCII, a file without a PUBLIC KEY
    block, a PEM block of another type (a private key or a certificate given by mistake), and
    any block that is not a usable Ed25519 public key (naming it by its position).
    """
    if isinstance(data, bytes | bytearray):
        try:
            text = bytes(data).decode("ascii")
        except UnicodeDecodeError:
            raise KeyConfigurationError("not a PEM file (it is not ASCII text)") from None
    else:
        text = data
    for label in _PEM_BEGIN_RE.findall(text):
        if label != "PUBLIC KEY":
            raise KeyConfigurationError(f"a {label} block where a PUBLIC KEY was expected")
    blocks = _PUBLIC_PEM_RE.findall(text)
    if not blocks:
        raise KeyConfigurationError(
            "not a readable public key PEM (no -----BEGIN PUBLIC KEY----- block in the file)"
        )
    found: list[PublicKey] = []
    for number, block in enumerate(blocks, start=1):
        try:
            found.append(PublicKey.from_pem(block))
        except KeyConfigurationError as exc:
            where = f"key {number} of {len(blocks)}: " if len(blocks) > 1 else ""
            raise KeyConfigurationError(f"{where}{exc}") from None
    return found


TrustedKeys = Iterable[PublicKey] | Mapping[str, PublicKey]


def trusted_by_kid(trusted: TrustedKeys) -> dict[str, PublicKey]:
    """Return the trusted keys indexed by their derived kid.

    A mapping's own keys must equal the kids of its values. Raises KeyConfigurationError for
    anything that is not a PublicKey or a mapping entry filed under the wrong kid.
    """
    if type(trusted) is list or type(trusted) is tuple:
        # The common case, without the generic path's bookkeeping (same checks, same result).
        index: dict[str, PublicKey] = {}
        for key in trusted:
            if not isinstance(key, PublicKey):
                raise KeyConfigurationError(f"trusted keys must be PublicKey objects, not {key!r}")
            index[key._kid] = key
        return index
    items: Iterable[tuple[str | None, object]]
    if isinstance(trusted, Mapping):
        items = list(trusted.items())
    elif isinstance(trusted, str | bytes):
        raise KeyConfigurationError("trusted keys must be PublicKey objects, not PEM text")
    else:
        items = [(None, key) for key in trusted]
    result: dict[str, PublicKey] = {}
    for filed_as, key in items:
        if not isinstance(key, PublicKey):
            raise KeyConfigurationError(f"trusted keys must be PublicKey objects, not {key!r}")
        if filed_as is not None and filed_as != key.kid:
            raise KeyConfigurationError(f"trusted key filed under {filed_as!r} has kid {key.kid}")
        result[key.kid] = key
    return result


class Envelope(NamedTuple):
    """A decoded but not yet verified envelope: the payload bytes and the signature."""

    payload: bytes
    signature: bytes


def seal(prefix: str, context: bytes, payload: bytes, signing_key: SigningKey) -> str:
    """Return ``prefix + b64url(payload) + "." + b64url(sign(context + payload))``."""
    signature = signing_key.sign(context + payload)
    return f"{prefix}{enc.b64url_encode(payload)}.{enc.b64url_encode(signature)}"


def open_envelope(
    prefix: str,
    text: str | bytes,
    *,
    what: str = "input",
    max_length: int | None = enc.MAX_INPUT_LENGTH,
) -> Envelope:
    """Return the payload and signature of an envelope text or file (read by the spec's rule:
    UTF-8, one leading BOM and surrounding whitespace ignored). ``max_length`` (code points)
    is None for revocation lists, which have no length limit.

    Raises MalformedKey for unreadable input, a wrong prefix, a non-canonical encoding or a
    wrong length.
    """
    try:
        stripped = enc.read_input(text, what, max_length)
    except ValueError as exc:
        raise MalformedKey(f"The {what} cannot be read: {exc}.") from None
    if not stripped.startswith(prefix):
        raise MalformedKey(f"The text does not start with {prefix!r}.")
    parts = stripped[len(prefix) :].split(".")
    if len(parts) != 2:
        raise MalformedKey("The text must have exactly two parts after its prefix.")
    try:
        payload = enc.b64url_decode(parts[0])
        signature = enc.b64url_decode(parts[1])
    except ValueError:
        raise MalformedKey("The text is not in canonical unpadded base64url.") from None
    if not payload:
        raise MalformedKey("The payload is empty.")
    if len(signature) != SIGNATURE_LENGTH:
        raise MalformedKey("The signature is not 64 bytes long.")
    return Envelope(payload, signature)


def check_envelope_signature(
    envelope: Envelope, context: bytes, kid: str, trusted: Mapping[str, PublicKey], what: str
) -> PublicKey:
    """Return the trusted key that signed ``envelope`` (kid lookup, then signature).

    Raises UnknownKeyId when ``kid`` is not trusted, BadSignature when the signature fails.
    """
    public_key = trusted.get(kid)
    if public_key is None:
        raise UnknownKeyId(f"The {what} was signed by key {kid}, which is not trusted here.")
    try:
        public_key._key.verify(envelope.signature, context + envelope.payload)
    except InvalidSignature:
        raise BadSignature(f"The {what}'s signature does not match its content.") from None
    return public_key
