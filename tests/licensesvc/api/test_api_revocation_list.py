"""GET /v1/revocations serves the stored signed list: signed once per change (a revocation
or a supersession) and before it goes stale, with an ETag that If-None-Match turns into 304;
entries carry reason codes, never the analyst's words."""

from __future__ import annotations

import base64
import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from flask.testing import FlaskClient

from cli.main import cli
from tests.conftest import FakeClock, World
from tests.licensesvc.api.api_helpers import Caller, assert_problem


def _entries(text: str) -> dict[str, dict[str, Any]]:
    body = text.strip().removeprefix("LRL2.").split(".")[0]
    payload = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    return {e["serial"]: e for e in payload["entries"]}


def _payload(text: str) -> dict[str, Any]:
    body = text.strip().removeprefix("LRL2.").split(".")[0]
    loaded: dict[str, Any] = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    return loaded


def test_the_list_is_served_as_stored_until_it_changes(
    api_client: FlaskClient, as_premium: Caller, as_analyst: Caller, clock: FakeClock
) -> None:
    first = api_client.get("/v1/revocations")
    assert first.status_code == 200 and first.headers["ETag"]
    clock.advance(minutes=5)
    again = api_client.get("/v1/revocations")
    # not signed again per request: the same bytes, the same ETag
    assert again.get_data() == first.get_data() and again.headers["ETag"] == first.headers["ETag"]
    not_modified = api_client.get(
        "/v1/revocations", headers={"If-None-Match": first.headers["ETag"]}
    )
    assert not_modified.status_code == 304 and not_modified.get_data() == b""

    serial = as_premium.issue("temporary", reason="usage_spike")["serial"]
    assert as_analyst.revoke(serial, "leaked on a forum").status_code == 200
    changed = api_client.get("/v1/revocations", headers={"If-None-Match": first.headers["ETag"]})
    assert changed.status_code == 200 and changed.headers["ETag"] != first.headers["ETag"]
    assert _entries(changed.get_data(as_text=True))[serial]["code"] == "key_compromise"


def test_json_and_text_have_their_own_etags(api_client: FlaskClient, as_analyst: Caller) -> None:
    text = api_client.get("/v1/revocations")
    as_json = api_client.get("/v1/revocations", headers={"Accept": "application/json"})
    assert text.headers["ETag"] != as_json.headers["ETag"]
    assert as_json.get_json()["revocation_list"] == text.get_data(as_text=True).strip()
    assert (
        api_client.get(
            "/v1/revocations",
            headers={"Accept": "application/json", "If-None-Match": as_json.headers["ETag"]},
        ).status_code
        == 304
    )


def test_the_list_is_signed_again_before_it_goes_stale(
    api_client: FlaskClient, as_analyst: Caller, clock: FakeClock
) -> None:
    first = api_client.get("/v1/revocations")
    issued = _payload(first.get_data(as_text=True))
    clock.advance(days=3, hours=12)  # half of the 7-day validity
    renewed = api_client.get("/v1/revocations")
    assert renewed.headers["ETag"] != first.headers["ETag"]
    payload = _payload(renewed.get_data(as_text=True))
    assert payload["issued_at"] > issued["issued_at"]
    assert payload["next_update"] == (clock.current + timedelta(days=7)).strftime(
        "%Y-%m-%dT%H:%M:%SZ"
    )


@pytest.mark.parametrize(
    "code", ["customer_request", "contract_ended", "issued_in_error", "key_compromise"]
)
def test_the_analysts_code_is_what_the_list_says(
    api_client: FlaskClient, as_premium: Caller, as_analyst: Caller, code: str
) -> None:
    serial = as_premium.issue("temporary", reason="usage_spike")["serial"]
    r = as_analyst.post(f"/v1/keys/{serial}/revoke", {"reason": "Acme: chargeback", "code": code})
    assert r.status_code == 200 and r.get_json()["revocation_code"] == code
    text = api_client.get("/v1/revocations").get_data(as_text=True)
    assert _entries(text)[serial] == {
        "serial": serial,
        "status": "revoked",
        "code": code,
        "revoked_at": r.get_json()["revoked_at"],
    }
    assert "chargeback" not in json.dumps(_payload(text))


def test_an_unknown_code_is_refused(as_premium: Caller, as_analyst: Caller) -> None:
    serial = as_premium.issue("temporary", reason="usage_spike")["serial"]
    r = as_analyst.post(f"/v1/keys/{serial}/revoke", {"reason": "x", "code": "fraud"})
    assert list(assert_problem(r, 422, "validation_error")["errors"]) == ["code"]
    assert as_analyst.read(f"/v1/keys/{serial}")["status"] == "active"


def test_a_superseded_key_is_listed_at_once(
    api_client: FlaskClient, as_base: Caller, as_analyst: Caller, world: World
) -> None:
    as_analyst.issue("standard", license_id=world.base_license)  # the first key is an analyst's
    before = api_client.get("/v1/revocations").headers["ETag"]
    old = as_base.issue("replacement")["serial"]
    new = as_base.issue("replacement")["serial"]
    r = api_client.get("/v1/revocations")
    assert r.headers["ETag"] != before
    entries = _entries(r.get_data(as_text=True))
    assert entries[old]["status"] == "superseded" and entries[old]["code"] == "superseded"
    assert new not in entries


def test_without_a_signing_key_the_list_is_not_configured(api_client: FlaskClient) -> None:
    assert_problem(api_client.get("/v1/revocations"), 503, "not_configured")


def test_an_older_revocation_list_is_refused_once_a_newer_one_was_seen(
    api_client: FlaskClient, as_analyst: Caller, world: World, clock: FakeClock, tmp_path: Path
) -> None:
    """The attack of issue 24 finding 3: save the list (L1), revoke K, fetch L2, and feed the
    installer L1, which does not list K yet."""
    key = as_analyst.issue("standard", license_id=world.base_license)
    (tmp_path / "k.key").write_text(key["key"] + "\n")
    pems = [k["public_key_pem"] for k in api_client.get("/v1/signing-keys").get_json()]
    (tmp_path / "vendor.pem").write_text("".join(pems))
    l1 = api_client.get("/v1/revocations").get_data(as_text=True)
    (tmp_path / "l1.lrl").write_text(l1)
    clock.advance(minutes=1)
    assert as_analyst.revoke(key["serial"], "leaked").status_code == 200
    l2 = api_client.get("/v1/revocations").get_data(as_text=True)
    (tmp_path / "l2.lrl").write_text(l2)
    assert _payload(l2)["sequence"] > _payload(l1)["sequence"] >= 1  # inside what is signed
    assert key["serial"] in _entries(l2) and key["serial"] not in _entries(l1)

    def verify(revocations: str, anchor: str) -> tuple[int, str]:
        at = (clock.current + timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
        args = ["verify", str(tmp_path / "k.key"), "--public-key", str(tmp_path / "vendor.pem")]
        args += ["--revocations", str(tmp_path / revocations), "--at", at]
        result = CliRunner().invoke(cli, [*args, "--anchor", str(tmp_path / anchor)])
        return result.exit_code, result.stdout

    # the installer has seen the current list: K is revoked
    assert verify("l2.lrl", "anchor")[1].startswith("revoked: ")
    # yesterday's list, which does not name K, is now refused as older
    code, out = verify("l1.lrl", "anchor")
    assert (code, out.split(":")[0]) == (1, "stale_revocation_list")
    assert "older than number" in out
    # the limit, stated in docs/key-format.md: an installer that never saw a newer list (or
    # lost its anchor) cannot tell that L1 was replaced
    code, out = verify("l1.lrl", "fresh-anchor")
    assert code == 0 and out.startswith("valid")


def test_every_signing_of_the_list_has_a_higher_sequence(
    api_client: FlaskClient, as_premium: Caller, as_analyst: Caller, world: World, clock: FakeClock
) -> None:
    as_analyst.issue("standard", license_id=world.premium_license)
    seen = [_payload(api_client.get("/v1/revocations").get_data(as_text=True))["sequence"]]
    serial = as_premium.issue("temporary", reason="usage_spike")["serial"]
    as_analyst.revoke(serial, "leaked")  # a revocation signs it again
    seen.append(_payload(api_client.get("/v1/revocations").get_data(as_text=True))["sequence"])
    as_premium.issue("replacement")  # a supersession clears it; the next reader signs it
    seen.append(_payload(api_client.get("/v1/revocations").get_data(as_text=True))["sequence"])
    clock.advance(days=4)  # past the middle of its validity: signed again
    seen.append(_payload(api_client.get("/v1/revocations").get_data(as_text=True))["sequence"])
    assert seen == sorted(set(seen)) and len(seen) == 4
