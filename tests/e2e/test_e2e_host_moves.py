"""The 20-host-move story over real HTTP (gunicorn): a customer asks for 20 replacements, each
naming a new host. After each step `POST /v1/keys/verify` says which hosts' keys are usable:
never more than the current host, its failover host and the one host it is moving from; after
the policy's 4 moves a year, `quota_exceeded` with a case the customer may escalate."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.e2e.e2e_helpers import Server, call, e2e_settings, gunicorn, issue_standard_key, prepare

pytestmark = pytest.mark.e2e

CUSTOMERS = [("Acme", "base", "na", -30, 335, 335)]


def verify(server: Server, key_text: str) -> dict[str, Any]:
    r = call(server, "POST", "/v1/keys/verify", json={"key": key_text})
    assert r.status_code == 200, r.text
    answer: dict[str, Any] = r.json()
    return answer


def test_twenty_replacements_for_new_hosts_never_make_one_license_twenty(
    e2e_database_url: str, tmp_path: Path
) -> None:
    settings = e2e_settings(e2e_database_url, tmp_path)
    data = prepare(settings, CUSTOMERS)
    token, lic = data.token["Acme"], data.license["Acme"]
    with gunicorn(e2e_database_url, tmp_path, workers=1) as server:
        # no key yet: a replacement replaces nothing
        r = call(
            server,
            "POST",
            "/v1/key-requests",
            token,
            json={"license_id": lic, "kind": "replacement"},
        )
        assert r.status_code == 409, r.text
        assert r.json()["code"] == "no_key_to_replace" and r.json()["case_number"]
        issue_standard_key(settings, lic)
        keys = call(server, "GET", "/v1/keys", token).json()
        texts: dict[str, str] = {keys[0]["host"]: keys[0]["key"]}
        granted, refused = [], []
        for n in range(1, 21):
            host = f"move{n:02d}.acme.example"
            r = call(
                server,
                "POST",
                "/v1/key-requests",
                token,
                json={"license_id": lic, "kind": "replacement", "host": host},
            )
            if r.status_code == 201:
                granted.append(host)
                texts[host] = r.json()["key"]["key"]
            else:
                assert r.status_code == 409, r.text
                problem = r.json()
                assert problem["code"] == "quota_exceeded"
                assert "host moves of this license this contract year" in problem["detail"]
                refused.append(problem["case_number"])
            usable = {h for h, text in texts.items() if verify(server, text)["valid"]}
            # the current host, and during the one overlap the host it moved from
            moves = ["sched.acme.example", *granted]
            assert usable == set(moves[-2:]), (n, usable)
        assert len(granted) == 4 and len(refused) == 16
        # a refused move can be escalated for an analyst's review
        r = call(server, "POST", f"/v1/key-requests/{refused[0]}/escalate", token, json={})
        assert r.status_code == 200, r.text
        assert r.json()["status"] == "escalated"
        ent = call(server, "GET", "/v1/entitlements", token).json()
        (one,) = ent["licenses"]
        assert one["host_moves_left"] == 0 and one["host"] == granted[-1]
        assert set(one["usable_hosts"]) == {granted[-1], granted[-2], "dr.acme.example"}
