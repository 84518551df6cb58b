"""Signing keys: generated here, stored with the private half encrypted under
LICENSESVC_SIGNING_KEY_PASSPHRASE, rotated with a statement signed by the previous key.

At rest a private key is PKCS#8 `ENCRYPTED PRIVATE KEY` PEM (RFC 5958), PBES2 with
PBKDF2-HMAC-SHA256 and AES-256-CBC (RFC 8018), as `openssl pkcs8 -topk8 -v2 aes-256-cbc
-v2prf hmacWithSHA256 -iter 600000` writes it and any PKCS#8 reader reads it. cryptography's
own writer (`BestAvailableEncryption`) uses 2,048 PBKDF2 iterations and has no knob for PKCS#8,
so the envelope is written by licensesvc/platform/key_envelopes.py (the transparency log's keys
use it too); keys written by cryptography's before are still read, and
`rewrap_signing_keys` brings them up to the current count."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import URL, event, func, select
from sqlalchemy.orm import Session

import keys
from licensesvc.config import Settings
from licensesvc.domain import SigningKeyStatus
from licensesvc.domain.errors import Conflict, NotFound, ServiceError
from licensesvc.models import SigningKeyRecord
from licensesvc.platform import audit
from licensesvc.platform.context import ServiceContext
from licensesvc.platform.key_envelopes import (  # re-exported: the façade names them
    Protection as Protection,
)
from licensesvc.platform.key_envelopes import encrypt_private_key as encrypt_private_key
from licensesvc.platform.key_envelopes import protection as protection

#: what /readyz and every refused signing say when the active key does not decrypt
CANNOT_DECRYPT = "cannot decrypt: wrong LICENSESVC_SIGNING_KEY_PASSPHRASE?"


class SigningKeyUnavailable(ServiceError):
    """The private signing key cannot be decrypted with the configured passphrase: nothing can
    be signed until an operator fixes the configuration (503, not the caller's fault)."""

    code = "service_unavailable"
    status = 503
    title = "Service unavailable"


def _passphrase(ctx: ServiceContext) -> bytes:
    return ctx.settings.signing_key_passphrase.encode()


def generate_signing_key(ctx: ServiceContext) -> SigningKeyRecord:
    """Create the first signing key. Raises Conflict when one is already active (use rotate)."""
    ctx.actor.require_analyst()
    if active_record(ctx, required=False) is not None:
        raise Conflict("a signing key is already active; use `signing-key rotate` to replace it")
    return _store_new(ctx, statement=None)


def rotate_signing_key(ctx: ServiceContext) -> SigningKeyRecord:
    """Retire the active key and activate a new one, publishing a rotation statement signed by
    the retired key so offline installers that trust it can learn the new one. Retired keys
    keep verifying the keys they signed. Raises NotFound when there is no active key,
    SigningKeyUnavailable when it does not decrypt."""
    ctx.actor.require_analyst()
    old = active_record(ctx)
    old_key = load_private(ctx, old)
    old.status = SigningKeyStatus.RETIRED
    old.retired_at = ctx.now()
    ctx.session.flush()
    _forget_published(ctx.session)
    private = Ed25519PrivateKey.generate()
    statement = keys.sign_rotation(old_key, keys.SigningKey(private).public_key, at=ctx.now())
    rec = _store_new(ctx, statement=statement, private=private, previous=old.kid)
    return rec


def _store_new(
    ctx: ServiceContext,
    *,
    statement: str | None,
    private: Ed25519PrivateKey | None = None,
    previous: str | None = None,
) -> SigningKeyRecord:
    private = private or Ed25519PrivateKey.generate()
    key = keys.SigningKey(private)
    encrypted = encrypt_private_key(private, _passphrase(ctx), ctx.settings.signing_key_kdf_rounds)
    _remember(encrypted, _passphrase(ctx), key)  # this process need not decrypt what it made
    rec = SigningKeyRecord(
        kid=key.kid,
        public_key_pem=key.public_key.to_pem(),
        private_key_encrypted=encrypted,
        status=SigningKeyStatus.ACTIVE,
        rotation_statement=statement,
        created_at=ctx.now(),
    )
    ctx.session.add(rec)
    ctx.session.flush()
    _forget_published(ctx.session)
    audit.append(
        ctx,
        "signing_key.rotated" if previous else "signing_key.generated",
        "signing_key",
        rec.kid,
        details={"kid": rec.kid, "previous_kid": previous},
    )
    return rec


def active_record(ctx: ServiceContext, *, required: bool = True) -> SigningKeyRecord:
    rec = ctx.session.scalar(
        select(SigningKeyRecord).where(SigningKeyRecord.status == SigningKeyStatus.ACTIVE)
    )
    if rec is None and required:
        raise NotFound(
            "no active signing key; an analyst runs `licensesvc signing-key generate` first"
        )
    return rec  # type: ignore[return-value]


def ensure_signing_key(ctx: ServiceContext) -> SigningKeyRecord:
    """Return the active signing key, generating the first one if there is none."""
    return active_record(ctx, required=False) or _store_new(ctx, statement=None)


def load_private(ctx: ServiceContext, rec: SigningKeyRecord) -> keys.SigningKey:
    """Return the decrypted private key of rec; decrypted once per process and then kept.
    Raises SigningKeyUnavailable (wrong passphrase, or a damaged record)."""
    loaded = _decrypt(rec.private_key_encrypted, _passphrase(ctx))
    if isinstance(loaded, str):
        raise SigningKeyUnavailable(
            f"the server cannot sign: signing key {rec.kid}: {loaded}; no key can be issued "
            "until an operator fixes the configuration"
        )
    return loaded


def active_key_problem(session: Session, settings: Settings) -> str | None:
    """What keeps the active signing key from signing (CANNOT_DECRYPT), or None when it
    decrypts or there is none yet. What /readyz reports; pays the decryption once per
    process, so the first call (at start-up) is the slow one."""
    rec = session.scalar(select(SigningKeyRecord).where(SigningKeyRecord.status == "active"))
    if rec is None:
        return None
    loaded = _decrypt(rec.private_key_encrypted, settings.signing_key_passphrase.encode())
    return loaded if isinstance(loaded, str) else None


# Decrypting costs SIGNING_KEY_KDF_ROUNDS of PBKDF2 (about 0.15 s of CPU): every signed answer
# and issued key needs the active key, so each process decrypts it once and keeps it, keyed by
# the ciphertext and passphrase (a rotated or re-encrypted key is decrypted afresh). Failures
# are kept too, so a wrong passphrase cannot be made to burn 0.15 s per request.
_CACHE_SIZE = 32
_decrypted: dict[tuple[bytes, bytes], keys.SigningKey | str] = {}
_decrypt_lock = threading.RLock()


def _remember(encrypted: bytes, passphrase: bytes, value: keys.SigningKey | str) -> None:
    with _decrypt_lock:
        if len(_decrypted) >= _CACHE_SIZE:
            del _decrypted[next(iter(_decrypted))]  # the oldest
        _decrypted[(bytes(encrypted), passphrase)] = value


def _decrypt(encrypted: bytes, passphrase: bytes) -> keys.SigningKey | str:
    """The signing key, or why it cannot be had (a string)."""
    cache_key = (bytes(encrypted), passphrase)
    with _decrypt_lock:  # threads of one worker wait for one decryption, not one each
        cached = _decrypted.get(cache_key)
        if cached is not None:
            return cached
        try:
            value: keys.SigningKey | str = keys.SigningKey.from_pem(bytes(encrypted), passphrase)
        except keys.KeyConfigurationError:
            value = CANNOT_DECRYPT
        _remember(encrypted, passphrase, value)
        return value


def active_signer(ctx: ServiceContext) -> keys.SigningKey:
    """Return the private key that signs new keys. Raises NotFound when there is none,
    SigningKeyUnavailable when it does not decrypt."""
    return load_private(ctx, active_record(ctx))


def list_signing_keys(ctx: ServiceContext) -> list[SigningKeyRecord]:
    return list(ctx.session.scalars(select(SigningKeyRecord).order_by(SigningKeyRecord.id)))


def trusted_public_keys(ctx: ServiceContext) -> dict[str, keys.PublicKey]:
    """Every public key this server has signed with, active and retired, by kid."""
    return {rec.kid: keys.PublicKey.from_pem(rec.public_key_pem) for rec in list_signing_keys(ctx)}


# -- the published keys of the read paths (verify, the revocation list's freshness) ----------
#
# Online verification needs every trusted public key and the active private key on every
# request; listing and parsing them (and reading the active record) was a third of verify's
# time. Each process keeps them (`PublishedKeys`) per database and checks, at most once per
# PUBLISHED_KEYS_MAX_AGE seconds, a stamp of the signing_keys table in one small query (count,
# highest id, highest kid: a generated or rotated key changes all of them). A key generated or
# rotated in this process drops its copy at once (at the flush, and again at commit or
# rollback); one generated elsewhere is seen within PUBLISHED_KEYS_MAX_AGE, and a key text
# naming a kid not in the copy re-reads it first (`published_keys(..., refresh=True)`).
# The writing paths (issuing keys, rotation, the list's rebuild) still read the active record
# in their own transaction.

#: how long a process trusts its copy of the published keys without looking at the table
PUBLISHED_KEYS_MAX_AGE = 1.0


@dataclass(frozen=True)
class PublishedKeys:
    """The signing keys as one process last read them: every public key by kid, and the
    active key's kid and encrypted private half (None: no active key)."""

    stamp: tuple[Any, ...]
    trusted: dict[str, keys.PublicKey]
    active_kid: str | None
    active_encrypted: bytes | None


_published: dict[URL, tuple[float, int, PublishedKeys]] = {}
_published_generation = 0
_published_lock = threading.Lock()


def _forget_published(session: Session | None = None) -> None:
    """Drop every process-wide copy now, and again when session's transaction ends."""
    global _published_generation
    with _published_lock:
        _published_generation += 1
        _published.clear()
    if session is not None and not session.info.get("licensesvc_signing_keys_changed"):
        session.info["licensesvc_signing_keys_changed"] = True

        def _ended(ended: Session) -> None:
            ended.info.pop("licensesvc_signing_keys_changed", None)
            _forget_published()

        event.listen(session, "after_commit", _ended, once=True)
        event.listen(session, "after_rollback", _ended, once=True)


def _stamp(session: Session) -> tuple[Any, ...]:
    row = session.execute(
        select(
            func.count(SigningKeyRecord.id),
            func.max(SigningKeyRecord.id),
            func.max(SigningKeyRecord.kid),
        )
    ).one()
    return tuple(row)


def published_keys(ctx: ServiceContext, *, refresh: bool = False) -> PublishedKeys:
    """The signing keys for verifying and for signing answers, from this process's copy when
    it is recent (see above); refresh=True checks the table's stamp now."""
    where = ctx.session.get_bind().engine.url  # one copy per database
    now = time.monotonic()
    with _published_lock:
        generation = _published_generation
        held = _published.get(where)
    if held is not None and held[1] == generation and not refresh:
        if now - held[0] < PUBLISHED_KEYS_MAX_AGE:
            return held[2]
    stamp = _stamp(ctx.session)
    if held is not None and held[1] == generation and held[2].stamp == stamp:
        found = held[2]
    else:
        records = list_signing_keys(ctx)
        active = next((r for r in records if r.status == SigningKeyStatus.ACTIVE), None)
        found = PublishedKeys(
            stamp,
            {r.kid: keys.PublicKey.from_pem(r.public_key_pem) for r in records},
            active.kid if active is not None else None,
            bytes(active.private_key_encrypted) if active is not None else None,
        )
    with _published_lock:
        if _published_generation == generation:
            _published[where] = (now, generation, found)
    return found


def published_signer(ctx: ServiceContext, published: PublishedKeys) -> keys.SigningKey:
    """The active private key of published (decrypted once per process). Raises NotFound when
    there is none, SigningKeyUnavailable when it does not decrypt."""
    if published.active_kid is None or published.active_encrypted is None:
        raise NotFound(
            "no active signing key; an analyst runs `licensesvc signing-key generate` first"
        )
    loaded = _decrypt(published.active_encrypted, _passphrase(ctx))
    if isinstance(loaded, str):
        raise SigningKeyUnavailable(
            f"the server cannot sign: signing key {published.active_kid}: {loaded}; no key can "
            "be issued until an operator fixes the configuration"
        )
    return loaded


def rewrap_signing_keys(ctx: ServiceContext) -> list[SigningKeyRecord]:
    """Re-encrypt, under the configured passphrase, every private key protected by fewer PBKDF2
    iterations than new keys get (keys written before 600,000 became the rule: 2,048), and
    return those re-encrypted, each with its audit record. Keys already protected are left
    alone, so running it twice changes nothing. Raises SigningKeyUnavailable when one does
    not decrypt (then nothing is changed)."""
    ctx.actor.require_analyst()
    wanted = ctx.settings.signing_key_kdf_rounds
    # decrypt every key due first: one that fails stops the whole before anything changed
    due: list[tuple[SigningKeyRecord, Protection, Ed25519PrivateKey]] = []
    for rec in list_signing_keys(ctx):
        before = protection(rec.private_key_encrypted)
        if before.kdf == "pbkdf2-sha256" and before.rounds >= wanted:
            continue
        try:
            private = serialization.load_pem_private_key(
                bytes(rec.private_key_encrypted), _passphrase(ctx)
            )
        except (ValueError, TypeError) as exc:
            raise SigningKeyUnavailable(
                f"signing key {rec.kid}: {CANNOT_DECRYPT}; nothing was re-encrypted"
            ) from exc
        if not isinstance(private, Ed25519PrivateKey):  # pragma: no cover - we store no other
            raise SigningKeyUnavailable(f"signing key {rec.kid} is not an Ed25519 key")
        due.append((rec, before, private))
    for rec, before, private in due:
        rec.private_key_encrypted = encrypt_private_key(private, _passphrase(ctx), wanted)
        _remember(rec.private_key_encrypted, _passphrase(ctx), keys.SigningKey(private))
        audit.append(
            ctx,
            "signing_key.rewrapped",
            "signing_key",
            rec.kid,
            details={"kid": rec.kid, "before": before.label, "after": f"pbkdf2-sha256 {wanted}"},
        )
    ctx.session.flush()
    _forget_published(ctx.session)
    return [rec for rec, _, _ in due]
