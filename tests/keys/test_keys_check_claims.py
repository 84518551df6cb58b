"""`keys.check_claims` (the claim steps alone, for a server that recognises a key it signed
itself) decides every vector of tests/vectors/keys.json whose signature holds exactly as
`keys.verify` does: same code, same claims; and a naive time is refused."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import pytest

import keys
from tests.keys.keys_helpers import VECTORS, run_vector, vector_time

#: what check_claims does not do: the vectors about them are not its business
NOT_ITS_STEPS = (
    "revocations",
    "revocation_cascade",
    "revocation_deltas",
    "anchor_latest_seen",
    "anchor_revocation_sequence",
    "build_date",
)
#: codes of the steps before the claims (decoding, the signature, the kid)
BEFORE_THE_CLAIMS = {"malformed", "bad_signature", "unknown_key_id", "unsupported_version"}

VECTORS_OF_CLAIMS = [
    v
    for v in json.loads(VECTORS.read_text(encoding="utf-8"))
    if not any(name in v for name in NOT_ITS_STEPS) and v["expect"] not in BEFORE_THE_CLAIMS
]


def check(vector: dict[str, Any]) -> str:
    try:
        keys.check_claims(
            keys.decode_unverified(vector["key"]),
            at=vector_time(vector["at"]),
            product=vector.get("product"),
            host=vector.get("host"),
        )
    except keys.LicenseKeyError as exc:
        return exc.code
    return "valid"


def test_there_are_vectors_of_every_claim_step() -> None:
    codes = {v["expect"] for v in VECTORS_OF_CLAIMS}
    assert {"valid", "expired", "not_yet_valid", "wrong_product", "wrong_host"} <= codes, codes


@pytest.mark.parametrize("vector", VECTORS_OF_CLAIMS, ids=lambda v: v["name"])
def test_check_claims_decides_as_verify_does(vector: dict[str, Any]) -> None:
    expected, _ = run_vector(vector)
    assert expected == vector["expect"]
    assert check(vector) == expected


def test_a_naive_time_is_refused() -> None:
    claims = keys.decode_unverified(VECTORS_OF_CLAIMS[0]["key"])
    with pytest.raises(keys.InvalidValue):
        keys.check_claims(claims, at=datetime(2025, 1, 1))
