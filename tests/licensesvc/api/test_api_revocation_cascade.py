"""GET /v1/revocations/cascade serves the stored signed cascade (ETag, 304) and
/v1/revocations/cascade/delta?since=GENERATION the signed deltas; an installer carries both to
`licensesvc verify --revocations BASE --revocations DELTA` (docs/key-format.md section 14)."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner
from flask.testing import FlaskClient

import keys
from cli.main import cli
from tests.conftest import FakeClock, World
from tests.licensesvc.api.api_helpers import Caller, assert_problem


def test_the_cascade_is_served_as_stored_with_an_etag(
    api_client: FlaskClient, as_analyst: Caller, world: World, clock: FakeClock
) -> None:
    as_analyst.issue("standard", license_id=world.base_license)
    first = api_client.get("/v1/revocations/cascade")
    assert first.status_code == 200 and first.mimetype == "application/octet-stream"
    assert first.get_data()[:4] == b"LRC1"
    generation = int(first.headers["X-Cascade-Generation"])
    clock.advance(minutes=5)
    again = api_client.get("/v1/revocations/cascade")
    assert again.get_data() == first.get_data() and again.headers["ETag"] == first.headers["ETag"]
    not_modified = api_client.get(
        "/v1/revocations/cascade", headers={"If-None-Match": first.headers["ETag"]}
    )
    assert not_modified.status_code == 304 and not_modified.get_data() == b""
    delta = api_client.get(f"/v1/revocations/cascade/delta?since={generation}")
    assert delta.status_code == 200 and delta.get_data()[:4] == b"LRC1"
    # a day later the API still serves it (a million keys take tens of seconds to build): the
    # daily export rebuilds it, and the API only once it has less than a day of validity left
    clock.advance(days=1)
    assert api_client.get("/v1/revocations/cascade").headers["ETag"] == first.headers["ETag"]
    clock.advance(days=5)
    rebuilt = api_client.get("/v1/revocations/cascade")
    assert int(rebuilt.headers["X-Cascade-Generation"]) > generation
    stale = api_client.get(f"/v1/revocations/cascade/delta?since={generation}")
    assert_problem(stale, 409, "cascade_base_replaced")


def test_a_delta_needs_a_generation(api_client: FlaskClient, as_analyst: Caller) -> None:
    api_client.get("/v1/revocations/cascade")
    for query in ("", "?since=0", "?since=x", "?since=-3"):
        assert_problem(
            api_client.get(f"/v1/revocations/cascade/delta{query}"), 422, "validation_error"
        )


def test_without_a_signing_key_the_cascade_is_not_configured(api_client: FlaskClient) -> None:
    assert_problem(api_client.get("/v1/revocations/cascade"), 503, "not_configured")


def test_an_installer_follows_base_and_deltas_offline(
    api_client: FlaskClient, as_analyst: Caller, world: World, clock: FakeClock, tmp_path: Path
) -> None:
    """Base first, then the key revoked after it reaches the installer as a delta; a key
    issued after the base is `unknown_to_list` until a delta covers it; a gap is refused."""
    kept = as_analyst.issue("standard", license_id=world.base_license)
    clock.advance(minutes=3)
    pems = [k["public_key_pem"] for k in api_client.get("/v1/signing-keys").get_json()]
    (tmp_path / "vendor.pem").write_text("".join(pems))
    base = api_client.get("/v1/revocations/cascade")
    (tmp_path / "base.lrc").write_bytes(base.get_data())
    generation = int(base.headers["X-Cascade-Generation"])
    fresh = as_analyst.issue("standard", license_id=world.premium_license)
    for name, key in (("kept", kept), ("fresh", fresh)):
        (tmp_path / f"{name}.key").write_text(key["key"] + "\n")

    def verify(key: str, *revocations: str) -> tuple[int, str]:
        at = clock.current.strftime("%Y-%m-%dT%H:%M:%SZ")
        args = ["verify", str(tmp_path / key), "--public-key", str(tmp_path / "vendor.pem")]
        for name in revocations:
            args += ["--revocations", str(tmp_path / name)]
        result = CliRunner().invoke(cli, [*args, "--at", at])
        return result.exit_code, result.output

    code, out = verify("kept.key", "base.lrc")
    assert code == 0 and out.startswith("valid")
    code, out = verify("fresh.key", "base.lrc")
    assert (code, out.split(":")[0]) == (1, "unknown_to_list")
    assert "http://localhost" in out  # where to fetch a current one

    assert as_analyst.revoke(kept["serial"], "leaked").status_code == 200
    clock.advance(minutes=3)
    d1 = api_client.get(f"/v1/revocations/cascade/delta?since={generation}")
    (tmp_path / "d1.lrc").write_bytes(d1.get_data())
    assert verify("kept.key", "base.lrc", "d1.lrc")[1].startswith("revoked: ")
    assert verify("fresh.key", "base.lrc", "d1.lrc")[1].startswith("valid")
    # the next delta follows d1's generation; without d1 it is a gap
    trusted = keys.public_keys_from_pem("".join(pems))
    d1_generation = keys.cascade.read_piece(d1.get_data(), trusted).header.generation
    clock.advance(seconds=30)
    d2 = api_client.get(f"/v1/revocations/cascade/delta?since={d1_generation}")
    (tmp_path / "d2.lrc").write_bytes(d2.get_data())
    assert verify("kept.key", "base.lrc", "d1.lrc", "d2.lrc")[1].startswith("revoked: ")
    code, out = verify("kept.key", "base.lrc", "d2.lrc")
    assert (code, out.split(":")[0]) == (1, "revocation_delta_refused")
    # a plain list takes no deltas
    (tmp_path / "plain.lrl").write_text(api_client.get("/v1/revocations").get_data(as_text=True))
    clock.advance(seconds=1)
    code, out = verify("kept.key", "plain.lrl", "d1.lrc")
    assert code == 2 and "Only a revocation cascade takes deltas" in out
