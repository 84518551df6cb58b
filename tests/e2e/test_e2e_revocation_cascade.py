"""The revocation cascade over real HTTP against two gunicorn servers on one database: both
serve the one stored base (same bytes, same ETag), a delta signed by the other server applies
to it, a key revoked after the base reaches an offline installer through that delta, and a key
issued after the base is reported `unknown_to_list`, never `valid`."""

from __future__ import annotations

from pathlib import Path

import pytest

import keys
from tests.e2e.e2e_helpers import call, e2e_settings, prepare, servers

pytestmark = pytest.mark.e2e

CUSTOMERS = [("Acme", "base", "na", -30, 335, 335), ("Globex", "premium", "emea", -30, 335, 335)]


def test_two_servers_serve_one_base_and_their_deltas_chain(
    e2e_database_url: str, tmp_path: Path
) -> None:
    data = prepare(e2e_settings(e2e_database_url, tmp_path), CUSTOMERS)
    analyst = data.token["analyst"]
    with servers(e2e_database_url, tmp_path, 2) as (one, two):
        key = call(
            one,
            "POST",
            "/v1/key-requests",
            analyst,
            json={"license_id": data.license["Acme"], "kind": "standard"},
        ).json()["key"]
        pem = "".join(k["public_key_pem"] for k in call(one, "GET", "/v1/signing-keys").json())
        trusted = keys.public_keys_from_pem(pem)
        base = call(one, "GET", "/v1/revocations/cascade")
        assert base.status_code == 200 and base.content[:4] == b"LRC1"
        same = call(two, "GET", "/v1/revocations/cascade")
        assert (same.content, same.headers["ETag"]) == (base.content, base.headers["ETag"])
        assert (
            call(
                two,
                "GET",
                "/v1/revocations/cascade",
                headers={"If-None-Match": base.headers["ETag"]},
            ).status_code
            == 304
        )
        generation = int(base.headers["X-Cascade-Generation"])
        cascade = keys.verify_revocation_cascade(base.content, trusted)
        assert cascade.server.startswith("http://127.0.0.1:")
        # issued moments ago: after the base's covered_through, so the base cannot speak for it
        with pytest.raises(keys.UnknownToList):
            keys.verify(key["key"], trusted, revocations=cascade)

        revoked = call(
            two, "POST", f"/v1/keys/{key['serial']}/revoke", analyst, json={"reason": "leaked"}
        )
        assert revoked.status_code == 200, revoked.text
        delta = call(one, "GET", f"/v1/revocations/cascade/delta?since={generation}")
        assert delta.status_code == 200 and len(delta.content) < 2048
        updated = keys.verify_revocation_cascade(base.content, trusted, deltas=[delta.content])
        with pytest.raises(keys.Revoked):
            keys.verify(key["key"], trusted, revocations=updated)
        # a delta since a generation the server never gave is a gap for this installer
        later = call(two, "GET", f"/v1/revocations/cascade/delta?since={updated.generation + 5}")
        assert later.status_code == 200
        with pytest.raises(keys.RevocationDeltaRefused):
            updated.with_delta(keys.cascade.read_piece(later.content, trusted))
