"""Refreshing a key again and again over real HTTP (gunicorn): each replacement on the same
host ends the overlap the newer keys make redundant, so a license keeps two usable keys (the
new one and the one it superseded), however often the customer refreshes; the older keys
verify as superseded, and the revocation list and cascade say so as they do for a move. A move
in progress keeps the old server's overlap through later refreshes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

import keys
from tests.e2e.e2e_helpers import Server, call, e2e_settings, gunicorn, issue_standard_key, prepare

pytestmark = pytest.mark.e2e

CUSTOMERS = [("Acme", "base", "na", -30, 335, 335)]
REFRESHES = 6


def verify(server: Server, key_text: str) -> dict[str, Any]:
    r = call(server, "POST", "/v1/keys/verify", json={"key": key_text})
    assert r.status_code == 200, r.text
    answer: dict[str, Any] = r.json()
    return answer


def replacement(server: Server, token: str, lic: int, host: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"license_id": lic, "kind": "replacement"}
    if host is not None:
        body["host"] = host
    r = call(server, "POST", "/v1/key-requests", token, json=body)
    assert r.status_code == 201, r.text
    key: dict[str, Any] = r.json()["key"]
    return key


def test_refreshes_keep_two_usable_keys_and_list_the_older_ones(
    e2e_database_url: str, tmp_path: Path
) -> None:
    settings = e2e_settings(e2e_database_url, tmp_path)
    data = prepare(settings, CUSTOMERS)
    token, lic = data.token["Acme"], data.license["Acme"]
    issue_standard_key(settings, lic)
    with gunicorn(e2e_database_url, tmp_path, workers=1) as server:
        (standard,) = call(server, "GET", "/v1/keys", token).json()
        texts = {standard["serial"]: standard["key"]}
        trusted = keys.public_keys_from_pem(
            "".join(k["public_key_pem"] for k in call(server, "GET", "/v1/signing-keys").json())
        )
        base = call(server, "GET", "/v1/revocations/cascade")
        assert base.status_code == 200, base.text
        generation = int(base.headers["X-Cascade-Generation"])
        for _ in range(REFRESHES):
            key = replacement(server, token, lic)
            texts[key["serial"]] = key["key"]
        serials = list(texts)
        *older, superseded, current = serials

        answers = {s: verify(server, text) for s, text in texts.items()}
        assert (answers[current]["valid"], answers[current]["status"]) == (True, "active")
        # the key the current one superseded runs through its overlap
        assert (answers[superseded]["valid"], answers[superseded]["status"]) == (
            True,
            "superseded",
        )
        # every older one: its overlap ended when a newer refresh made it redundant
        assert len(older) == REFRESHES - 1
        for serial in older:
            got = answers[serial]
            assert (got["valid"], got["code"], got["status"]) == (
                False,
                "superseded",
                "superseded",
            ), serial

        listed = {k["serial"]: k for k in call(server, "GET", "/v1/keys", token).json()}
        assert listed[current]["status"] == "active"
        assert all(listed[s]["status"] == "superseded" for s in [*older, superseded])
        ends = sorted(listed[s]["usable_until"] for s in older)
        assert ends[-1] < listed[superseded]["usable_until"]

        # the signed revocation list: the older keys refused offline (past the clock skew an
        # installer allows, as for any overlap's end), the two others accepted
        later = datetime.now(UTC) + keys.CLOCK_SKEW + timedelta(seconds=5)
        revocations = keys.verify_revocation_list(
            call(server, "GET", "/v1/revocations").content, trusted, at=later
        )
        for serial in older:
            with pytest.raises(keys.Revoked, match="overlap ended"):
                keys.verify(texts[serial], trusted, at=later, revocations=revocations)
        keys.verify(texts[superseded], trusted, at=later, revocations=revocations)
        keys.verify(texts[current], trusted, at=later, revocations=revocations)
        # the cascade: a delta of the base built before the refreshes carries the same
        delta = call(server, "GET", f"/v1/revocations/cascade/delta?since={generation}")
        assert delta.status_code == 200, delta.text
        cascade = keys.verify_revocation_cascade(
            base.content, trusted, deltas=[delta.content], at=later
        )
        for serial in older:
            with pytest.raises(keys.Revoked, match="overlap ended"):
                keys.verify(texts[serial], trusted, at=later, revocations=cascade)

        # a move, then refreshes on the new host: the old server keeps its overlap throughout
        moved = replacement(server, token, lic, host="new.acme.example")
        texts[moved["serial"]] = moved["key"]
        for _ in range(3):
            key = replacement(server, token, lic)
            texts[key["serial"]] = key["key"]
        usable = [s for s, text in texts.items() if verify(server, text)["valid"]]
        assert usable == [current, *list(texts)[-2:]]
        on_old_host = call(
            server,
            "POST",
            "/v1/keys/verify",
            json={"key": texts[current], "host": "sched.acme.example"},
        ).json()
        assert (on_old_host["valid"], on_old_host["status"]) == (True, "superseded")
