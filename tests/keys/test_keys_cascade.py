"""keys/cascade.py reads exactly Mozilla's filter-cascade format version 2 with SHA-256
hashing (docs/key-format.md section 14.2) and nothing else; the envelope's rules hold."""

from __future__ import annotations

import dataclasses
import struct
from datetime import UTC, datetime, timedelta

import pytest

import keys
from keys.cascade import CascadeHeader, FilterCascade

ONE_LAYER = b"\x02\x00\x00\x00" + struct.pack("<BIIB", 2, 8, 1, 1) + b"\x00"


def layer(number: int, *, algorithm: int = 2, size: int = 8, hashes: int = 1) -> bytes:
    return struct.pack("<BIIB", algorithm, size, hashes, number) + b"\x00" * ((size + 7) // 8)


@pytest.mark.parametrize(
    ("data", "why"),
    [
        (b"\x01\x00" + layer(1), "version 1"),
        (b"\x03\x00\x00\x00" + layer(1), "version 3"),
        (b"\x02\x00\x02\x00" + layer(1), "inverted flag 2"),
        (b"\x02\x00\x00\x05abc", "salt cut short"),
        (b"\x02\x00\x00\x00", "no layer"),
        (b"\x02\x00\x00\x00" + layer(1, algorithm=1), "MurmurHash3"),
        (b"\x02\x00\x00\x00" + layer(1, algorithm=3), "SHA-256 counter mode"),
        (b"\x02\x00\x00\x00" + layer(2), "first layer numbered 2"),
        (b"\x02\x00\x00\x00" + layer(1) + layer(3), "layer 3 after 1"),
        (b"\x02\x00\x00\x00" + layer(1, size=0), "no bits"),
        (b"\x02\x00\x00\x00" + layer(1, hashes=0), "no hash"),
        (b"\x02\x00\x00\x00" + layer(1, hashes=65), "65 hashes"),
        (ONE_LAYER[:-1], "bits cut short"),
        (ONE_LAYER + b"\x02", "a byte left over"),
    ],
)
def test_the_reader_refuses_anything_but_version_2_with_sha256(data: bytes, why: str) -> None:
    with pytest.raises(ValueError):
        FilterCascade.from_bytes(data)


def test_an_empty_layer_answers_not_included_and_inverted_flips_it() -> None:
    assert b"anything" not in FilterCascade.from_bytes(ONE_LAYER)
    inverted = b"\x02\x00\x01\x00" + ONE_LAYER[4:]
    assert b"anything" in FilterCascade.from_bytes(inverted)


def test_a_header_the_format_cannot_carry_is_refused_when_signing() -> None:
    signer = keys.SigningKey.from_seed_for_tests(bytes([4]) * 32)
    at = datetime(2026, 1, 1, tzinfo=UTC)
    header = CascadeHeader(
        kind="delta",
        kid=signer.kid,
        generation=10,
        base=10,
        since=10,
        issued_at=at,
        next_update=at + timedelta(days=1),
        covered_through=at,
        count=0,
        server="",
    )
    with pytest.raises(keys.InvalidValue, match="base <= since < generation"):
        keys.sign_cascade(header, b"", {}, signer)
    with pytest.raises(keys.InvalidValue, match="carries a filter"):
        keys.sign_cascade(dataclasses.replace(header, kind="base"), b"", {}, signer)
