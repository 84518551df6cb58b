"""An installer verifies license keys offline: every failure code, in both forms."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

import pytest

import keys
from keys import _encoding as enc
from keys.license import KEY_CONTEXT, KEY_PREFIX
from keys.signing import seal
from tests.keys.keys_helpers import ISSUED, NEXT_VENDOR, NOW, STRANGER, VENDOR, make_claims

TRUSTED = [VENDOR.public_key]
TEMPORARY = make_claims(
    serial="K-0002",
    kind="temporary",
    reason="usage_spike",
    not_before=datetime(2025, 5, 1, tzinfo=UTC),
    expires_at=datetime(2025, 8, 29, tzinfo=UTC),
    failover_host=None,
)


def _text_key(key: str) -> str:
    return key


#: the two forms a key reaches an installer in
FORMS: dict[str, Callable[[str], str]] = {"text key": _text_key, "license file": keys.license_file}


@pytest.fixture(params=sorted(FORMS))
def form(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def issue(claims: keys.Claims | None = None, form: str = "text key") -> str:
    return FORMS[form](keys.sign_key(claims or make_claims(), VENDOR))


def assert_refused(
    code: str, key: str, *, genuine: bool, **options: object
) -> keys.LicenseKeyError:
    options.setdefault("at", NOW)
    with pytest.raises(keys.LicenseKeyError) as info:
        keys.verify(key, TRUSTED, **options)  # type: ignore[arg-type]
    error = info.value
    assert error.code == code
    assert error.message and error.message.endswith(".") and "\n" not in error.message
    assert str(error) == error.message
    assert (error.claims is not None) is genuine
    return error


def test_genuine_key_verifies_in_both_forms_with_the_same_claims(form: str) -> None:
    claims = keys.verify(issue(form=form), TRUSTED, at=NOW)
    assert claims == dataclasses.replace(make_claims(), kid=VENDOR.kid)


def test_text_key_is_one_url_safe_line_with_the_documented_prefix() -> None:
    key = issue()
    assert key.startswith("LK1.") and keys.KEY_PREFIX == "LK1."
    assert set(key) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.")


def test_license_file_shows_a_human_summary() -> None:
    text = issue(form="license file")
    assert text.startswith("-----BEGIN LICENSESVC LICENSE-----\nCustomer: Acme Corp (cust-1)\n")
    for line in (
        "Agents: 25",
        "Host: sched.acme.example",
        "Failover host: dr.acme.example",
        "Expires: never (perpetual)",
        "Maintenance until: 2025-12-31",
        "Serial: K-0001",
        "Case: CASE-1001",
        f"Signing key ID: {VENDOR.kid}",
    ):
        assert f"\n{line}\n" in text
    assert text.endswith("-----END LICENSESVC LICENSE-----\n")
    assert all(len(line) <= 64 for line in text.split("\n\n", 1)[1].split("\n"))


def test_license_file_survives_crlf_and_surrounding_whitespace() -> None:
    text = "\r\n " + issue(form="license file").replace("\n", "\r\n") + "  \r\n"
    assert keys.verify(text, TRUSTED, at=NOW).serial == "K-0001"


def test_decode_unverified_reads_both_forms_without_a_trusted_key(form: str) -> None:
    assert keys.decode_unverified(issue(form=form)).serial == "K-0001"


def test_license_file_rejects_garbage() -> None:
    with pytest.raises(keys.MalformedKey):
        keys.license_file("LK1.not-a-key")


@pytest.mark.parametrize("garbage", ["", "   ", "hello", "LK1.", "LK1..", "LK1.a.b", "\x00" * 10])
def test_garbage_is_malformed(garbage: str) -> None:
    assert_refused("malformed", garbage, genuine=False)


def test_oversized_input_is_malformed_before_parsing() -> None:
    assert_refused("malformed", "LK1." + "A" * 40000, genuine=False)


def test_edited_license_file_summary_is_malformed() -> None:
    text = issue(form="license file").replace("Agents: 25", "Agents: 2500")
    assert_refused("malformed", text, genuine=False)


def test_non_canonical_json_signed_by_the_vendor_is_still_malformed() -> None:
    payload = enc.canonical_json(make_claims(kid=VENDOR.kid).to_dict()).replace(b":", b": ")
    assert_refused("malformed", seal(KEY_PREFIX, KEY_CONTEXT, payload, VENDOR), genuine=False)


def test_key_from_an_untrusted_signer_is_unknown_key_id(form: str) -> None:
    key = FORMS[form](keys.sign_key(make_claims(), STRANGER))
    assert_refused("unknown_key_id", key, genuine=False)


def test_no_trusted_keys_at_all_is_unknown_key_id() -> None:
    with pytest.raises(keys.UnknownKeyId):
        keys.verify(issue(), [], at=NOW)


def test_forged_kid_is_bad_signature(form: str) -> None:
    payload = enc.canonical_json(make_claims(kid=VENDOR.kid).to_dict())
    forged = seal(KEY_PREFIX, KEY_CONTEXT, payload, STRANGER)
    assert_refused("bad_signature", FORMS[form](forged), genuine=False)


def test_tampered_claims_are_bad_signature() -> None:
    key = issue()
    payload_b64, signature_b64 = key[len(KEY_PREFIX) :].split(".")
    claims = enc.parse_json_object(enc.b64url_decode(payload_b64))
    claims["agents"] = 9999
    tampered = f"{KEY_PREFIX}{enc.b64url_encode(enc.canonical_json(claims))}.{signature_b64}"
    assert_refused("bad_signature", tampered, genuine=False)


def test_key_before_its_start_is_not_yet_valid(form: str) -> None:
    key = issue(TEMPORARY, form)
    error = assert_refused(
        "not_yet_valid", key, genuine=True, at=TEMPORARY.not_before - timedelta(minutes=6)
    )
    assert error.claims is not None and error.claims.serial == "K-0002"


def test_clock_skew_is_tolerated_at_both_ends() -> None:
    key = issue(TEMPORARY)
    assert TEMPORARY.expires_at is not None
    keys.verify(key, TRUSTED, at=TEMPORARY.not_before - keys.CLOCK_SKEW)
    keys.verify(key, TRUSTED, at=TEMPORARY.expires_at + keys.CLOCK_SKEW)


def test_key_past_its_expiry_is_expired(form: str) -> None:
    assert TEMPORARY.expires_at is not None
    at = TEMPORARY.expires_at + keys.CLOCK_SKEW + timedelta(seconds=1)
    assert_refused("expired", issue(TEMPORARY, form), genuine=True, at=at)


def test_perpetual_key_never_expires() -> None:
    assert keys.verify(issue(), TRUSTED, at=datetime(9999, 12, 31, 23, 59, tzinfo=UTC))


def test_revoked_key_is_refused(form: str) -> None:
    rl = keys.RevocationList(
        issued_at=NOW - timedelta(days=1),
        next_update=NOW + timedelta(days=6),
        entries=(
            keys.RevokedEntry("K-0001", "revoked", NOW - timedelta(hours=1), "key_compromise"),
        ),
    )
    assert_refused("revoked", issue(form=form), genuine=True, revocations=rl)


def superseded_list(overlap_ends: datetime) -> keys.RevocationList:
    return keys.RevocationList(
        issued_at=NOW - timedelta(days=1),
        next_update=NOW + timedelta(days=6),
        entries=(keys.RevokedEntry("K-0001", "superseded", overlap_ends, "superseded"),),
    )


def test_superseded_key_stays_valid_through_its_overlap() -> None:
    rl = superseded_list(overlap_ends=NOW + timedelta(hours=1))
    assert keys.verify(issue(), TRUSTED, at=NOW, revocations=rl).serial == "K-0001"


def test_superseded_key_is_refused_once_its_overlap_ended(form: str) -> None:
    rl = superseded_list(overlap_ends=NOW - timedelta(hours=1))
    assert_refused("revoked", issue(form=form), genuine=True, revocations=rl)


def test_stale_revocation_list_passed_to_verify_is_refused() -> None:
    rl = keys.RevocationList(
        issued_at=NOW - timedelta(days=10), next_update=NOW - timedelta(days=3), entries=()
    )
    assert_refused("stale_revocation_list", issue(), genuine=True, revocations=rl)


def test_key_for_another_product_is_wrong_product(form: str) -> None:
    assert_refused("wrong_product", issue(form=form), genuine=True, product="reporter")


@pytest.mark.parametrize("host", ["sched.acme.example", "SCHED.ACME.EXAMPLE", "Dr.Acme.Example"])
def test_key_accepts_its_host_and_failover_host_in_any_case(host: str) -> None:
    assert keys.verify(issue(), TRUSTED, at=NOW, host=host, product="scheduler")


def test_key_on_another_host_is_wrong_host(form: str) -> None:
    assert_refused("wrong_host", issue(form=form), genuine=True, host="rogue.example")


def test_build_released_after_maintenance_is_not_covered(form: str) -> None:
    assert keys.verify(issue(), TRUSTED, at=NOW, build_date=date(2025, 12, 31))
    assert_refused(
        "maintenance_not_covering", issue(form=form), genuine=True, build_date=date(2026, 1, 1)
    )


def test_rolled_back_clock_is_detected_by_the_anchor(form: str) -> None:
    anchor = keys.TimeAnchor.in_memory(NOW + timedelta(days=3))
    assert_refused("clock_rollback", issue(form=form), genuine=True, anchor=anchor)


def test_verification_advances_the_anchor() -> None:
    anchor = keys.TimeAnchor.in_memory()
    keys.verify(issue(), TRUSTED, at=NOW, anchor=anchor)
    assert anchor.latest_seen == NOW


def test_first_failing_step_decides_the_code() -> None:
    assert TEMPORARY.expires_at is not None
    late = TEMPORARY.expires_at + timedelta(days=1)
    assert_refused("expired", issue(TEMPORARY), genuine=True, at=late, host="x", product="y")
    assert_refused("wrong_product", issue(), genuine=True, product="y", host="x")
    assert_refused(
        "clock_rollback",
        issue(TEMPORARY),
        genuine=True,
        at=TEMPORARY.not_before - timedelta(days=1),
        anchor=keys.TimeAnchor.in_memory(NOW),
    )


def test_every_error_code_is_listed_once() -> None:
    assert sorted(keys.ERROR_CODES) == sorted(
        {
            "malformed",
            "bad_signature",
            "unknown_key_id",
            "expired",
            "not_yet_valid",
            "wrong_product",
            "wrong_host",
            "maintenance_not_covering",
            "revoked",
            "clock_rollback",
            "stale_revocation_list",
            "unknown_to_list",
            "revocation_delta_refused",
        }
    )


def test_default_time_is_now() -> None:
    recent = make_claims(not_before=datetime.now(UTC) - timedelta(days=1))
    assert keys.verify(keys.sign_key(recent, VENDOR), TRUSTED).serial == "K-0001"


def test_naive_verification_time_is_a_programming_error() -> None:
    with pytest.raises(ValueError):
        keys.verify(issue(), TRUSTED, at=datetime(2025, 6, 1))


def test_trusted_mapping_must_be_filed_under_the_right_kid() -> None:
    assert keys.verify(issue(), {VENDOR.kid: VENDOR.public_key}, at=NOW)
    with pytest.raises(keys.KeyConfigurationError):
        keys.verify(issue(), {NEXT_VENDOR.kid: VENDOR.public_key}, at=NOW)
    with pytest.raises(keys.KeyConfigurationError):
        keys.verify(issue(), [VENDOR.public_key.to_pem()], at=NOW)  # type: ignore[list-item]


@pytest.mark.parametrize(
    "change",
    [
        {"kind": "forever"},
        {"reason": "boredom"},
        {"agents": -1},
        {"jobs": True},
        {"agents": 2**53},
        {"issued_at": datetime(2025, 1, 1)},
        {"expires_at": ISSUED - timedelta(days=1)},
        {"host": ""},
        {"customer_name": "Acme\nCorp"},
        {"kid": "not-a-kid"},
        {"maintenance_until": datetime(2025, 1, 1, tzinfo=UTC)},
    ],
)
def test_claims_refuse_values_the_format_cannot_carry(change: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        make_claims(**change)


def test_claims_are_normalized_to_utc_whole_seconds() -> None:
    from zoneinfo import ZoneInfo

    local = datetime(2025, 1, 1, 9, 30, 15, 999999, tzinfo=ZoneInfo("Australia/Sydney"))
    claims = make_claims(issued_at=local)
    assert claims.issued_at == datetime(2024, 12, 31, 22, 30, 15, tzinfo=UTC)
    assert claims.issued_at.tzinfo is UTC
    assert claims.to_dict()["issued_at"] == "2024-12-31T22:30:15Z"


@pytest.mark.parametrize(
    ("transform", "valid"),
    [
        (lambda text: text.encode("utf-8"), True),
        (lambda text: "\ufeff" + text, True),
        (lambda text: b"\xef\xbb\xbf" + text.replace("\n", "\r\n").encode("utf-8"), True),
        (lambda text: text.replace("\n", "\r"), False),
        (lambda text: text.replace("\n", "\r\n", 3).replace("\n", "\r", 1), False),
        (lambda text: "\ufeff\ufeff" + text, False),
        (lambda text: " \ufeff" + text, False),
        (lambda text: text.encode("utf-16"), False),
        (lambda text: text + "\u00a0", False),
    ],
    ids=[
        "utf8-bytes",
        "bom",
        "bom-crlf-bytes",
        "lone-cr-lines",
        "one-lone-cr",
        "two-boms",
        "bom-after-space",
        "utf16",
        "trailing-nbsp",
    ],
)
def test_license_files_are_read_by_the_specs_reading_rule(transform, valid: bool) -> None:
    data = transform(issue(form="license file"))
    if valid:
        assert keys.verify(data, TRUSTED, at=NOW).serial == "K-0001"
    else:
        assert_refused("malformed", data, genuine=False)


def test_a_fraction_of_a_second_in_at_is_truncated_not_rounded() -> None:
    assert TEMPORARY.expires_at is not None
    last_second = TEMPORARY.expires_at + keys.CLOCK_SKEW
    key = issue(TEMPORARY)
    assert keys.verify(key, TRUSTED, at=last_second + timedelta(microseconds=999_999))
    assert_refused("expired", key, genuine=True, at=last_second + timedelta(seconds=1))
