"""The verification fast paths decide exactly as the spec's general rules do.

`keys.claims.decode_canonical_payload` recognizes a canonical payload directly and otherwise
returns None (the general rule then decides); `keys._encoding.b64url_decode` checks canonical
base64url without a regular expression. These tests hold them to the general rules: the fast
path never accepts what the general rule refuses, always agrees on what it accepts, and does
take the common case (else it would be slow, not wrong).
"""

from __future__ import annotations

import base64
import dataclasses
import itertools
import re
import subprocess
import sys
import textwrap

import pytest
from hypothesis import given
from hypothesis import strategies as st

import keys
from keys import _encoding as enc
from keys.claims import decode_canonical_payload
from keys.license import _decode_payload
from tests.keys.keys_helpers import REPO_ROOT, VENDOR, make_claims
from tests.keys.test_keys_properties import PROFILE, claims_strategy


def general_rule(payload: bytes) -> keys.Claims | None:
    """The spec's decoding rule (parse, check, re-serialize, compare); None when refused."""
    try:
        return _decode_payload(payload)
    except keys.MalformedKey:
        return None


def assert_fast_path_agrees(payload: bytes) -> keys.Claims | None:
    fast = decode_canonical_payload(payload)
    if fast is not None:
        expected = general_rule(payload)
        assert expected is not None, f"the general rule refuses {payload!r}"
        assert fast == expected
        assert fast.to_dict() == expected.to_dict()
        assert [type(getattr(fast, f.name)) for f in dataclasses.fields(keys.Claims)] == [
            type(getattr(expected, f.name)) for f in dataclasses.fields(keys.Claims)
        ]
        assert fast.issued_at.tzinfo is expected.issued_at.tzinfo
    return fast


def assert_same_decision(payload: bytes) -> bool:
    """For payloads without escapes: the fast path accepts exactly what the general rule does."""
    fast = assert_fast_path_agrees(payload)
    assert (fast is None) == (general_rule(payload) is None), payload
    return fast is not None


def payload_of(claims: keys.Claims) -> bytes:
    return enc.canonical_json(dataclasses.replace(claims, kid=VENDOR.kid).to_dict())


@PROFILE
@given(claims=claims_strategy())
def test_any_canonical_payload_decodes_alike_on_both_paths(claims: keys.Claims) -> None:
    payload = payload_of(claims)
    fast = assert_fast_path_agrees(payload)
    texts = [value for value in dataclasses.astuple(claims) if isinstance(value, str)]
    if not any('"' in text or "\\" in text for text in texts):  # nothing escaped
        assert fast is not None, "the common case must take the fast path"


BASE = payload_of(make_claims(expires_at=make_claims().not_before.replace(year=2026)))
# Values a member can be given in place of its own; most break some rule of sections 4-5.
EDGE_VALUES = [
    "0",
    "1",
    "-1",
    "-0",
    "01",
    "1.0",
    "1e0",
    "9007199254740991",
    "9007199254740992",
    "99999999999999999999",
    "true",
    "null",
    "NaN",
    "[]",
    "{}",
    '""',
    '"x"',
    '"' + "a" * 256 + '"',
    '"' + "a" * 257 + '"',
    '"' + "é" * 256 + '"',
    '"a\\u0041"',
    '"a\\"b"',
    '"a\\\\b"',
    '"a/b"',
    '"a\\/b"',
    '"tab\tin"',
    '"del\x7f"',
    '"c1\x85"',
    '"nbsp\xa0ok"',
    '"ls\u2028"',
    '"ps\u2029"',
    '"Zoë 東京 🎉"',
    '"standard"',
    '"Standard"',
    '"temporary"',
    '"usage_spike"',
    '"0123456789abcdef0123456789abcdef"',
    '"0123456789ABCDEF0123456789abcdef"',
    '"2025-01-01T00:00:00Z"',
    '"2025-01-01T00:00:00z"',
    '"2025-01-01T00:00:00+00:00"',
    '"2025-01-01 00:00:00Z"',
    '"2025-01-01T00:00:00.5Z"',
    '"20250101T000000Z"',
    '"２０２５-01-01T00:00:00Z"',
    '"2025-12-31"',
    '"2025-1-31"',
    '"２０２５-12-31"',
]


def with_member(payload: bytes, member: str, value: str) -> bytes:
    pattern = re.compile(rf'"{member}":("(?:[^"\\]|\\.)*"|[^,}}]*)')
    replaced, count = pattern.subn(lambda _: f'"{member}":{value}', payload.decode(), count=1)
    assert count == 1
    return replaced.encode()


@pytest.mark.parametrize("member", sorted(keys.claims.CLAIM_MEMBERS))
def test_edge_values_of_every_member_decode_alike_on_both_paths(member: str) -> None:
    for value in EDGE_VALUES:
        payload = with_member(BASE, member, value)
        if "\\" in value:  # an escape: the general rule's business
            assert_fast_path_agrees(payload)
        else:
            assert_same_decision(payload)


def timestamps() -> list[str]:
    """Shape-valid timestamps around every calendar and clock boundary."""
    dates = [
        f"{year}-{month}-{day}"
        for year, month, day in itertools.product(
            ["0000", "0001", "1900", "2000", "2024", "2025", "9999"],
            ["00", "01", "02", "04", "12", "13", "99"],
            ["00", "01", "28", "29", "30", "31", "32", "99"],
        )
    ]
    times = [
        f"{hour}:{minute}:{second}"
        for hour, minute, second in itertools.product(
            ["00", "23", "24", "99"], ["00", "59", "60"], ["00", "59", "60", "99"]
        )
    ]
    return [f"{day}T{time}Z" for day in dates for time in ("00:00:00", "23:59:59")] + [
        f"2024-02-29T{time}Z" for time in times
    ]


def test_calendar_and_clock_boundaries_decode_alike_on_both_paths() -> None:
    accepted = 0
    for stamp in timestamps():
        for member in ("issued_at", "not_before"):
            payload = with_member(with_member(BASE, "expires_at", "null"), member, f'"{stamp}"')
            accepted += assert_same_decision(payload)
        accepted += assert_same_decision(with_member(BASE, "expires_at", f'"{stamp}"'))
        accepted += assert_same_decision(with_member(BASE, "maintenance_until", f'"{stamp[:10]}"'))
    assert accepted > 500


@st.composite
def payload_mutations(draw: st.DrawFn) -> bytes:
    original = draw(st.sampled_from([BASE, payload_of(make_claims(customer_name="Zoë 東京"))]))
    index = draw(st.integers(0, len(original) - 1))
    kind = draw(st.sampled_from(["byte", "insert", "delete"]))
    if kind == "byte":
        return original[:index] + bytes([draw(st.integers(0, 255))]) + original[index + 1 :]
    if kind == "insert":
        return original[:index] + draw(st.binary(min_size=1, max_size=4)) + original[index:]
    return original[:index] + original[index + draw(st.integers(1, 6)) :]


@PROFILE
@given(payload=payload_mutations())
def test_a_mutated_payload_is_never_accepted_by_the_fast_path_alone(payload: bytes) -> None:
    assert_fast_path_agrees(payload)


def spec_b64url_decode(text: str) -> bytes:
    """Section 3 as written: alphabet, length, then re-encode and compare."""
    if not re.fullmatch(r"[A-Za-z0-9_-]*", text) or len(text) % 4 == 1:
        raise ValueError("not unpadded base64url")
    data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    if base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii") != text:
        raise ValueError("non-canonical base64url")
    return data


def outcome(decode: object, text: str) -> bytes | str:
    assert callable(decode)
    try:
        result = decode(text)
    except ValueError as exc:
        return f"ValueError: {exc}"
    assert isinstance(result, bytes)
    return result


def test_b64url_decode_agrees_with_the_spec_on_every_short_string() -> None:
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    others = "+/= \n.é\x00"
    for length in range(4):
        for chars in itertools.product(alphabet + others, repeat=length):
            text = "".join(chars)
            assert outcome(enc.b64url_decode, text) == outcome(spec_b64url_decode, text), text


@PROFILE
@given(data=st.binary(max_size=80), noise=st.text(max_size=3), at=st.integers(0, 120))
def test_b64url_decode_agrees_with_the_spec_on_longer_strings(
    data: bytes, noise: str, at: int
) -> None:
    text = base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")
    assert enc.b64url_decode(text) == data
    mutated = text[:at] + noise + text[at + len(noise) :]
    assert outcome(enc.b64url_decode, mutated) == outcome(spec_b64url_decode, mutated)


def test_kid_is_derived_once_and_still_the_spec_kid() -> None:
    import hashlib

    public = VENDOR.public_key
    assert public.kid == hashlib.sha256(public.raw()).digest()[:16].hex()


def test_importing_keys_loads_neither_anchor_nor_revocation_nor_rotation_until_used() -> None:
    script = textwrap.dedent(
        """
        import sys
        import keys
        lazy = ["keys.anchor", "keys.revocation", "keys.rotation", "tempfile", "shutil", "json"]
        assert not [name for name in lazy if name in sys.modules], sorted(sys.modules)
        assert keys.TimeAnchor.__module__ == "keys.anchor"
        assert keys.verify_revocation_list.__module__ == "keys.revocation"
        from keys import follow_rotation, ROLLBACK_TOLERANCE
        assert set(keys.__all__) <= set(dir(keys))
        try:
            keys.no_such_name
        except AttributeError:
            print("lazy ok")
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=REPO_ROOT, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert "lazy ok" in result.stdout
