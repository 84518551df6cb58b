"""Analysts store signing keys encrypted; installers load public keys from PEM."""

from __future__ import annotations

import hashlib

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

import keys
from tests.keys.keys_helpers import VENDOR


def test_encrypted_pem_round_trip_keeps_the_key() -> None:
    pem = VENDOR.to_pem(b"correct horse")
    assert b"ENCRYPTED PRIVATE KEY" in pem
    loaded = keys.SigningKey.from_pem(pem, b"correct horse")
    assert loaded.kid == VENDOR.kid
    assert loaded.public_key == VENDOR.public_key


def test_wrong_passphrase_is_a_configuration_error() -> None:
    pem = VENDOR.to_pem(b"correct horse")
    for passphrase in (b"battery staple", None):
        with pytest.raises(keys.KeyConfigurationError):
            keys.SigningKey.from_pem(pem, passphrase)


def test_garbage_private_pem_is_a_configuration_error() -> None:
    with pytest.raises(keys.KeyConfigurationError):
        keys.SigningKey.from_pem(
            b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n", None
        )


def test_signing_key_is_never_exported_in_plaintext_by_accident() -> None:
    with pytest.raises(keys.KeyConfigurationError):
        VENDOR.to_pem(b"")
    plain = VENDOR.to_unencrypted_pem_for_tests()
    assert keys.SigningKey.from_pem(plain, None).kid == VENDOR.kid


def test_non_ed25519_keys_are_configuration_errors() -> None:
    other = ec.generate_private_key(ec.SECP256R1())
    private_pem = other.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    public_pem = other.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    with pytest.raises(keys.KeyConfigurationError):
        keys.SigningKey.from_pem(private_pem, None)
    with pytest.raises(keys.KeyConfigurationError):
        keys.PublicKey.from_pem(public_pem)
    with pytest.raises(keys.KeyConfigurationError):
        keys.PublicKey.from_pem("not a pem")


def test_public_key_round_trips_through_pem_and_raw_base64() -> None:
    public = VENDOR.public_key
    assert keys.PublicKey.from_pem(public.to_pem()) == public
    assert keys.PublicKey.from_pem(public.to_pem().encode()) == public
    assert len(public.raw_b64()) == 43
    assert keys.PublicKey.from_raw_b64(public.raw_b64()) == public


@pytest.mark.parametrize("bad", ["", "AAAA", "not base64!", "A" * 43 + "="])
def test_raw_base64_must_be_32_bytes_unpadded_base64url(bad: str) -> None:
    with pytest.raises(keys.KeyConfigurationError):
        keys.PublicKey.from_raw_b64(bad)


def test_kid_is_the_first_16_bytes_of_sha256_of_the_raw_key_in_hex() -> None:
    raw = VENDOR.public_key.raw()
    assert VENDOR.kid == VENDOR.public_key.kid == hashlib.sha256(raw).digest()[:16].hex()
    assert len(VENDOR.kid) == 32


def test_generated_keys_differ_and_sign_verifiable_keys() -> None:
    first, second = keys.SigningKey.generate(), keys.SigningKey.generate()
    assert first.kid != second.kid
