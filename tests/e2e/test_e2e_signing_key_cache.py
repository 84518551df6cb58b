"""Each gunicorn worker keeps its own copy of the published signing keys
(issuance/signing.py: published_keys). A rotation made in another process must reach every
worker: a key signed by the new key verifies at once on every worker, and within
PUBLISHED_KEYS_MAX_AGE every worker signs its verify answers with the new key."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from licensesvc.issuance import signing
from licensesvc.issuance.signing import PUBLISHED_KEYS_MAX_AGE
from licensesvc.platform.context import Actor
from licensesvc.runtime import Runtime
from tests.e2e.e2e_helpers import call, e2e_settings, gunicorn, issue_standard_key, prepare

pytestmark = pytest.mark.e2e

#: enough requests that both workers answer some (gunicorn's sync workers share one socket)
REQUESTS = 24


def test_a_rotation_elsewhere_reaches_every_worker(e2e_database_url: str, tmp_path: Path) -> None:
    settings = e2e_settings(e2e_database_url, tmp_path)
    made = prepare(settings, [("Acme", "premium", "na", -30, 335, 335)])
    old_serial = issue_standard_key(settings, made.license["Acme"])
    with gunicorn(e2e_database_url, tmp_path, workers=2) as server:
        analyst = made.token["analyst"]
        old_text = call(server, "GET", f"/v1/keys/{old_serial}", analyst).json()["key"]
        before = [
            call(server, "POST", "/v1/keys/verify", json={"key": old_text}).json()
            for _ in range(REQUESTS)
        ]
        assert all(a["valid"] for a in before)
        old_kid = before[0]["kid"]
        assert {a["kid"] for a in before} == {old_kid}

        # rotate in this process, not in the server's workers (an analyst's CLI does the same)
        runtime = Runtime.from_settings(settings)
        try:
            with runtime.unit_of_work(Actor.analyst("e2e-analyst")) as ctx:
                new_kid = signing.rotate_signing_key(ctx).kid
        finally:
            runtime.engine.dispose()
        assert new_kid != old_kid

        # a key the new key signed (issued by the server itself) verifies at once on every
        # worker, whatever its copy held: an unknown kid makes a worker look again
        new_serial = issue_standard_key(settings, made.license["Acme"])
        new_text = call(server, "GET", f"/v1/keys/{new_serial}", analyst).json()["key"]
        fresh = [
            call(server, "POST", "/v1/keys/verify", json={"key": new_text}).json()
            for _ in range(REQUESTS)
        ]
        assert all(a["valid"] and a["code"] == "valid" for a in fresh), fresh

        # within the copies' age every worker signs its answers with the new active key, and
        # the old key's own key still verifies (retired keys stay trusted)
        time.sleep(PUBLISHED_KEYS_MAX_AGE + 0.5)
        after = [
            call(server, "POST", "/v1/keys/verify", json={"key": old_text}).json()
            for _ in range(REQUESTS)
        ]
        assert {a["kid"] for a in after} == {new_kid}
        assert all(a["valid"] for a in after)
