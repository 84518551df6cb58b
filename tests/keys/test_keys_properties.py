"""Property tests: any claims round-trip; any mutation of a genuine key is refused cleanly.

Under CI (env var CI set) the profile runs 10,000+ examples across these properties.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, timedelta
from typing import Literal

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import keys
from keys import _encoding as enc
from tests.keys.keys_helpers import IN_CI, VENDOR, make_claims

# Profiles registered under our own names and applied per test, so that loading them never
# changes the hypothesis settings of other packages' tests in the same run.
settings.register_profile(
    "keys-ci", max_examples=3500, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile("keys-dev", max_examples=150, deadline=None)
PROFILE = settings.get_profile("keys-ci" if IN_CI else "keys-dev")

TRUSTED = [VENDOR.public_key]
AT = datetime(2025, 6, 1, tzinfo=UTC)

# Any Unicode the format may carry: no controls, no line separators, no surrogates.
#: the Unicode category st.characters must not draw (lone surrogates cannot be encoded)
SURROGATES: tuple[Literal["Cs"]] = ("Cs",)

text_values = st.text(
    alphabet=st.characters(
        blacklist_categories=SURROGATES,
        blacklist_characters="".join(map(chr, [*range(0x20), *range(0x7F, 0xA0)])) + "\u2028\u2029",
    ),
    min_size=1,
    max_size=40,
)
moments = st.datetimes(
    min_value=datetime(1970, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
)


@st.composite
def claims_strategy(draw: st.DrawFn) -> keys.Claims:
    not_before = draw(moments)
    expires_at = draw(
        st.none() | st.timedeltas(min_value=timedelta(seconds=1), max_value=timedelta(days=9000))
    )
    return keys.Claims(
        serial=draw(text_values),
        license_id=draw(text_values),
        customer_id=draw(text_values),
        customer_name=draw(text_values),
        product=draw(text_values),
        kind=draw(st.sampled_from(keys.KINDS)),
        agents=draw(st.integers(0, enc.MAX_SAFE_INTEGER)),
        jobs=draw(st.integers(0, enc.MAX_SAFE_INTEGER)),
        host=draw(text_values),
        issued_at=draw(moments),
        not_before=not_before,
        maintenance_until=draw(st.dates(date(1970, 1, 1), date(2100, 1, 1))),
        expires_at=None if expires_at is None else not_before + expires_at,
        failover_host=draw(st.none() | text_values),
        reason=draw(st.none() | st.sampled_from(keys.TEMPORARY_REASONS)),
        supersedes=draw(st.none() | text_values),
        case_number=draw(st.none() | text_values),
    )


@PROFILE
@given(claims=claims_strategy())
def test_any_claims_round_trip_through_both_forms(claims: keys.Claims) -> None:
    text = keys.sign_key(claims, VENDOR)
    signed = dataclasses.replace(claims, kid=VENDOR.kid)
    at = claims.not_before
    for form in (text, keys.license_file(text)):
        assert keys.decode_unverified(form) == signed
        assert keys.verify(form, TRUSTED, at=at) == signed


GENUINE = [
    keys.sign_key(make_claims(), VENDOR),
    keys.sign_key(
        make_claims(
            serial="K-7",
            customer_name="Zoë 東京",
            kind="temporary",
            reason="usage_spike",
            expires_at=datetime(2025, 9, 1, tzinfo=UTC),
            failover_host=None,
        ),
        VENDOR,
    ),
]
GENUINE_FORMS = GENUINE + [keys.license_file(key) for key in GENUINE]


def normalized(text: str) -> str:
    return text.replace("\r\n", "\n").strip(enc.WHITESPACE)


@st.composite
def mutations(draw: st.DrawFn) -> tuple[str, str]:
    original = draw(st.sampled_from(GENUINE_FORMS))
    kind = draw(st.sampled_from(["flip", "substitute", "insert", "delete", "truncate", "bytes"]))
    index = draw(st.integers(0, len(original) - 1))
    if kind == "flip":
        bit = draw(st.integers(0, 6))
        mutated = original[:index] + chr(ord(original[index]) ^ (1 << bit)) + original[index + 1 :]
    elif kind == "substitute":
        char = draw(st.characters(blacklist_categories=SURROGATES))
        mutated = original[:index] + char + original[index + 1 :]
    elif kind == "insert":
        chunk = draw(st.text(min_size=1, max_size=3))
        mutated = original[:index] + chunk + original[index:]
    elif kind == "delete":
        length = draw(st.integers(1, 8))
        mutated = original[:index] + original[index + length :]
    elif kind == "truncate":
        mutated = original[:index]
    else:
        raw = bytearray(original.encode("utf-8"))
        raw[index % len(raw)] = draw(st.integers(0, 255))
        mutated = raw.decode("utf-8", errors="replace")
    return original, mutated


@PROFILE
@given(pair=mutations())
def test_any_mutation_of_a_genuine_key_or_file_is_refused_with_a_key_error(
    pair: tuple[str, str],
) -> None:
    original, mutated = pair
    # Surrounding whitespace and CRLF line endings are ignored by design; such a "mutation"
    # is the same key.
    assume(normalized(mutated) != normalized(original))
    try:
        keys.verify(mutated, TRUSTED, at=AT)
    except keys.LicenseKeyError as error:
        assert error.code in keys.ERROR_CODES
    else:
        raise AssertionError(f"mutated key was accepted: {mutated!r}")


@PROFILE
@given(pair=mutations())
def test_decoding_a_mutated_key_never_raises_anything_but_malformed(
    pair: tuple[str, str],
) -> None:
    _, mutated = pair
    try:
        keys.decode_unverified(mutated)
    except keys.MalformedKey:
        pass
