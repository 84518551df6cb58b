"""Signing keys at rest: PKCS#8 with 600,000 PBKDF2-SHA256 rounds, old 2,048-round keys still
read and re-encrypted on request, decryption paid once per process, and a wrong passphrase a
503 `service_unavailable` that changes nothing."""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import func, select

import keys
from licensesvc.config import SIGNING_KEY_KDF_ROUNDS
from licensesvc.domain.errors import Conflict
from licensesvc.issuance import signing
from licensesvc.issuance.issued_keys import verify_online
from licensesvc.models import AuditRecord, SigningKeyRecord
from licensesvc.platform.context import ServiceContext
from tests.conftest import Contexts
from tests.licensesvc.service_helpers import ask


@pytest.fixture
def production_strength(contexts: Contexts) -> ServiceContext:
    """An analyst whose settings store keys as production does (the suite's default is cheaper)."""
    settings = replace(contexts.settings, signing_key_kdf_rounds=SIGNING_KEY_KDF_ROUNDS)
    return Contexts(contexts.session, settings, contexts.clock).analyst()


def wrong_passphrase(ctx: ServiceContext) -> ServiceContext:
    settings = replace(ctx.settings, signing_key_passphrase="not-the-passphrase")
    return replace(ctx, settings=settings)


def old_release_record(ctx: ServiceContext, *, status: str = "active") -> SigningKeyRecord:
    """A signing key as the release before stored it: cryptography's BestAvailableEncryption
    (PBKDF2-SHA256, 2,048 rounds)."""
    private = Ed25519PrivateKey.generate()
    key = keys.SigningKey(private)
    rec = SigningKeyRecord(
        kid=key.kid,
        public_key_pem=key.public_key.to_pem(),
        private_key_encrypted=private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(ctx.settings.signing_key_passphrase.encode()),
        ),
        status=status,
        created_at=ctx.now(),
    )
    ctx.session.add(rec)
    ctx.session.flush()
    return rec


def audit_count(ctx: ServiceContext) -> int:
    return ctx.session.scalar(select(func.count()).select_from(AuditRecord)) or 0


def test_new_signing_keys_are_stored_with_600000_pbkdf2_sha256_rounds(
    production_strength: ServiceContext,
) -> None:
    rec = signing.generate_signing_key(production_strength)
    assert rec.private_key_encrypted.startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----\n")
    assert signing.protection(rec.private_key_encrypted) == signing.Protection(
        "pbkdf2-sha256", 600_000
    )
    passphrase = production_strength.settings.signing_key_passphrase.encode()
    # any PKCS#8 reader opens it: here cryptography's own, not our cache
    assert keys.SigningKey.from_pem(rec.private_key_encrypted, passphrase).kid == rec.kid


def test_openssl_reads_the_stored_key(production_strength: ServiceContext, tmp_path: Path) -> None:
    openssl = shutil.which("openssl")
    if openssl is None:
        if os.environ.get("CI"):
            pytest.fail("openssl is missing (scripts/ensure-services.sh installs it)")
        pytest.skip("openssl is not installed")
    rec = signing.generate_signing_key(production_strength)
    pem = tmp_path / "key.pem"
    pem.write_bytes(rec.private_key_encrypted)
    out = subprocess.run(
        [openssl, "pkey", "-in", pem, "-passin", "env:PASS", "-pubout"],
        env={**os.environ, "PASS": production_strength.settings.signing_key_passphrase},
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert keys.PublicKey.from_pem(out).kid == rec.kid
    parsed = subprocess.run(
        [openssl, "asn1parse", "-in", pem], capture_output=True, text=True, check=True
    ).stdout
    for part in ("PBES2", "PBKDF2", ":0927C0", "hmacWithSHA256", "aes-256-cbc"):
        assert part in parsed  # 0x0927C0 = 600000


def test_a_key_of_the_old_release_still_signs(analyst: ServiceContext) -> None:
    signing.active_record(analyst).status = "retired"
    analyst.session.flush()
    rec = old_release_record(analyst)
    assert signing.protection(rec.private_key_encrypted) == signing.Protection(
        "pbkdf2-sha256", 2048
    )
    assert signing.active_signer(analyst).kid == rec.kid


def test_rewrap_brings_old_keys_to_the_current_rounds_once(
    production_strength: ServiceContext,
) -> None:
    ctx = production_strength
    retired = old_release_record(ctx, status="retired")
    active = old_release_record(ctx)
    before = audit_count(ctx)

    changed = signing.rewrap_signing_keys(ctx)

    assert [r.kid for r in changed] == [retired.kid, active.kid]
    for rec in (retired, active):
        assert signing.protection(rec.private_key_encrypted).label == "pbkdf2-sha256 600000"
        pem = rec.private_key_encrypted
        passphrase = ctx.settings.signing_key_passphrase.encode()
        assert keys.SigningKey.from_pem(pem, passphrase).kid == rec.kid
    assert audit_count(ctx) == before + 2
    assert signing.rewrap_signing_keys(ctx) == []  # the second time: nothing to do
    assert audit_count(ctx) == before + 2


def test_rewrap_with_a_wrong_passphrase_changes_nothing(
    production_strength: ServiceContext,
) -> None:
    ctx = production_strength
    # the first decrypts; the second was stored under another passphrase
    records = [old_release_record(ctx, status="retired"), old_release_record(wrong_passphrase(ctx))]
    stored = [rec.private_key_encrypted for rec in records]
    before = audit_count(ctx)
    with pytest.raises(signing.SigningKeyUnavailable, match="nothing was re-encrypted"):
        signing.rewrap_signing_keys(ctx)
    assert [rec.private_key_encrypted for rec in records] == stored
    assert audit_count(ctx) == before


def test_the_600000_rounds_are_paid_once_per_process(
    contexts: Contexts, analyst: ServiceContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    rec = signing.active_record(analyst)
    loads: list[bytes] = []
    real = keys.SigningKey.from_pem

    def counted(pem: bytes, passphrase: bytes | None) -> keys.SigningKey:
        loads.append(pem)
        return real(pem, passphrase)

    monkeypatch.setattr(keys.SigningKey, "from_pem", counted)
    # the process that made the key never decrypts it
    assert signing.load_private(analyst, rec).kid == rec.kid
    assert loads == []
    # a key made elsewhere (another worker, the CLI) is decrypted once, then kept
    old = old_release_record(analyst, status="retired")
    for _ in range(3):
        assert signing.load_private(analyst, old).kid == old.kid
    assert loads == [old.private_key_encrypted]
    # and so is a failure: a wrong passphrase cannot be made to cost PBKDF2 per request
    wrong = wrong_passphrase(analyst)
    for _ in range(3):
        with pytest.raises(signing.SigningKeyUnavailable):
            signing.load_private(wrong, old)
    assert loads == [old.private_key_encrypted] * 2


def test_a_wrong_passphrase_is_a_503_service_unavailable(analyst: ServiceContext) -> None:
    wrong = wrong_passphrase(analyst)
    kid = signing.active_record(analyst).kid
    with pytest.raises(signing.SigningKeyUnavailable) as caught:
        signing.active_signer(wrong)
    assert (caught.value.code, caught.value.status) == ("service_unavailable", 503)
    assert caught.value.message == (
        f"the server cannot sign: signing key {kid}: cannot decrypt: wrong "
        "LICENSESVC_SIGNING_KEY_PASSPHRASE?; no key can be issued until an operator fixes the "
        "configuration"
    )


def test_rotation_with_a_wrong_passphrase_changes_nothing(analyst: ServiceContext) -> None:
    active = signing.active_record(analyst)
    before = audit_count(analyst)
    with pytest.raises(signing.SigningKeyUnavailable):
        signing.rotate_signing_key(wrong_passphrase(analyst))
    assert [(r.kid, r.status) for r in signing.list_signing_keys(analyst)] == [
        (active.kid, "active")
    ]
    assert audit_count(analyst) == before


def test_active_key_problem_names_a_wrong_passphrase_only(
    contexts: Contexts, analyst: ServiceContext
) -> None:
    session, settings = analyst.session, analyst.settings
    assert signing.active_key_problem(session, settings) is None
    wrong = replace(settings, signing_key_passphrase="nope")
    assert signing.active_key_problem(session, wrong) == signing.CANNOT_DECRYPT
    assert signing.CANNOT_DECRYPT == "cannot decrypt: wrong LICENSESVC_SIGNING_KEY_PASSPHRASE?"


def test_no_signing_key_yet_is_no_problem(contexts: Contexts) -> None:
    assert signing.active_key_problem(contexts.session, contexts.settings) is None


@pytest.mark.parametrize(
    "pem",
    [b"", b"not a pem", b"-----BEGIN ENCRYPTED PRIVATE KEY-----\nMAA=\n-----END", b"\x30\x82"],
)
def test_protection_of_an_unreadable_envelope_is_unknown(pem: bytes) -> None:
    assert signing.protection(pem) == signing.Protection("unknown", 0)


def test_keys_are_never_stored_with_too_few_rounds_or_no_passphrase() -> None:
    private = Ed25519PrivateKey.generate()
    with pytest.raises(ValueError, match="passphrase"):
        signing.encrypt_private_key(private, b"", 600_000)
    with pytest.raises(ValueError, match="rounds"):
        signing.encrypt_private_key(private, b"pw", 999)


def test_private_signing_keys_are_encrypted_at_rest(analyst, session):
    rec = session.scalar(select(SigningKeyRecord))
    assert b"ENCRYPTED PRIVATE KEY" in rec.private_key_encrypted
    assert signing.load_private(analyst, rec).kid == rec.kid


def test_second_generate_is_refused_rotate_retires(analyst):
    with pytest.raises(Conflict):
        signing.generate_signing_key(analyst)
    signing.rotate_signing_key(analyst)
    statuses = [r.status for r in signing.list_signing_keys(analyst)]
    assert statuses == ["retired", "active"]


def test_rotation_keeps_old_keys_verifying(world, analyst, contexts):
    old = ask(analyst, world.base_license, "standard").key
    new_rec = signing.rotate_signing_key(analyst)
    assert new_rec.rotation_statement
    trusted_old = {
        old.signing_kid: keys.PublicKey.from_pem(
            signing.list_signing_keys(analyst)[0].public_key_pem
        )
    }
    learned = keys.follow_rotation(new_rec.rotation_statement, trusted_old)
    assert learned.kid == new_rec.kid
    newer = ask(contexts.customer(world.base_customer), world.base_license, "replacement").key
    assert newer.signing_kid == new_rec.kid
    assert verify_online(analyst, old.key_text)["valid"]  # within overlap, old kid still trusted
