"""`keys` has one exception root, and a verifier built once around its trusted keys (as
sigstore-python's `Verifier`), with `keys.verify` the simple call through it."""

from __future__ import annotations

import inspect
import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

import keys
import keys.errors
import keys.license
from tests.keys.keys_helpers import NOW, STRANGER, VECTORS, VENDOR, make_claims, run_vector

VECTOR_LIST: list[dict[str, Any]] = json.loads(VECTORS.read_text(encoding="utf-8"))


def test_every_exception_of_keys_derives_from_one_root() -> None:
    classes = [
        obj
        for _, obj in inspect.getmembers(keys.errors, inspect.isclass)
        if issubclass(obj, BaseException)
    ]
    assert len(classes) >= 15
    assert all(issubclass(cls, keys.KeysError) for cls in classes), classes
    for name in keys.__all__:
        obj = getattr(keys, name)
        if inspect.isclass(obj) and issubclass(obj, BaseException):
            assert issubclass(obj, keys.KeysError), name
    # "this key is bad" apart from "you configured or called me wrong"
    assert not issubclass(keys.KeyConfigurationError, keys.LicenseKeyError)
    assert not issubclass(keys.InvalidValue, keys.LicenseKeyError)
    assert issubclass(keys.InvalidValue, ValueError)  # what callers caught before


def _raised(call: Any) -> BaseException:
    with pytest.raises(Exception) as caught:
        call()
    return caught.value


@pytest.mark.parametrize(
    ("what", "call", "family"),
    [
        ("a naive `at`", lambda: keys.verify("LK1.x", [], at=datetime(2025, 1, 1)), "value"),
        ("an unknown kind", lambda: make_claims(kind="nonsense"), "value"),
        ("a host with a newline", lambda: make_claims(host="sched\n"), "value"),
        ("PEM text as trusted keys", lambda: keys.Verifier("-----BEGIN"), "configuration"),  # type: ignore[arg-type]
        ("an unknown revocation status", lambda: keys.RevokedEntry("S", "x", NOW, "x"), "value"),
        ("an anchor without a secret", lambda: keys.TimeAnchor(Path("a"), b""), "value"),
        ("a malformed key", lambda: keys.verify("LK1.x", [VENDOR.public_key]), "key"),
        (
            "a stranger's key",
            lambda: keys.verify(
                keys.sign_key(make_claims(), STRANGER), [VENDOR.public_key], at=NOW
            ),
            "key",
        ),
    ],
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_whatever_goes_wrong_is_a_keys_error_of_its_family(
    what: str, call: Any, family: str
) -> None:
    raised = _raised(call)
    assert isinstance(raised, keys.KeysError), (what, type(raised))
    expected = {
        "value": keys.InvalidValue,
        "configuration": keys.KeyConfigurationError,
        "key": keys.LicenseKeyError,
    }[family]
    assert isinstance(raised, expected), (what, type(raised))


@pytest.mark.parametrize("vector", VECTOR_LIST, ids=[v["name"] for v in VECTOR_LIST])
def test_a_verifier_answers_every_vector_as_keys_verify_does(vector: dict[str, Any]) -> None:
    code, claims = run_vector(vector, through_verifier=True)
    assert code == vector["expect"]
    if code == "valid":
        assert claims is not None and claims.to_dict() == vector["claims"]


def test_a_verifier_checks_its_trusted_keys_once_and_verifies_many(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    indexed: list[object] = []
    real = keys.license.trusted_by_kid  # type: ignore[attr-defined]

    def counting(trusted: object) -> object:
        indexed.append(trusted)
        return real(trusted)  # type: ignore[arg-type]

    monkeypatch.setattr(keys.license, "trusted_by_kid", counting)
    verifier = keys.Verifier([VENDOR.public_key])
    assert verifier.trusted_kids == {VENDOR.kid}
    good = keys.sign_key(make_claims(expires_at=NOW + timedelta(days=30)), VENDOR)
    other_host = keys.sign_key(make_claims(serial="K-0002", host="other.example"), VENDOR)
    stranger = keys.sign_key(make_claims(serial="K-0003"), STRANGER)
    assert verifier.verify(good, at=NOW, host="SCHED.acme.example").serial == "K-0001"
    assert verifier.verify(keys.license_file(good), at=NOW, product="scheduler").host == (
        "sched.acme.example"
    )
    with pytest.raises(keys.WrongHost):
        verifier.verify(other_host, at=NOW, host="sched.acme.example")
    with pytest.raises(keys.UnknownKeyId):
        verifier.verify(stranger, at=NOW)
    with pytest.raises(keys.Expired):
        verifier.verify(good, at=NOW + timedelta(days=31))
    assert len(indexed) == 1  # once, when the verifier was made
    # the simple call is the same routine, with a verifier made for the one key
    assert keys.verify(good, [VENDOR.public_key], at=NOW) == verifier.verify(good, at=NOW)
