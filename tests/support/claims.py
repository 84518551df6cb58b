"""The one claim set of the tests and of `bench/`: an ordinary standard key for Acme (the
example of docs/key-format.md section 5), changed where a caller says. Imports `keys` only."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime
from typing import Any

import keys

#: when the claim set's key was issued (and becomes valid)
ISSUED = datetime(2025, 1, 1, tzinfo=UTC)


def make_claims(**changes: Any) -> keys.Claims:
    """Claims of an ordinary standard key for Acme, with ``changes`` applied (any field of
    keys.Claims)."""
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
