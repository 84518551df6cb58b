"""The log's signing keys: Ed25519, apart from the key-signing keys, the private half stored as
PKCS#8 PEM encrypted under LICENSESVC_SIGNING_KEY_PASSPHRASE like theirs
(licensesvc/platform/key_envelopes.py: PBKDF2-HMAC-SHA256, the same rounds); rotated like the
signing keys (the retired key stays listed, new checkpoints carry the new key's signature)."""

from __future__ import annotations

import threading

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import select

import keys.tlog
from licensesvc.domain.errors import Conflict, NotFound, ServiceError
from licensesvc.models import LogKeyRecord
from licensesvc.platform import audit
from licensesvc.platform.context import ServiceContext
from licensesvc.platform.key_envelopes import encrypt_private_key

#: the log's name (checkpoint origin and key name) when none is given: a schema-less URL
DEFAULT_ORIGIN = "licensesvc.local/log"


class LogKeyUnavailable(ServiceError):
    """The log's private key does not decrypt with the configured passphrase."""

    code = "service_unavailable"
    status = 503
    title = "Service unavailable"


def _passphrase(ctx: ServiceContext) -> bytes:
    return ctx.settings.signing_key_passphrase.encode()


def active_log_key(ctx: ServiceContext, *, required: bool = True) -> LogKeyRecord | None:
    """The active log key's record. Raises NotFound when ``required`` and there is none."""
    rec = ctx.session.scalar(select(LogKeyRecord).where(LogKeyRecord.status == "active"))
    if rec is None and required:
        raise NotFound("the transparency log has no key yet; run `licensesvc log integrate`")
    return rec


def _store(ctx: ServiceContext, origin: str, previous: str | None) -> LogKeyRecord:
    private = Ed25519PrivateKey.generate()
    seed = private.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    signer = keys.tlog.LogSigner(origin, seed)
    # the same envelope and PBKDF2 rounds as the key-signing keys
    encrypted = encrypt_private_key(private, _passphrase(ctx), ctx.settings.signing_key_kdf_rounds)
    _remember(encrypted, _passphrase(ctx), signer)
    rec = LogKeyRecord(
        vkey=signer.verifier.vkey,
        private_key_encrypted=encrypted,
        status="active",
        created_at=ctx.now(),
    )
    ctx.session.add(rec)
    ctx.session.flush()
    audit.append(
        ctx,
        "log_key.rotated" if previous else "log_key.generated",
        "log_key",
        signer.verifier.key_id.hex(),
        details={"vkey": rec.vkey, "previous_vkey": previous},
    )
    return rec


def ensure_log_key(ctx: ServiceContext, origin: str = DEFAULT_ORIGIN) -> LogKeyRecord:
    """The active log key, generating the first one (named ``origin``) if there is none."""
    rec = active_log_key(ctx, required=False)
    return rec if rec is not None else _store(ctx, origin, None)


def generate_log_key(ctx: ServiceContext, origin: str = DEFAULT_ORIGIN) -> LogKeyRecord:
    """Create the first log key named ``origin``. Raises Conflict when one is active,
    ValidationFailed-like InvalidValue for a name with spaces or '+'."""
    ctx.actor.require_analyst()
    if active_log_key(ctx, required=False) is not None:
        raise Conflict("the log already has an active key; use `licensesvc log key rotate`")
    return _store(ctx, origin, None)


def rotate_log_key(ctx: ServiceContext) -> LogKeyRecord:
    """Retire the active log key and activate a new one of the same name. Verifiers must be
    given the new vkey (GET /v1/log/key). Raises NotFound when there is no active key."""
    ctx.actor.require_analyst()
    old = active_log_key(ctx)
    assert old is not None
    old.status = "retired"
    old.retired_at = ctx.now()
    ctx.session.flush()
    return _store(ctx, keys.tlog.LogVerifier.from_vkey(old.vkey).name, old.vkey)


_decrypted: dict[tuple[bytes, bytes], keys.tlog.LogSigner] = {}
_lock = threading.Lock()


def _remember(encrypted: bytes, passphrase: bytes, signer: keys.tlog.LogSigner) -> None:
    with _lock:
        if len(_decrypted) > 16:
            _decrypted.clear()
        _decrypted[(bytes(encrypted), passphrase)] = signer


def log_signer(ctx: ServiceContext, rec: LogKeyRecord) -> keys.tlog.LogSigner:
    """The decrypted signer of ``rec`` (decrypted once per process). Raises LogKeyUnavailable."""
    cache_key = (bytes(rec.private_key_encrypted), _passphrase(ctx))
    with _lock:
        found = _decrypted.get(cache_key)
    if found is not None:
        return found
    try:
        private = serialization.load_pem_private_key(
            bytes(rec.private_key_encrypted), _passphrase(ctx)
        )
    except (ValueError, TypeError):
        raise LogKeyUnavailable(
            "the log key does not decrypt: wrong LICENSESVC_SIGNING_KEY_PASSPHRASE?"
        ) from None
    assert isinstance(private, Ed25519PrivateKey)
    seed = private.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    signer = keys.tlog.LogSigner(keys.tlog.LogVerifier.from_vkey(rec.vkey).name, seed)
    _remember(cache_key[0], cache_key[1], signer)
    return signer


def list_log_keys(ctx: ServiceContext) -> list[LogKeyRecord]:
    """Every log key, oldest first."""
    return list(ctx.session.scalars(select(LogKeyRecord).order_by(LogKeyRecord.id)))
