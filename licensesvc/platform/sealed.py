"""Secrets the service must read back, kept encrypted at rest: a webhook endpoint's signing
secret (it signs every delivery, so it cannot be stored as a hash like an API token).

A sealed value is `v1$ROUNDS$` and the base64 of a 12-byte nonce and the AES-256-GCM
ciphertext (with its tag) of the secret's bytes, under a key derived from
LICENSESVC_SIGNING_KEY_PASSPHRASE, the passphrase that already encrypts the private signing
keys, by PBKDF2-HMAC-SHA256 with ROUNDS iterations (LICENSESVC_SIGNING_KEY_KDF_ROUNDS when it
was sealed, 600,000 by default) and this module's fixed salt. The key is derived once per
process and passphrase (a sender signs many deliveries), so the salt is one per purpose rather
than one per secret; each value has its own random nonce. The database alone gives away no
secret; a changed passphrase makes them unreadable, as it does the signing keys.

Pure functions of their arguments (no session, no settings): migration 0018 seals the secrets
stored before it with them."""

from __future__ import annotations

import base64
import functools
import hashlib
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

VERSION = "v1"
#: fixed per purpose (see the module doc); the AES-GCM associated data names the purpose too
_SALT = b"licensesvc sealed secrets v1"
_PURPOSE = b"webhook_endpoints.secret"


class Unsealable(Exception):
    """A sealed value that this passphrase does not open (another passphrase, or damaged)."""


@functools.lru_cache(maxsize=8)
def _key(passphrase: str, rounds: int) -> bytes:
    return hashlib.pbkdf2_hmac("sha256", passphrase.encode(), _SALT, rounds, dklen=32)


def is_sealed(stored: str) -> bool:
    """Whether `stored` is a sealed value (rather than a secret stored in the clear)."""
    return stored.startswith(VERSION + "$")


def seal(secret: bytes, passphrase: str, rounds: int) -> str:
    """The sealed text of `secret` (see the module doc)."""
    nonce = os.urandom(12)
    sealed = AESGCM(_key(passphrase, rounds)).encrypt(nonce, secret, _PURPOSE)
    return f"{VERSION}${rounds}${base64.b64encode(nonce + sealed).decode()}"


def unseal(stored: str, passphrase: str) -> bytes:
    """The secret bytes of a sealed value. Raises Unsealable (not sealed, another passphrase,
    damaged)."""
    try:
        version, rounds, body = stored.split("$", 2)
        raw = base64.b64decode(body, validate=True)
        if version != VERSION or len(raw) < 12 + 16:
            raise ValueError(version)
        return AESGCM(_key(passphrase, int(rounds))).decrypt(raw[:12], raw[12:], _PURPOSE)
    except (ValueError, InvalidTag):
        raise Unsealable(
            "a sealed secret does not open with LICENSESVC_SIGNING_KEY_PASSPHRASE"
        ) from None
