"""The transparency log over HTTP, as a tile client and an installer read it: the checkpoint
verifies under the vkey of GET /v1/log/key, the tiles and entry bundles rebuild its root, the
inclusion and consistency proofs verify, a license file downloaded after integration carries a
proof that keys.tlog accepts, and bad requests are problem+json that change nothing."""

from __future__ import annotations

from flask.testing import FlaskClient

import keys
import keys.tlog
from licensesvc import transparency
from licensesvc.platform.context import ServiceContext
from tests.conftest import World
from tests.licensesvc.api.api_helpers import Caller, assert_problem


def test_an_issued_key_is_proved_in_the_log_and_its_file_carries_the_proof(
    api_client: FlaskClient, as_analyst: Caller, world: World, analyst: ServiceContext
) -> None:
    key = as_analyst.issue("standard", license_id=world.base_license)
    assert api_client.get("/log/checkpoint").status_code == 404  # nothing integrated yet
    not_yet = api_client.get("/v1/log/inclusion", query_string={"serial": key["serial"]})
    assert_problem(not_yet, 404, "not_found")
    file_before = as_analyst.get(f"/v1/keys/{key['serial']}/license-file").get_data(as_text=True)
    assert keys.tlog.PROOF_BEGIN not in file_before
    for _ in range(2):
        as_analyst.issue("standard", license_id=world.premium_license)
    transparency.integrate(analyst)

    vkey = api_client.get("/v1/log/key").get_json()["vkey"]
    verifier = keys.tlog.LogVerifier.from_vkey(vkey)
    cp = api_client.get("/log/checkpoint")
    assert cp.headers["Cache-Control"] == "public, max-age=1"
    head = keys.tlog.verify_checkpoint(cp.get_data(as_text=True), verifier)
    assert head.tree_size == 4  # three issues and one supersession

    tile = api_client.get(f"/log/tile/0/000.p/{head.tree_size}")
    assert tile.status_code == 200 and "immutable" in tile.headers["Cache-Control"]
    bundle = api_client.get(f"/log/tile/entries/000.p/{head.tree_size}").get_data()
    leaves = keys.tlog.split_entry_bundle(bundle)
    hashes = [keys.tlog.leaf_hash(x) for x in leaves]
    assert tile.get_data() == b"".join(hashes)
    assert keys.tlog.tree_hash(hashes) == head.root_hash
    # tiles the checkpoint does not cover are not served
    assert api_client.get("/log/tile/0/000").status_code == 404
    assert api_client.get(f"/log/tile/0/000.p/{head.tree_size + 1}").status_code == 404
    assert api_client.get("/log/tile/0/0.p/1").status_code == 404

    answer = api_client.get("/v1/log/inclusion", query_string={"serial": key["serial"]})
    body = answer.get_json()
    assert set(body) == {"index", "tree_size", "leaf", "leaf_hash", "proof", "checkpoint"}
    keys.tlog.verify_inclusion(
        keys.tlog.b64decode(body["leaf_hash"]),
        body["index"],
        body["tree_size"],
        [keys.tlog.b64decode(p) for p in body["proof"]],
        head.root_hash,
    )
    consistency = api_client.get("/v1/log/consistency", query_string={"from": 1, "to": 4})
    proof = [keys.tlog.b64decode(p) for p in consistency.get_json()["proof"]]
    assert consistency.get_json()["from"] == 1
    keys.tlog.verify_consistency(1, 4, proof, hashes[0], head.root_hash)

    file_after = as_analyst.get(f"/v1/keys/{key['serial']}/license-file").get_data(as_text=True)
    license_text, log_proof = keys.tlog.split_license_file(file_after)
    assert log_proof is not None and license_text == file_before
    claims = keys.decode_unverified(file_after)  # old readers skip the proof block
    keys.tlog.verify_key_logged(key["key"], claims.serial, log_proof, verifier)


def test_bad_log_requests_are_problems(api_client: FlaskClient, analyst: ServiceContext) -> None:
    transparency.integrate(analyst)
    assert_problem(
        api_client.get("/v1/log/consistency", query_string={"from": 2, "to": 1}),
        422,
        "validation_error",
    )
    assert_problem(
        api_client.get("/v1/log/consistency", query_string={"from": "x", "to": 1}),
        422,
        "validation_error",
    )
    assert_problem(api_client.get("/v1/log/inclusion"), 422, "validation_error")


def test_malformed_tile_paths_are_404_problems(
    api_client: FlaskClient, analyst: ServiceContext
) -> None:
    transparency.integrate(analyst)
    for path in ("/log/tile/-1/0", "/log/tile/01/000", "/log/tile/64/000", "/log/tile/0/0"):
        assert_problem(api_client.get(path), 404, "not_found")
    for path in ("/log/tile/0/000.p/0", "/log/tile/0/000.p/256", "/log/tile/entries/x000/001"):
        assert_problem(api_client.get(path), 404, "not_found")


def test_unmatched_log_paths_are_problems_too(api_client: FlaskClient) -> None:
    assert_problem(api_client.get("/log/tile/0/%08"), 404, "not_found")
    assert_problem(api_client.get("/log/nothing-here"), 404, "not_found")
    assert_problem(api_client.post("/log/checkpoint"), 405, "method_not_allowed")
