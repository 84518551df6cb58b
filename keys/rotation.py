"""Signing-key rotation that an air-gapped installer can follow (docs/key-format.md sec. 10)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from keys import _encoding as enc
from keys.claims import FORMAT_VERSION
from keys.errors import InvalidValue, KeyConfigurationError, LicenseKeyError, MalformedKey
from keys.signing import (
    PublicKey,
    SigningKey,
    TrustedKeys,
    check_envelope_signature,
    check_public_key_point,
    open_envelope,
    seal,
    trusted_by_kid,
)

ROTATION_PREFIX = "LROT1."
ROTATION_CONTEXT = b"licensesvc/key-rotation/v1\n"
_MEMBERS = frozenset({"issued_at", "kid", "new_kid", "new_public_key", "version"})


def sign_rotation(old: SigningKey, new_public: PublicKey, *, at: datetime | None = None) -> str:
    """Return a rotation statement (prefix ``LROT1.``) introducing ``new_public``, signed by
    ``old``; ``at`` (default now) is its issue time. Raises InvalidValue for a naive ``at``."""
    issued_at = enc.check_aware(datetime.now(UTC) if at is None else at, "at")
    statement: dict[str, Any] = {
        "issued_at": enc.format_timestamp(issued_at),
        "kid": old.kid,
        "new_kid": new_public.kid,
        "new_public_key": new_public.raw_b64(),
        "version": FORMAT_VERSION,
    }
    return seal(ROTATION_PREFIX, ROTATION_CONTEXT, enc.canonical_json(statement), old)


def follow_rotation(statement: str | bytes, trusted: TrustedKeys) -> PublicKey:
    """Return the new public key announced by ``statement`` (text, or a file's bytes) if a
    trusted key signed it.

    The caller then adds it to its trusted set (old keys stay trusted until removed).
    Raises MalformedKey (also for a new key that is not canonically encoded, not on the curve
    or of small order), UnknownKeyId or BadSignature; KeyConfigurationError for a bad
    ``trusted`` argument.
    """
    trusted_keys = trusted_by_kid(trusted)
    # 1. Decode: prefix, base64url, canonical JSON, members, new_kid matching the key.
    try:
        envelope = open_envelope(ROTATION_PREFIX, statement, what="rotation statement")
        obj = enc.parse_json_object(envelope.payload)
        enc.require_members(obj, _MEMBERS, "rotation statement")
        if type(obj["version"]) is not int or obj["version"] != FORMAT_VERSION:
            raise InvalidValue(f"unsupported version {obj['version']!r}")
        enc.parse_timestamp(obj["issued_at"])
        kid = enc.check_kid(obj["kid"])
        new_kid = enc.check_kid(obj["new_kid"], "new_kid")
        if not isinstance(obj["new_public_key"], str):
            raise InvalidValue("new_public_key must be a string")
        raw = enc.b64url_decode(obj["new_public_key"])
        check_public_key_point(raw)  # no small-order or non-canonical key gets trusted
        try:
            new_public = PublicKey.from_raw(raw)
        except KeyConfigurationError as exc:  # pragma: no cover - checked just above
            raise InvalidValue(str(exc)) from None
        if new_public.kid != new_kid:
            raise InvalidValue("new_kid does not match new_public_key")
        if enc.canonical_json(obj) != envelope.payload:
            raise InvalidValue("not in canonical form")
    except LicenseKeyError:
        raise
    except Exception as exc:  # any surprise while parsing is malformed
        raise MalformedKey(f"The rotation statement could not be parsed: {exc}.") from None
    # 2. kid among the trusted keys; 3. signature over the rotation context + payload.
    check_envelope_signature(envelope, ROTATION_CONTEXT, kid, trusted_keys, "rotation statement")
    return new_public
