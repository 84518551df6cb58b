"""The Ed25519 layer that verifies keys agrees with Wycheproof on every test case."""

from __future__ import annotations

import json
from typing import Any, cast

import pytest

import keys
from tests.keys.keys_helpers import IN_CI, REPO_ROOT

WYCHEPROOF = REPO_ROOT.parent / "shared" / "vectors" / "wycheproof" / "ed25519_test.json"


def load_cases() -> list[tuple[str, dict[str, Any]]]:
    if not WYCHEPROOF.exists():
        return []
    data = json.loads(WYCHEPROOF.read_text(encoding="utf-8"))
    return [
        (group["publicKey"]["pk"], case) for group in data["testGroups"] for case in group["tests"]
    ]


CASES = load_cases()


def require_wycheproof() -> None:
    if not CASES:
        message = f"Wycheproof vectors not found at {WYCHEPROOF} (../shared is absent)"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)


def test_all_151_wycheproof_cases_are_present() -> None:
    require_wycheproof()
    assert len(CASES) == 151


@pytest.mark.parametrize(
    "public_hex,case",
    cast(list[Any], CASES) or [pytest.param("", {}, id="missing")],
    ids=[f"tc{case['tcId']}" for _, case in CASES] or None,
)
def test_signature_layer_matches_wycheproof(public_hex: str, case: dict[str, Any]) -> None:
    require_wycheproof()
    public_key = keys.PublicKey.from_raw(bytes.fromhex(public_hex))
    try:
        public_key.verify_signature(bytes.fromhex(case["sig"]), bytes.fromhex(case["msg"]))
        accepted = True
    except keys.BadSignature:
        accepted = False
    if case["result"] != "acceptable":
        assert accepted == (case["result"] == "valid"), case["comment"]
