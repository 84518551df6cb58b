"""Shared helpers of the keys tests (imported by the test modules next to this file)."""

from __future__ import annotations

import base64
import os
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import keys
from keys import _encoding as enc

# the claim set is shared with bench/ (tests/support/claims.py)
from tests.support.claims import ISSUED as ISSUED
from tests.support.claims import make_claims as make_claims

REPO_ROOT = Path(__file__).resolve().parents[2]
VECTORS = REPO_ROOT / "tests" / "vectors" / "keys.json"
LIST_VECTORS = REPO_ROOT / "tests" / "vectors" / "revocation-lists.json"
ROTATION_VECTORS = REPO_ROOT / "tests" / "vectors" / "rotations.json"
IN_CI = bool(os.environ.get("CI"))

VENDOR = keys.SigningKey.from_seed_for_tests(bytes([11]) * 32)
NEXT_VENDOR = keys.SigningKey.from_seed_for_tests(bytes([12]) * 32)
STRANGER = keys.SigningKey.from_seed_for_tests(bytes([13]) * 32)

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)


def vector_trusted_keys(vector: dict[str, Any]) -> list[keys.PublicKey]:
    """The trusted keys of a vector: its public_key_pem (one key or a bundle) and the rest."""
    pems = [vector["public_key_pem"], *vector.get("also_trusted_pems", [])]
    return [key for pem in pems for key in keys.public_keys_from_pem(pem)]


def vector_time(text: str) -> datetime:
    """A vector's `at`: a timestamp, perhaps with a fraction of a second before the Z."""
    whole, dot, fraction = text.removesuffix("Z").partition(".")
    moment = enc.parse_timestamp(whole + "Z")
    return moment.replace(microsecond=int(fraction.ljust(6, "0")[:6])) if dot else moment


def run_list_vector(vector: dict[str, Any]) -> tuple[str, keys.RevocationList | None]:
    """Verify one vector of revocation-lists.json; return (code or "valid", list)."""
    try:
        rl = keys.verify_revocation_list(
            vector["revocation_list"], vector_trusted_keys(vector), at=vector_time(vector["at"])
        )
    except keys.LicenseKeyError as exc:
        return exc.code, None
    return "valid", rl


def run_rotation_vector(vector: dict[str, Any]) -> tuple[str, keys.PublicKey | None]:
    """Follow one vector of rotations.json; return (code or "valid", the new key)."""
    try:
        new_key = keys.follow_rotation(vector["statement"], vector_trusted_keys(vector))
    except keys.LicenseKeyError as exc:
        return exc.code, None
    return "valid", new_key


def run_vector(
    vector: dict[str, Any], *, through_verifier: bool = False
) -> tuple[str, keys.Claims | None]:
    """Verify one vector of tests/vectors/keys.json; return (code or "valid", claims). With
    through_verifier, by a `keys.Verifier` made around the vector's trusted keys instead of
    the simple `keys.verify`."""
    trusted = vector_trusted_keys(vector)
    at = vector_time(vector["at"])
    try:
        revocations: keys.RevocationList | keys.RevocationCascade | None = None
        if "revocations" in vector:
            revocations = keys.verify_revocation_list(vector["revocations"], trusted, at=at)
        if "revocation_cascade" in vector:
            revocations = keys.verify_revocation_cascade(
                base64.b64decode(vector["revocation_cascade"]),
                trusted,
                deltas=[base64.b64decode(d) for d in vector.get("revocation_deltas", [])],
                at=at,
            )
        anchor = None
        if "anchor_latest_seen" in vector or "anchor_revocation_sequence" in vector:
            latest = vector.get("anchor_latest_seen")
            anchor = keys.TimeAnchor.in_memory(
                None if latest is None else enc.parse_timestamp(latest),
                revocation_sequence=vector.get("anchor_revocation_sequence", 0),
            )
        build_date = vector.get("build_date")
        checks: dict[str, Any] = {
            "at": at,
            "product": vector.get("product"),
            "host": vector.get("host"),
            "build_date": None if build_date is None else date.fromisoformat(build_date),
            "revocations": revocations,
        }
        if through_verifier:
            claims = keys.Verifier(trusted, anchor=anchor).verify(vector["key"], **checks)
        else:
            claims = keys.verify(vector["key"], trusted, anchor=anchor, **checks)
    except keys.LicenseKeyError as exc:
        return exc.code, None
    return "valid", claims
