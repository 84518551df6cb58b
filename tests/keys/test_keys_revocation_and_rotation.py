"""Offline installers carry signed revocation lists and follow signing-key rotations."""

from __future__ import annotations

from datetime import timedelta

import pytest
from keys_helpers import NEXT_VENDOR, NOW, STRANGER, VENDOR, make_claims

import keys
from keys import _encoding as enc
from keys.license import KEY_CONTEXT, KEY_PREFIX
from keys.revocation import REVOCATION_CONTEXT, REVOCATION_PREFIX
from keys.rotation import ROTATION_CONTEXT, ROTATION_PREFIX
from keys.signing import seal

ENTRIES = (
    keys.RevokedEntry("K-0009", "superseded", NOW - timedelta(days=3)),
    keys.RevokedEntry("K-0001", "revoked", NOW - timedelta(days=2), "reported stolen"),
)


def make_list(**changes: object) -> keys.RevocationList:
    fields: dict[str, object] = {
        "issued_at": NOW - timedelta(days=1),
        "next_update": NOW + timedelta(days=6),
        "entries": ENTRIES,
    }
    fields.update(changes)
    return keys.RevocationList(**fields)  # type: ignore[arg-type]


def test_signed_revocation_list_verifies_and_keeps_its_entries_sorted() -> None:
    text = keys.sign_revocation_list(make_list(), VENDOR)
    assert text.startswith("LRL1.")
    rl = keys.verify_revocation_list(text, [VENDOR.public_key], at=NOW)
    assert [entry.serial for entry in rl.entries] == ["K-0001", "K-0009"]
    assert rl.kid == VENDOR.kid
    assert rl.status_of("K-0001") == "revoked" and rl.status_of("K-0002") is None


def test_stale_revocation_list_is_refused_not_trusted() -> None:
    text = keys.sign_revocation_list(make_list(), VENDOR)
    late = NOW + timedelta(days=6) + keys.CLOCK_SKEW + timedelta(seconds=1)
    with pytest.raises(keys.StaleRevocationList) as info:
        keys.verify_revocation_list(text, [VENDOR.public_key], at=late)
    assert info.value.code == "stale_revocation_list"


def test_revocation_list_from_an_untrusted_key_is_refused() -> None:
    text = keys.sign_revocation_list(make_list(), STRANGER)
    with pytest.raises(keys.UnknownKeyId):
        keys.verify_revocation_list(text, [VENDOR.public_key], at=NOW)


def test_tampered_revocation_list_is_refused() -> None:
    text = keys.sign_revocation_list(make_list(), VENDOR)
    signature = text.rsplit(".", 1)[1]
    emptied = keys.sign_revocation_list(make_list(entries=()), VENDOR).rsplit(".", 1)[0]
    with pytest.raises(keys.BadSignature):
        keys.verify_revocation_list(f"{emptied}.{signature}", [VENDOR.public_key], at=NOW)
    with pytest.raises(keys.MalformedKey):
        keys.verify_revocation_list(text + "A", [VENDOR.public_key], at=NOW)


def test_revocation_list_signature_never_verifies_as_a_key_and_vice_versa() -> None:
    key_payload = enc.canonical_json(make_claims(kid=VENDOR.kid).to_dict())
    key_signed_as_list = seal(KEY_PREFIX, REVOCATION_CONTEXT, key_payload, VENDOR)
    with pytest.raises(keys.BadSignature):
        keys.verify(key_signed_as_list, [VENDOR.public_key], at=NOW)

    signed_list = make_list()
    list_payload = enc.canonical_json(
        keys.RevocationList(
            signed_list.issued_at, signed_list.next_update, signed_list.entries, VENDOR.kid
        ).to_dict()
    )
    list_signed_as_key = seal(REVOCATION_PREFIX, KEY_CONTEXT, list_payload, VENDOR)
    with pytest.raises(keys.BadSignature):
        keys.verify_revocation_list(list_signed_as_key, [VENDOR.public_key], at=NOW)
    # And the prefixes keep the objects apart before any signature is checked.
    real_list = keys.sign_revocation_list(signed_list, VENDOR)
    with pytest.raises(keys.MalformedKey):
        keys.verify(real_list, [VENDOR.public_key], at=NOW)
    with pytest.raises(keys.MalformedKey):
        keys.verify(KEY_PREFIX + real_list[len(REVOCATION_PREFIX) :], [VENDOR.public_key], at=NOW)


def test_rotation_statement_signature_is_not_a_key_signature() -> None:
    key_payload = enc.canonical_json(make_claims(kid=VENDOR.kid).to_dict())
    with pytest.raises(keys.BadSignature):
        keys.verify(seal(KEY_PREFIX, ROTATION_CONTEXT, key_payload, VENDOR), [VENDOR.public_key])


def test_revocation_entries_refuse_unknown_status_and_duplicates() -> None:
    with pytest.raises(ValueError):
        keys.RevokedEntry("K-1", "deleted", NOW)
    with pytest.raises(ValueError):
        make_list(entries=(ENTRIES[0], ENTRIES[0]))
    with pytest.raises(ValueError):
        make_list(next_update=NOW - timedelta(days=2))


def test_installer_follows_a_rotation_then_trusts_keys_from_the_new_key() -> None:
    trusted = [VENDOR.public_key]
    statement = keys.sign_rotation(VENDOR, NEXT_VENDOR.public_key, at=NOW)
    assert statement.startswith("LROT1.")
    new_key = keys.follow_rotation(statement, trusted)
    assert new_key == NEXT_VENDOR.public_key

    new_license = keys.sign_key(make_claims(serial="K-0100"), NEXT_VENDOR)
    old_license = keys.sign_key(make_claims(), VENDOR)
    with pytest.raises(keys.UnknownKeyId):
        keys.verify(new_license, trusted, at=NOW)
    trusted.append(new_key)
    assert keys.verify(new_license, trusted, at=NOW).kid == NEXT_VENDOR.kid
    # Old keys keep verifying until the installer removes the old public key.
    assert keys.verify(old_license, trusted, at=NOW).kid == VENDOR.kid
    trusted.remove(VENDOR.public_key)
    with pytest.raises(keys.UnknownKeyId):
        keys.verify(old_license, trusted, at=NOW)


def test_rotation_signed_by_an_untrusted_key_is_refused() -> None:
    statement = keys.sign_rotation(STRANGER, NEXT_VENDOR.public_key, at=NOW)
    with pytest.raises(keys.UnknownKeyId):
        keys.follow_rotation(statement, [VENDOR.public_key])


def test_rotation_with_a_swapped_new_key_is_refused() -> None:
    genuine = keys.sign_rotation(VENDOR, NEXT_VENDOR.public_key, at=NOW)
    evil = keys.sign_rotation(VENDOR, STRANGER.public_key, at=NOW)
    spliced = evil.rsplit(".", 1)[0] + "." + genuine.rsplit(".", 1)[1]
    with pytest.raises(keys.BadSignature):
        keys.follow_rotation(spliced, [VENDOR.public_key])
    for broken in ("", genuine + "x", ROTATION_PREFIX + "e30." + "A" * 86):
        with pytest.raises(keys.MalformedKey):
            keys.follow_rotation(broken, [VENDOR.public_key])
