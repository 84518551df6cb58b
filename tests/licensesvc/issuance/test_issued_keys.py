"""licensesvc/issuance/issued_keys.py: supersession, revocation, online and offline verification."""

from __future__ import annotations

import pytest

import keys
from licensesvc.domain.errors import (
    InvalidState,
)
from licensesvc.issuance import signing
from licensesvc.issuance.issued_keys import effective_status, verify_online
from tests.licensesvc.service_helpers import ask


def test_superseded_key_verifies_during_overlap_and_fails_after(world, analyst, contexts):
    first = ask(analyst, world.base_license, "standard").key
    ask(contexts.customer(world.base_customer), world.base_license, "replacement")
    during = verify_online(analyst, first.key_text)
    assert during["valid"] and during["status"] == "superseded"
    contexts.clock.advance(days=15)
    after = verify_online(analyst, first.key_text)
    assert not after["valid"] and after["code"] == "superseded"


def test_revoked_key_fails_online_verification(world, analyst):
    from licensesvc.issuance.issued_keys import revoke_key

    key = ask(analyst, world.base_license, "standard").key
    revoke_key(analyst, key.serial, "customer reported it leaked")
    answer = verify_online(analyst, key.key_text)
    assert answer["valid"] is False and answer["code"] == "revoked"
    assert answer["status"] == "revoked"
    with pytest.raises(InvalidState):
        revoke_key(analyst, key.serial, "again")


def test_forged_key_reveals_nothing(world, analyst):
    other = keys.SigningKey.generate()
    key = ask(analyst, world.base_license, "standard").key
    claims = keys.decode_unverified(key.key_text)
    forged = keys.sign_key(claims, other)
    answer = verify_online(analyst, forged, nonce="n-1")
    assert answer["valid"] is False and answer["status"] == "unknown"
    assert "claims" not in answer and answer["nonce"] == "n-1"


def test_temporary_key_expires_after_120_days(world, contexts):
    out = ask(
        contexts.customer(world.premium_customer),
        world.premium_license,
        "temporary",
        reason="upgrade_patching",
    )
    contexts.clock.advance(days=121)
    assert out.key is not None
    assert effective_status(out.key, contexts.clock()) == "expired"


def test_offline_installer_refuses_a_superseded_key_after_its_overlap(world, analyst, contexts):
    from licensesvc.issuance.issued_keys import revoke_key, signed_revocation_list

    first = ask(analyst, world.base_license, "standard").key
    ask(contexts.customer(world.base_customer), world.base_license, "replacement")
    premium_first = ask(analyst, world.premium_license, "standard").key
    other = ask(contexts.customer(world.premium_customer), world.premium_license, "replacement").key
    revoke_key(analyst, other.serial, "leaked")
    trusted = signing.trusted_public_keys(analyst)
    rl = keys.verify_revocation_list(signed_revocation_list(analyst), trusted, at=contexts.clock())
    assert {(e.serial, e.status) for e in rl.entries} == {
        (first.serial, "superseded"),
        (premium_first.serial, "superseded"),
        (other.serial, "revoked"),
    }
    assert keys.verify(first.key_text, trusted, at=contexts.clock(), revocations=rl)
    with pytest.raises(keys.Revoked):
        keys.verify(other.key_text, trusted, at=contexts.clock(), revocations=rl)
    with pytest.raises(keys.StaleRevocationList):  # a week-old list is not trusted silently
        keys.verify(first.key_text, trusted, at=contexts.clock.advance(days=15), revocations=rl)
    fresh = keys.verify_revocation_list(
        signed_revocation_list(analyst), trusted, at=contexts.clock()
    )
    with pytest.raises(keys.Revoked, match="overlap ended"):
        keys.verify(first.key_text, trusted, at=contexts.clock(), revocations=fresh)
