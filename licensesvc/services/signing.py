"""Signing keys: generated here, stored with the private half encrypted under
LICENSESVC_SIGNING_KEY_PASSPHRASE, rotated with a statement signed by the previous key."""

from __future__ import annotations

from functools import lru_cache

from sqlalchemy import select

import keys
from licensesvc.domain import SigningKeyStatus
from licensesvc.models import SigningKeyRecord

from . import audit
from .context import ServiceContext
from .errors import Conflict, NotFound


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
    keep verifying the keys they signed. Raises NotFound when there is no active key."""
    ctx.actor.require_analyst()
    old = active_record(ctx)
    old_key = load_private(ctx, old)
    old.status = SigningKeyStatus.RETIRED
    old.retired_at = ctx.now()
    ctx.session.flush()
    new_key = keys.SigningKey.generate()
    statement = keys.sign_rotation(old_key, new_key.public_key, at=ctx.now())
    rec = _store_new(ctx, statement=statement, key=new_key, previous=old.kid)
    return rec


def _store_new(
    ctx: ServiceContext,
    *,
    statement: str | None,
    key: keys.SigningKey | None = None,
    previous: str | None = None,
) -> SigningKeyRecord:
    key = key or keys.SigningKey.generate()
    rec = SigningKeyRecord(
        kid=key.kid,
        public_key_pem=key.public_key.to_pem(),
        private_key_encrypted=key.to_pem(_passphrase(ctx)),
        status=SigningKeyStatus.ACTIVE,
        rotation_statement=statement,
        created_at=ctx.now(),
    )
    ctx.session.add(rec)
    ctx.session.flush()
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
    """Return the decrypted private key of rec. Raises KeyConfigurationError (wrong
    passphrase)."""
    return _decrypt(rec.private_key_encrypted, _passphrase(ctx))


@lru_cache(maxsize=16)
def _decrypt(encrypted_pem: bytes, passphrase: bytes) -> keys.SigningKey:
    # every signed answer and issued key needs the active key: decrypt it once per process
    # (keyed by the ciphertext, so a rotated or re-encrypted key is decrypted afresh)
    return keys.SigningKey.from_pem(encrypted_pem, passphrase)


def active_signer(ctx: ServiceContext) -> keys.SigningKey:
    """Return the private key that signs new keys. Raises NotFound when there is none."""
    return load_private(ctx, active_record(ctx))


def list_signing_keys(ctx: ServiceContext) -> list[SigningKeyRecord]:
    return list(ctx.session.scalars(select(SigningKeyRecord).order_by(SigningKeyRecord.id)))


def trusted_public_keys(ctx: ServiceContext) -> dict[str, keys.PublicKey]:
    """Every public key this server has signed with, active and retired, by kid."""
    return {rec.kid: keys.PublicKey.from_pem(rec.public_key_pem) for rec in list_signing_keys(ctx)}
