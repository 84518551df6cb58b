"""Issued keys over HTTP, and the public endpoints installers use: verify, signing keys and the
revocation list."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from flask.testing import FlaskClient

import keys
from licensesvc.api.schemas import VerifyAnswerSchema
from tests.conftest import FakeClock, World
from tests.licensesvc.api.api_helpers import Caller, assert_problem

ANSWER_CONTEXT = b"licensesvc/verify-answer/v1\n"


@pytest.fixture
def standard_key(as_analyst: Caller, world: World) -> dict[str, Any]:
    """A standard key on the Base customer's license."""
    return as_analyst.issue("standard", license_id=world.base_license)


def verify(client: FlaskClient, key: str, **extra: Any) -> dict[str, Any]:
    r = client.post("/v1/keys/verify", json={"key": key, **extra})
    assert r.status_code == 200, r.get_data(as_text=True)
    body: dict[str, Any] = r.get_json()
    return body


def public_keys(client: FlaskClient) -> dict[str, Ed25519PublicKey]:
    found = {}
    for rec in client.get("/v1/signing-keys").get_json():
        pub = load_pem_public_key(rec["public_key_pem"].encode())
        assert isinstance(pub, Ed25519PublicKey)
        found[rec["kid"]] = pub
    return found


def check_answer_signature(client: FlaskClient, answer: dict[str, Any]) -> None:
    """What docs/api.md tells a client to do, written independently of the server's code."""
    body = dict(answer)
    signature = body.pop("signature")
    message = ANSWER_CONTEXT + json.dumps(
        body, sort_keys=True, separators=(",", ":"), ensure_ascii=False
    ).encode("utf-8")
    raw = base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4))
    public_keys(client)[body["kid"]].verify(raw, message)


class NotMyQuestion(Exception):
    """A genuinely signed answer about another nonce, host or product than the one asked."""


def check_answer(
    client: FlaskClient,
    answer: dict[str, Any],
    *,
    nonce: str | None,
    host: str | None = None,
    product: str | None = None,
) -> None:
    """docs/api.md's checking steps, all of them: the signature (steps 1-5), then the answer
    is about what was asked (steps 6 and 7). Raises InvalidSignature or NotMyQuestion."""
    check_answer_signature(client, answer)
    asked = {"nonce": nonce, "host": host, "product": product}
    answered = {name: answer[name] for name in asked}
    if answered != asked:
        raise NotMyQuestion(f"asked {asked}, answered {answered}")


def test_a_relay_that_drops_host_cannot_turn_wrong_host_into_valid(
    api_client: FlaskClient, standard_key: dict[str, Any]
) -> None:
    key = standard_key["key"]  # bound to sched.acme.example
    asked = verify(api_client, key, nonce="n", host="other.example")
    assert (asked["valid"], asked["code"]) == (False, "wrong_host")
    assert (asked["host"], asked["product"]) == ("other.example", None)
    check_answer(api_client, asked, nonce="n", host="other.example")  # an honest "no"

    relayed = verify(api_client, key, nonce="n")  # the proxy dropped `host`
    assert (relayed["valid"], relayed["code"], relayed["host"]) == (True, "valid", None)
    check_answer_signature(api_client, relayed)  # genuinely signed ...
    with pytest.raises(NotMyQuestion):  # ... but not about the host the client named
        check_answer(api_client, relayed, nonce="n", host="other.example")
    relayed["host"] = "other.example"  # and the relay cannot write the host back in
    with pytest.raises(InvalidSignature):
        check_answer(api_client, relayed, nonce="n", host="other.example")


def test_the_verify_answer_echoes_the_product_asked_about(
    api_client: FlaskClient, standard_key: dict[str, Any]
) -> None:
    asked = verify(api_client, standard_key["key"], nonce="p", product="Another Product")
    assert (asked["code"], asked["product"]) == ("wrong_product", "Another Product")
    assert asked["host"] is None
    check_answer(api_client, asked, nonce="p", product="Another Product")
    relayed = verify(api_client, standard_key["key"], nonce="p")
    assert (relayed["valid"], relayed["product"]) == (True, None)
    with pytest.raises(NotMyQuestion):
        check_answer(api_client, relayed, nonce="p", product="Another Product")


def test_customer_lists_only_their_own_keys(
    as_base: Caller, as_analyst: Caller, world: World, standard_key: dict[str, Any]
) -> None:
    premium = as_analyst.issue("standard", license_id=world.premium_license)
    mine = as_base.read("/v1/keys")
    assert [k["serial"] for k in mine] == [standard_key["serial"]]
    everyone = as_analyst.read("/v1/keys")
    assert {k["serial"] for k in everyone} == {standard_key["serial"], premium["serial"]}
    by_license = as_analyst.read(f"/v1/keys?license_id={world.premium_license}")
    assert [k["serial"] for k in by_license] == [premium["serial"]]
    # another customer's license is answered as an unknown one: not_found, never its keys
    # (and no empty list that would say it exists)
    other = as_base.get(f"/v1/keys?license_id={world.premium_license}")
    assert_problem(other, 404, "not_found")


def test_a_key_shows_its_record_its_text_and_its_effective_status(
    api_client: FlaskClient, as_base: Caller, clock: FakeClock
) -> None:
    key = as_base.issue("dr_test", dr_test_date="2026-03-10")
    body = as_base.read(f"/v1/keys/{key['serial']}")
    assert body["key"] == key["key"]
    assert body["status"] == "active"
    assert body["claims"]["serial"] == key["serial"]
    assert body["signing_kid"] in public_keys(api_client)
    clock.advance(days=30)
    assert as_base.read(f"/v1/keys/{key['serial']}")["status"] == "expired"


def test_customer_a_cannot_read_customer_b_key_or_its_license_file(
    as_premium: Caller, standard_key: dict[str, Any]
) -> None:
    serial = standard_key["serial"]
    for path in (f"/v1/keys/{serial}", f"/v1/keys/{serial}/license-file"):
        assert_problem(as_premium.get(path), 404, "not_found")


def test_key_downloads_as_a_license_file_attachment(
    as_base: Caller, standard_key: dict[str, Any]
) -> None:
    serial = standard_key["serial"]
    r = as_base.get(f"/v1/keys/{serial}/license-file")
    assert r.status_code == 200
    assert r.mimetype == "text/plain"
    assert r.headers["Content-Disposition"] == f'attachment; filename="{serial}.lic"'
    text = r.get_data(as_text=True)
    assert keys.decode_unverified(text).serial == serial


def test_analyst_revokes_a_key_and_customer_cannot(
    as_base: Caller, as_analyst: Caller, standard_key: dict[str, Any]
) -> None:
    serial = standard_key["serial"]
    assert_problem(as_base.revoke(serial, "stolen laptop"), 403, "forbidden")
    r = as_analyst.revoke(serial, "stolen laptop")
    assert r.status_code == 200
    body = r.get_json()
    assert body["status"] == "revoked"
    assert body["revoked_reason"] == "stolen laptop"
    assert body["revoked_at"] == "2026-03-02T15:00:00Z"
    assert_problem(as_analyst.revoke(serial, "twice"), 409, "invalid_state")


def test_a_customer_sees_the_revocation_code_never_the_analysts_words(
    as_base: Caller, as_analyst: Caller, standard_key: dict[str, Any]
) -> None:
    serial = standard_key["serial"]
    words = "Acme Logistics: chargeback on invoice 4711, suspected fraud"
    r = as_analyst.post(f"/v1/keys/{serial}/revoke", {"reason": words, "code": "customer_request"})
    assert r.status_code == 200 and r.get_json()["revoked_reason"] == words
    assert as_analyst.read(f"/v1/keys/{serial}")["revoked_reason"] == words
    listed = [k for k in as_base.read("/v1/keys") if k["serial"] == serial]
    for seen in (as_base.read(f"/v1/keys/{serial}"), *listed):
        assert seen["status"] == "revoked" and seen["revocation_code"] == "customer_request"
        assert seen["revoked_reason"] is None
    assert len(listed) == 1
    for path in (
        "/v1/keys",
        f"/v1/keys/{serial}",
        f"/v1/key-requests/{standard_key['case_number']}",
    ):
        assert "chargeback" not in as_base.get(path).get_data(as_text=True), path


def test_verify_a_valid_key_without_a_token(
    api_client: FlaskClient, standard_key: dict[str, Any]
) -> None:
    answer = verify(
        api_client,
        standard_key["key"],
        nonce="n-123",
        product="JAMS Scheduler",
        host="sched.acme.example",
    )
    assert answer["valid"] is True
    assert answer["code"] == "valid"
    assert answer["status"] == "active"
    assert answer["nonce"] == "n-123"
    assert answer["claims"]["serial"] == standard_key["serial"]
    assert answer["checked_at"] == "2026-03-02T15:00:00Z"
    check_answer(
        api_client, answer, nonce="n-123", product="JAMS Scheduler", host="sched.acme.example"
    )


def test_verify_answer_signature_fails_when_the_answer_is_altered(
    api_client: FlaskClient, standard_key: dict[str, Any]
) -> None:
    answer = verify(api_client, standard_key["key"])
    answer["valid"] = False
    with pytest.raises(InvalidSignature):
        check_answer_signature(api_client, answer)


def test_verify_a_forged_key(api_client: FlaskClient, standard_key: dict[str, Any]) -> None:
    text = standard_key["key"]
    prefix, payload, signature = text.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["agents"] = 100000  # a bigger license, same signature
    forged_payload = (
        base64.urlsafe_b64encode(json.dumps(claims, sort_keys=True, separators=(",", ":")).encode())
        .rstrip(b"=")
        .decode()
    )
    answer = verify(api_client, f"{prefix}.{forged_payload}.{signature}")
    assert answer["valid"] is False
    assert answer["code"] == "bad_signature"
    assert answer["status"] == "unknown"
    assert "claims" not in answer
    check_answer_signature(api_client, answer)


def test_verify_a_malformed_key_is_still_200(api_client: FlaskClient, world: World) -> None:
    # the world holds the signing key the answer is signed with
    answer = verify(api_client, "this is not a key")
    assert answer["valid"] is False
    assert answer["code"] == "malformed"
    assert answer["nonce"] is None
    check_answer_signature(api_client, answer)


def test_verify_a_revoked_key(
    api_client: FlaskClient, as_analyst: Caller, standard_key: dict[str, Any]
) -> None:
    as_analyst.revoke(standard_key["serial"], "refund")
    answer = verify(api_client, standard_key["key"])
    assert (answer["valid"], answer["code"], answer["status"]) == (False, "revoked", "revoked")


def test_verify_a_superseded_key_within_and_after_the_overlap(
    api_client: FlaskClient, as_base: Caller, clock: FakeClock, standard_key: dict[str, Any]
) -> None:
    as_base.issue("replacement")
    clock.advance(days=13)
    within = verify(api_client, standard_key["key"])
    assert (within["valid"], within["code"], within["status"]) == (True, "valid", "superseded")
    assert within["usable_until"] == "2026-03-16T15:00:00Z"
    clock.advance(days=2)
    after = verify(api_client, standard_key["key"])
    assert (after["valid"], after["code"], after["status"]) == (False, "superseded", "superseded")
    check_answer_signature(api_client, after)


def test_verify_rejects_unknown_fields_and_a_missing_key(api_client: FlaskClient) -> None:
    r = api_client.post("/v1/keys/verify", json={"key": "x", "at": "2020-01-01"})
    assert "at" in assert_problem(r, 422, "validation_error")["errors"]
    r = api_client.post("/v1/keys/verify", json={})
    assert "key" in assert_problem(r, 422, "validation_error")["errors"]


def test_signing_keys_are_public_with_their_key_ids(api_client: FlaskClient, world: World) -> None:
    r = api_client.get("/v1/signing-keys")
    assert r.status_code == 200
    [rec] = r.get_json()
    assert set(rec) == {
        "kid",
        "public_key_pem",
        "public_key_raw_b64",
        "status",
        "created_at",
        "retired_at",
        "rotation_statement",
    }
    assert rec["status"] == "active"
    assert rec["created_at"] == "2026-03-02T15:00:00Z"
    pub = keys.PublicKey.from_raw_b64(rec["public_key_raw_b64"])
    assert pub.kid == rec["kid"] == keys.PublicKey.from_pem(rec["public_key_pem"]).kid


def test_revocation_list_is_signed_text_by_default_and_json_on_request(
    api_client: FlaskClient, as_analyst: Caller, standard_key: dict[str, Any], clock: FakeClock
) -> None:
    as_analyst.revoke(standard_key["serial"], "refund")
    trusted = [
        keys.PublicKey.from_pem(k["public_key_pem"])
        for k in api_client.get("/v1/signing-keys").get_json()
    ]
    text_answer = api_client.get("/v1/revocations")
    assert text_answer.status_code == 200
    assert text_answer.mimetype == "text/plain"
    assert text_answer.headers["Vary"] == "Accept"
    text = text_answer.get_data(as_text=True)
    assert text.startswith("LRL2.")
    rl = keys.verify_revocation_list(text, trusted, at=clock())
    assert rl.status_of(standard_key["serial"]) == "revoked"

    json_answer = api_client.get("/v1/revocations", headers={"Accept": "application/json"})
    assert json_answer.mimetype == "application/json"
    listed = json_answer.get_json()["revocation_list"]
    assert keys.verify_revocation_list(listed, trusted, at=clock()).entries == rl.entries

    refused = api_client.get("/v1/revocations", headers={"Accept": "image/png"})
    assert_problem(refused, 406, "not_acceptable")


def test_every_member_of_a_verify_answer_is_documented(
    api_client: FlaskClient, as_base: Caller, standard_key: dict[str, Any]
) -> None:
    as_base.issue("replacement")
    answer = verify(api_client, standard_key["key"], nonce="n")
    assert "usable_until" in answer and "claims" in answer
    assert set(answer) <= set(VerifyAnswerSchema().fields)
