"""The JavaScript verifier's command line (examples/verify-js/verify-file.js) as an installer
uses it: it takes --host and --product like `licensesvc verify`, and its refusals say the
dates, hosts and products involved in the same words as the Python verifier's."""

from __future__ import annotations

import os
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest

import keys
from cli import offline_verify
from tests.keys.keys_helpers import IN_CI, REPO_ROOT, VENDOR, make_claims

EXPIRES = datetime(2025, 12, 31, 23, 59, 59, tzinfo=UTC)


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    key = tmp_path / "acme.key"
    key.write_text(keys.sign_key(make_claims(expires_at=EXPIRES), VENDOR) + "\n")
    pem = tmp_path / "vendor.pem"
    pem.write_text(VENDOR.public_key.to_pem())
    return key, pem


def _node(*args: str) -> subprocess.CompletedProcess[str]:
    node = shutil.which("node")
    if node is None:
        if IN_CI:
            pytest.fail("node is required in CI to run examples/verify-js")
        pytest.skip("node is not installed; the JavaScript verifier was not run")
    return subprocess.run(
        [node, "examples/verify-js/verify-file.js", *args],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ},
    )


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        (
            ["--at", "2026-02-01T00:00:00Z"],
            "expired: The license key expired at 2025-12-31T23:59:59Z.",
        ),
        (
            ["--at", "2024-06-01T00:00:00Z"],
            "not_yet_valid: The license key is not valid before 2025-01-01T00:00:00Z.",
        ),
        (
            ["--at", "2025-06-01T00:00:00Z", "--host", "other.acme.example"],
            "wrong_host: The license key is bound to sched.acme.example or dr.acme.example, "
            "not other.acme.example.",
        ),
        (
            ["--at", "2025-06-01T00:00:00Z", "--product", "reports"],
            "wrong_product: The license key is for 'scheduler', not 'reports'.",
        ),
    ],
)
def test_the_js_command_line_refuses_in_the_python_verifiers_words(
    files: tuple[Path, Path],
    capsys: pytest.CaptureFixture[str],
    options: list[str],
    expected: str,
) -> None:
    key, pem = files
    args = [str(key), "--public-key", str(pem), *options]
    node = _node(*args)
    assert node.returncode == 1, node.stderr
    assert node.stdout.splitlines()[0] == expected
    assert offline_verify.run(args) == 1
    assert capsys.readouterr().out.splitlines()[0] == expected


def test_the_js_command_line_accepts_the_right_host_and_product(
    files: tuple[Path, Path],
) -> None:
    key, pem = files
    node = _node(
        str(key),
        "--public-key",
        str(pem),
        "--at",
        "2025-06-01T00:00:00Z",
        "--host",
        "DR.acme.example",  # the failover host, ASCII case-insensitive
        "--product",
        "scheduler",
    )
    assert node.returncode == 0, node.stdout + node.stderr
    assert node.stdout.splitlines()[0] == "valid"
