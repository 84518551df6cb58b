"""services/signing.py: signing keys, encrypted at rest, generated once, rotated without
breaking the keys they signed."""

from __future__ import annotations

import pytest
from sqlalchemy import select

import keys
from licensesvc.models import (
    SigningKeyRecord,
)
from licensesvc.services import signing
from licensesvc.services.errors import (
    Conflict,
)
from licensesvc.services.issued_keys import verify_online
from tests.licensesvc.services.service_helpers import ask


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
