"""Two gunicorn servers (two workers each) over one database, hit at the same moment: the DR-test
quota holds exactly, and concurrent replacements leave exactly one active primary key."""

from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from licensesvc.config import Policy
from tests.e2e.e2e_helpers import Server, call, e2e_settings, issue_standard_key, prepare, servers

pytestmark = pytest.mark.e2e

DR_REQUESTS = 16
REPLACEMENTS = 8


def fire_together(
    targets: list[Server], token: str, bodies: list[dict[str, Any]]
) -> list[tuple[int, dict[str, Any]]]:
    """POST every body to /v1/key-requests at once, spread over the servers in turn."""
    barrier = threading.Barrier(len(bodies))

    def one(i: int) -> tuple[int, dict[str, Any]]:
        barrier.wait()
        r = call(targets[i % len(targets)], "POST", "/v1/key-requests", token, json=bodies[i])
        return r.status_code, r.json()

    with ThreadPoolExecutor(max_workers=len(bodies)) as pool:
        return list(pool.map(one, range(len(bodies))))


def test_two_servers_keep_the_dr_quota_and_one_active_primary_key(
    e2e_database_url: str, tmp_path: Path
) -> None:
    settings = e2e_settings(e2e_database_url, tmp_path)
    data = prepare(settings, [("Acme", "base", "na", -30, 335, 335)])
    standard_serial = issue_standard_key(settings, data.license["Acme"])
    token, license_id = data.token["Acme"], data.license["Acme"]
    quota = Policy().dr_keys_per_contract_year

    with servers(e2e_database_url, tmp_path, 2) as pair:
        dr_bodies = [
            {
                "license_id": license_id,
                "kind": "dr_test",
                "dr_test_date": (data.today + timedelta(days=10 + i)).isoformat(),
            }
            for i in range(DR_REQUESTS)
        ]
        answers = fire_together(pair, token, dr_bodies)
        outcomes = Counter(
            (status, body.get("status") if status == 201 else body.get("code"))
            for status, body in answers
        )
        assert outcomes == {
            (201, "granted"): quota,
            (409, "quota_exceeded"): DR_REQUESTS - quota,
        }, answers
        assert all(body["case_number"] for _, body in answers)
        issued = call(
            pair[0], "GET", f"/v1/keys?license_id={license_id}", data.token["analyst"]
        ).json()
        assert sum(1 for k in issued if k["kind"] == "dr_test") == quota

        replacement_bodies = [
            {"license_id": license_id, "kind": "replacement"} for _ in range(REPLACEMENTS)
        ]
        answers = fire_together(pair, token, replacement_bodies)
        assert [status for status, _ in answers] == [201] * REPLACEMENTS, answers

        keys = call(pair[1], "GET", f"/v1/keys?license_id={license_id}", token).json()
        primary = [k for k in keys if k["kind"] in ("standard", "replacement")]
        assert len(primary) == REPLACEMENTS + 1
        active = [k for k in primary if k["status"] == "active"]
        assert len(active) == 1
        assert {k["status"] for k in primary if k is not active[0]} == {"superseded"}
        # the supersession is one chain: standard <- r1 <- r2 <- ... <- the active key
        by_serial = {k["serial"]: k for k in primary}
        chain, serial = [], active[0]["serial"]
        while serial is not None:
            chain.append(serial)
            serial = by_serial[serial]["supersedes"]
        assert len(chain) == REPLACEMENTS + 1
        assert chain[-1] == standard_serial
