"""The committed cross-language vectors verify as expected, in Python and in JavaScript."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
from typing import Any

import pytest

import keys
from tests.keys.keys_helpers import (
    IN_CI,
    LIST_VECTORS,
    REPO_ROOT,
    ROTATION_VECTORS,
    VECTORS,
    run_list_vector,
    run_rotation_vector,
    run_vector,
)

VECTOR_LIST: list[dict[str, Any]] = json.loads(VECTORS.read_text(encoding="utf-8"))
LIST_VECTOR_LIST: list[dict[str, Any]] = json.loads(LIST_VECTORS.read_text(encoding="utf-8"))
ROTATION_VECTOR_LIST: list[dict[str, Any]] = json.loads(
    ROTATION_VECTORS.read_text(encoding="utf-8")
)
ALL_FILES = [VECTORS, LIST_VECTORS, ROTATION_VECTORS]
ALL_COUNT = len(VECTOR_LIST) + len(LIST_VECTOR_LIST) + len(ROTATION_VECTOR_LIST)


@pytest.mark.parametrize("vector", VECTOR_LIST, ids=[v["name"] for v in VECTOR_LIST])
def test_vector_verifies_as_expected_in_python(vector: dict[str, Any]) -> None:
    code, claims = run_vector(vector)
    assert code == vector["expect"]
    if code == "valid":
        assert claims is not None and claims.to_dict() == vector["claims"]


@pytest.mark.parametrize("vector", LIST_VECTOR_LIST, ids=[v["name"] for v in LIST_VECTOR_LIST])
def test_revocation_list_vector_verifies_as_expected_in_python(vector: dict[str, Any]) -> None:
    code, rl = run_list_vector(vector)
    assert code == vector["expect"]
    if code == "valid":
        assert rl is not None and [e.to_dict() for e in rl.entries] == vector["entries"]
        assert rl.sequence == vector.get("sequence", 0)


@pytest.mark.parametrize(
    "vector", ROTATION_VECTOR_LIST, ids=[v["name"] for v in ROTATION_VECTOR_LIST]
)
def test_rotation_vector_is_followed_as_expected_in_python(vector: dict[str, Any]) -> None:
    code, new_key = run_rotation_vector(vector)
    assert code == vector["expect"]
    if code == "valid":
        assert new_key is not None and new_key.to_pem() == vector["new_public_key_pem"]


def test_list_and_rotation_vectors_cover_their_codes_and_malformed_inputs() -> None:
    list_codes = {vector["expect"] for vector in LIST_VECTOR_LIST}
    assert list_codes == {
        "valid",
        "malformed",
        "bad_signature",
        "unknown_key_id",
        "stale_revocation_list",
    }
    rotation_codes = {vector["expect"] for vector in ROTATION_VECTOR_LIST}
    assert rotation_codes == {"valid", "malformed", "bad_signature", "unknown_key_id"}
    assert sum("small order" in v["name"] for v in ROTATION_VECTOR_LIST) >= 8
    assert any(
        len(v["revocation_list"]) > 32768 for v in LIST_VECTOR_LIST if v["expect"] == "valid"
    )


def test_vectors_cover_every_code_both_forms_and_a_rotated_kid() -> None:
    expected = {vector["expect"] for vector in VECTOR_LIST}
    assert expected == {"valid", *keys.ERROR_CODES}
    assert any(v["key"].lstrip().startswith("-----BEGIN") for v in VECTOR_LIST)
    assert any("also_trusted_pems" in v and v["expect"] == "valid" for v in VECTOR_LIST)


def test_committed_vectors_match_the_generator() -> None:
    spec = importlib.util.spec_from_file_location(
        "make_vectors", REPO_ROOT / "tests" / "vectors" / "make_vectors.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    rendered = module.render_all()
    assert sorted(rendered) == sorted(ALL_FILES)
    for path, text in rendered.items():
        assert text == path.read_text(encoding="utf-8"), (
            f"tests/vectors/{path.name} is out of date: run tests/vectors/make_vectors.py"
        )


def test_javascript_verifier_written_from_the_spec_agrees_on_every_vector() -> None:
    node = shutil.which("node")
    if node is None:
        if IN_CI:
            pytest.fail("node is required in CI to run examples/verify-js")
        pytest.skip("node is not installed; the JavaScript verifier was not run")
    result = subprocess.run(
        [node, "examples/verify-js/run-vectors.js", *(str(path) for path in ALL_FILES)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{ALL_COUNT} passed, 0 failed" in result.stdout
