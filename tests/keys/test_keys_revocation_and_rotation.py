"""Offline installers carry signed revocation lists and follow signing-key rotations."""

from __future__ import annotations

from datetime import timedelta

import pytest

import keys
from keys import _encoding as enc
from keys.license import KEY_CONTEXT, KEY_PREFIX
from keys.revocation import REVOCATION_CONTEXT, REVOCATION_PREFIX
from keys.rotation import ROTATION_CONTEXT, ROTATION_PREFIX
from keys.signing import seal
from tests.keys.keys_helpers import NEXT_VENDOR, NOW, STRANGER, VENDOR, make_claims

ENTRIES = (
    keys.RevokedEntry("K-0009", "superseded", NOW - timedelta(days=3), "superseded"),
    keys.RevokedEntry("K-0001", "revoked", NOW - timedelta(days=2), "key_compromise"),
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
    assert text.startswith("LRL2.")
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


def test_revocation_entries_refuse_unknown_status_free_text_and_duplicates() -> None:
    with pytest.raises(ValueError, match="status must be one of"):
        keys.RevokedEntry("K-1", "deleted", NOW, "key_compromise")
    with pytest.raises(ValueError, match="code must be one of"):
        keys.RevokedEntry("K-1", "revoked", NOW, "Acme: chargeback on invoice 42")
    with pytest.raises(ValueError, match="superseded entry"):
        keys.RevokedEntry("K-1", "superseded", NOW, "key_compromise")
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


def test_a_list_of_any_length_verifies_and_is_looked_up_by_serial() -> None:
    entries = [
        keys.RevokedEntry(f"K-{number:06d}", "revoked", NOW, "customer_request")
        for number in range(3000)
    ]
    text = keys.sign_revocation_list(make_list(entries=entries), VENDOR)
    assert len(text) > 32768 * 4  # far beyond the limit a key has
    rl = keys.verify_revocation_list(text, [VENDOR.public_key], at=NOW)
    assert len(rl) == 3000
    assert rl.entry_for("K-002999") == entries[-1]
    assert rl.entry_for("K-003000") is None
    revoked = keys.sign_key(make_claims(serial="K-001234"), VENDOR)
    with pytest.raises(keys.Revoked, match="customer_request"):
        keys.verify(revoked, [VENDOR.public_key], at=NOW, revocations=rl)
    assert keys.verify(
        keys.sign_key(make_claims(), VENDOR), [VENDOR.public_key], at=NOW, revocations=rl
    )


def test_keys_past_their_own_expiry_drop_off_the_list() -> None:
    expired = keys.RevokedEntry(
        "K-OLD",
        "revoked",
        NOW - timedelta(days=90),
        "contract_ended",
        key_expires_at=NOW - timedelta(days=2),
    )
    just_expired = keys.RevokedEntry(
        "K-EDGE",
        "revoked",
        NOW - timedelta(days=9),
        "key_compromise",
        key_expires_at=NOW - timedelta(days=1) - keys.CLOCK_SKEW,
    )
    current = keys.RevokedEntry(
        "K-NEW", "revoked", NOW, "issued_in_error", key_expires_at=NOW + timedelta(days=30)
    )
    text = keys.sign_revocation_list(make_list(entries=(expired, just_expired, current)), VENDOR)
    rl = keys.verify_revocation_list(text, [VENDOR.public_key], at=NOW)
    # issued_at is NOW - 1 day: K-EDGE expired exactly CLOCK_SKEW before it and stays listed
    assert [entry.serial for entry in rl.entries] == ["K-EDGE", "K-NEW"]


def test_a_version_1_list_is_refused_with_a_message_saying_so() -> None:
    payload = enc.canonical_json(
        {
            "entries": [],
            "issued_at": enc.format_timestamp(NOW - timedelta(days=1)),
            "kid": VENDOR.kid,
            "next_update": enc.format_timestamp(NOW + timedelta(days=6)),
            "version": 1,
        }
    )
    v1 = seal("LRL1.", b"licensesvc/revocation-list/v1\n", payload, VENDOR)
    with pytest.raises(keys.MalformedKey, match="old version 1 format"):
        keys.verify_revocation_list(v1, [VENDOR.public_key], at=NOW)


@pytest.mark.parametrize(
    ("text", "accepted"),
    [
        (lambda t: t + "\r\n", True),
        (lambda t: "\ufeff" + t + "\n", True),
        (lambda t: (t + "\n").encode(), True),
        (lambda t: b"\xef\xbb\xbf" + t.encode() + b"\r\n", True),
        (lambda t: t + "\u00a0", False),  # no-break space is not whitespace here
        (lambda t: "\ufeff\ufeff" + t, False),
        (lambda t: t[:20] + "\r" + t[20:], False),
        (lambda t: t.encode() + b"\xff", False),
    ],
    ids=["crlf", "bom", "bytes", "bytes-bom-crlf", "nbsp", "two-boms", "lone-cr", "not-utf8"],
)
def test_lists_are_read_by_the_specs_reading_rule(text, accepted) -> None:
    signed = keys.sign_revocation_list(make_list(), VENDOR)
    if accepted:
        assert len(keys.verify_revocation_list(text(signed), [VENDOR.public_key], at=NOW)) == 2
    else:
        with pytest.raises(keys.MalformedKey):
            keys.verify_revocation_list(text(signed), [VENDOR.public_key], at=NOW)


SMALL_ORDER_Y = [
    0,
    1,
    2**255 - 20,
    2707385501144840649318225287225658788936804267575313519463743609750303402022,
    2**255 - 19 - 2707385501144840649318225287225658788936804267575313519463743609750303402022,
]


def _rotation_to_raw(raw: bytes) -> str:
    statement = {
        "issued_at": enc.format_timestamp(NOW),
        "kid": VENDOR.kid,
        "new_kid": keys.signing.kid_for_raw_public_key(raw),
        "new_public_key": enc.b64url_encode(raw),
        "version": 1,
    }
    return seal(ROTATION_PREFIX, ROTATION_CONTEXT, enc.canonical_json(statement), VENDOR)


@pytest.mark.parametrize("y", SMALL_ORDER_Y, ids=["y=0", "y=1", "y=-1", "order8", "order8-neg"])
@pytest.mark.parametrize("sign", [0, 1])
def test_a_rotation_to_a_small_order_key_is_refused(y: int, sign: int) -> None:
    raw = (y | (sign << 255)).to_bytes(32, "little")
    with pytest.raises(keys.MalformedKey, match="small order|not canonically"):
        keys.follow_rotation(_rotation_to_raw(raw), [VENDOR.public_key])


def test_a_rotation_to_a_non_canonical_or_off_curve_key_is_refused() -> None:
    p = 2**255 - 19
    genuine_y = int.from_bytes(NEXT_VENDOR.public_key.raw(), "little") & ((1 << 255) - 1)
    if genuine_y + p < 2**255:  # pragma: no cover - depends on the seed
        non_canonical = (genuine_y + p).to_bytes(32, "little")
    else:
        non_canonical = (p + 3).to_bytes(32, "little")
    with pytest.raises(keys.MalformedKey, match="not canonically encoded"):
        keys.follow_rotation(_rotation_to_raw(non_canonical), [VENDOR.public_key])
    off_curve = next(
        y.to_bytes(32, "little")
        for y in range(2, 100)
        if pow((y * y - 1) * pow(keys.signing._D * y * y + 1, -1, p) % p, (p - 1) // 2, p) != 1
    )
    with pytest.raises(keys.MalformedKey, match="not a point of the curve"):
        keys.follow_rotation(_rotation_to_raw(off_curve), [VENDOR.public_key])
    assert keys.follow_rotation(_rotation_to_raw(NEXT_VENDOR.public_key.raw()), [VENDOR.public_key])


def test_a_pem_bundle_gives_every_key_and_refuses_what_is_not_a_public_key() -> None:
    bundle = "# vendor keys\n" + VENDOR.public_key.to_pem() + "\n" + NEXT_VENDOR.public_key.to_pem()
    assert keys.public_keys_from_pem(bundle.encode()) == [
        VENDOR.public_key,
        NEXT_VENDOR.public_key,
    ]
    with pytest.raises(keys.KeyConfigurationError, match="not ASCII"):
        keys.public_keys_from_pem(b"\xff\xfe" + bundle.encode())
    with pytest.raises(keys.KeyConfigurationError, match="PRIVATE KEY block"):
        keys.public_keys_from_pem(VENDOR.to_unencrypted_pem_for_tests())
    with pytest.raises(keys.KeyConfigurationError, match="no -----BEGIN PUBLIC KEY"):
        keys.public_keys_from_pem("not a key")
    broken = bundle.replace(NEXT_VENDOR.public_key.to_pem().splitlines()[1], "AAAA")
    with pytest.raises(keys.KeyConfigurationError, match="key 2 of 2"):
        keys.public_keys_from_pem(broken)
