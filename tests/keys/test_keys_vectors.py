"""The committed cross-language vectors verify as expected, in Python and in JavaScript."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
from typing import Any

import pytest
from keys_helpers import IN_CI, REPO_ROOT, VECTORS, run_vector

import keys

VECTOR_LIST: list[dict[str, Any]] = json.loads(VECTORS.read_text(encoding="utf-8"))


@pytest.mark.parametrize("vector", VECTOR_LIST, ids=[v["name"] for v in VECTOR_LIST])
def test_vector_verifies_as_expected_in_python(vector: dict[str, Any]) -> None:
    code, claims = run_vector(vector)
    assert code == vector["expect"]
    if code == "valid":
        assert claims is not None and claims.to_dict() == vector["claims"]


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
    assert module.render() == VECTORS.read_text(encoding="utf-8"), (
        "tests/vectors/keys.json is out of date: run tests/vectors/make_vectors.py"
    )


def test_javascript_verifier_written_from_the_spec_agrees_on_every_vector() -> None:
    node = shutil.which("node")
    if node is None:
        if IN_CI:
            pytest.fail("node is required in CI to run examples/verify-js")
        pytest.skip("node is not installed; the JavaScript verifier was not run")
    result = subprocess.run(
        [node, "examples/verify-js/run-vectors.js", "tests/vectors/keys.json"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{len(VECTOR_LIST)} passed, 0 failed" in result.stdout
