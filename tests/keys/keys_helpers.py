"""Shared helpers of the keys tests (imported by the test modules next to this file)."""

from __future__ import annotations

import dataclasses
import os
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import keys
from keys import _encoding as enc

REPO_ROOT = Path(__file__).resolve().parents[2]
VECTORS = REPO_ROOT / "tests" / "vectors" / "keys.json"
IN_CI = bool(os.environ.get("CI"))

VENDOR = keys.SigningKey.from_seed_for_tests(bytes([11]) * 32)
NEXT_VENDOR = keys.SigningKey.from_seed_for_tests(bytes([12]) * 32)
STRANGER = keys.SigningKey.from_seed_for_tests(bytes([13]) * 32)

ISSUED = datetime(2025, 1, 1, tzinfo=UTC)
NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)


def make_claims(**changes: Any) -> keys.Claims:
    """Claims of an ordinary standard key for Acme, with ``changes`` applied."""
    claims = keys.Claims(
        serial="K-0001",
        license_id="lic-1",
        customer_id="cust-1",
        customer_name="Acme Corp",
        product="scheduler",
        kind="standard",
        agents=25,
        jobs=1000,
        host="sched.acme.example",
        issued_at=ISSUED,
        not_before=ISSUED,
        maintenance_until=date(2025, 12, 31),
        failover_host="dr.acme.example",
        case_number="CASE-1001",
    )
    return dataclasses.replace(claims, **changes)


def run_vector(vector: dict[str, Any]) -> tuple[str, keys.Claims | None]:
    """Verify one vector of tests/vectors/keys.json; return (code or "valid", claims)."""
    trusted = [keys.PublicKey.from_pem(vector["public_key_pem"])]
    trusted += [keys.PublicKey.from_pem(pem) for pem in vector.get("also_trusted_pems", [])]
    at = enc.parse_timestamp(vector["at"])
    try:
        revocations = None
        if "revocations" in vector:
            revocations = keys.verify_revocation_list(vector["revocations"], trusted, at=at)
        anchor = None
        if "anchor_latest_seen" in vector:
            anchor = keys.TimeAnchor.in_memory(enc.parse_timestamp(vector["anchor_latest_seen"]))
        build_date = vector.get("build_date")
        claims = keys.verify(
            vector["key"],
            trusted,
            at=at,
            product=vector.get("product"),
            host=vector.get("host"),
            build_date=None if build_date is None else date.fromisoformat(build_date),
            revocations=revocations,
            anchor=anchor,
        )
    except keys.LicenseKeyError as exc:
        return exc.code, None
    return "valid", claims
