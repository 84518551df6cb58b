"""POST /v1/keys/verify in front of Flask (licensesvc/fast_verify.py) answers exactly what
the Flask route answers: the same status, headers and body, byte for byte, for the same
request; and it leaves to the route everything it does not answer itself."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import EnvironBuilder

from licensesvc.fast_verify import FastVerify
from tests.conftest import FakeClock, World
from tests.licensesvc.api.api_helpers import Caller

Answer = tuple[str, list[tuple[str, str]], bytes]


def fast_layer(app: Flask) -> FastVerify:
    """The FastVerify among the app's WSGI layers."""
    layer: Any = app.wsgi_app
    while not isinstance(layer, FastVerify):
        layer = getattr(layer, "inner", None) or layer.app
    return layer


def environ(body: bytes, content_type: str = "application/json") -> dict[str, Any]:
    env: dict[str, Any] = EnvironBuilder(
        path="/v1/keys/verify",
        method="POST",
        data=body,
        content_type=content_type,
        headers=[("X-Request-ID", "fast-or-flask-1")],
    ).get_environ()
    return env


def call(wsgi: Any, body: bytes, content_type: str = "application/json") -> Answer | None:
    """status, headers and body of wsgi's answer to a verify with body; None if it gave
    none (the fast path leaving the request to Flask)."""
    started: list[Any] = []
    chunks = wsgi(
        environ(body, content_type), lambda status, headers: started.extend([status, headers])
    )
    if chunks is None:
        return None
    return started[0], list(started[1]), b"".join(chunks)


def both(app: Flask, body: bytes) -> tuple[Answer | None, Answer | None]:
    layer = fast_layer(app)
    return call(layer._answer, body), call(layer.inner, body)


def body_of(key: str, **extra: Any) -> bytes:
    return json.dumps({"key": key, **extra}).encode()


@pytest.fixture
def warmed(world: World, api_client: FlaskClient, app: Flask) -> Flask:
    """The app after one verify (a process's first one goes through Flask)."""
    api_client.post("/v1/keys/verify", json={"key": "warm-up"})
    return app


def test_the_fast_path_answers_byte_for_byte_what_the_route_answers(
    warmed: Flask,
    as_analyst: Caller,
    as_base: Caller,
    as_premium: Caller,
    world: World,
    clock: FakeClock,
) -> None:
    standard = as_analyst.issue("standard", license_id=world.base_license)
    temporary = as_premium.issue("temporary", reason="usage_spike")
    revoked = as_analyst.issue("standard", license_id=world.premium_license)
    as_analyst.revoke(revoked["serial"], "refund")
    prefix, payload, signature = standard["key"].split(".")
    tampered = f"{prefix}.{payload}.{'B' if signature[0] == 'A' else 'A'}{signature[1:]}"
    cases = {
        "valid": body_of(standard["key"]),
        "nonce, product and host echoed": body_of(
            temporary["key"], nonce="n-1", product="JAMS Scheduler", host="sched.example"
        ),
        "wrong product": body_of(standard["key"], product="Another Product"),
        "revoked": body_of(revoked["key"], nonce="n-2"),
        "unknown key text": body_of("LK1.not-a.key"),
        "tampered": body_of(tampered),
        "non-ASCII nonce": body_of(standard["key"], nonce="ñ-ü-€"),
    }
    answers = {name: both(warmed, body) for name, body in cases.items()}
    as_base.issue("replacement")  # supersedes the standard key, 14 days' overlap
    clock.advance(days=13)
    answers["superseded, in its overlap"] = both(warmed, body_of(standard["key"]))
    clock.advance(days=2)
    answers["superseded, overlap over"] = both(warmed, body_of(standard["key"]))
    clock.advance(days=200)
    answers["expired"] = both(warmed, body_of(temporary["key"]))

    for name, (fast, flask) in answers.items():
        assert fast is not None, f"{name}: the fast path left it to Flask"
        assert fast == flask, name
    codes = {name: json.loads(fast[2])["code"] for name, (fast, _) in answers.items() if fast}
    assert codes == {
        "valid": "valid",
        "nonce, product and host echoed": "wrong_host",
        "wrong product": "wrong_product",
        "revoked": "revoked",
        "unknown key text": "malformed",
        "tampered": "bad_signature",
        "non-ASCII nonce": "valid",
        "superseded, in its overlap": "valid",
        "superseded, overlap over": "superseded",
        "expired": "expired",
    }
    fast = answers["nonce, product and host echoed"][0]
    assert fast is not None
    headers = dict(fast[1])
    assert headers["X-Request-ID"] == "fast-or-flask-1"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Content-Type"] == "application/json"
    assert json.loads(fast[2])["nonce"] == "n-1"


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"{not json", "application/json"),
        (b'{"key": "LK1.x", "key": "LK1.y"}', "application/json"),
        (b"[]", "application/json"),
        (b"{}", "application/json"),
        (b'{"key": ""}', "application/json"),
        (b'{"key": 7}', "application/json"),
        (b'{"key": "LK1.x", "at": "2020-01-01"}', "application/json"),
        (b'{"key": "LK1.x", "nonce": null}', "application/json"),
        (b'{"key": "LK1.x", "nonce": "a\\nb"}', "application/json"),
        (json.dumps({"key": "LK1.x", "host": "h" * 201}).encode(), "application/json"),
        (b'{"key": "LK1.x"}', "text/plain"),
    ],
    ids=[
        "bad JSON",
        "duplicate member",
        "not an object",
        "missing key",
        "empty key",
        "key not a string",
        "unknown member",
        "null nonce",
        "control character",
        "host too long",
        "wrong content type",
    ],
)
def test_what_the_route_refuses_the_fast_path_leaves_to_it(
    warmed: Flask, api_client: FlaskClient, body: bytes, content_type: str
) -> None:
    assert call(fast_layer(warmed)._answer, body, content_type) is None
    r = api_client.post("/v1/keys/verify", data=body, content_type=content_type)
    assert r.status_code in (400, 415, 422), r.get_data(as_text=True)
    assert r.content_type == "application/problem+json"


def test_a_fast_answer_is_counted_and_logged_as_the_routes_are(
    world: World, warmed: Flask, api_client: FlaskClient, caplog: pytest.LogCaptureFixture
) -> None:
    # the world holds the signing key the answer is signed with
    with caplog.at_level(logging.INFO, logger="licensesvc.access"):
        fast = call(fast_layer(warmed)._answer, body_of("LK1.not-a.key"))
        api_client.post("/v1/keys/verify", data=b"{}", content_type="application/json")
    assert fast is not None
    lines = [r for r in caplog.records if r.name == "licensesvc.access"]
    assert [(r.getMessage(), vars(r)["endpoint"]) for r in lines] == [
        ("POST /v1/keys/verify 200", "public.Verify"),
        ("POST /v1/keys/verify 422", "public.Verify"),
    ]
    assert vars(lines[0])["request_id"] == "fast-or-flask-1"
    metrics = api_client.get("/metrics").get_data(as_text=True)
    assert (
        'licensesvc_http_requests_total{endpoint="public.Verify",method="POST",status="200"}'
        in metrics
    )
