"""scripts/deploy-local.sh follows docs/deployment.md on this machine (PostgreSQL, Redis, two
gunicorn app servers, nginx in front) and checks a key request, a verify, a rate-limit hit and
both servers' metrics; it must pass and leave nothing running."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from tests.e2e.e2e_helpers import ROOT

pytestmark = pytest.mark.e2e


def _require(tool: str) -> None:
    if shutil.which(tool) is None:
        message = f"{tool} is missing (bash scripts/ensure-services.sh installs it)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)


def _our_processes() -> set[str]:
    out = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout
    return {line for line in out.splitlines() if "lsvc-deploy." in line}


def test_deploy_local_script_passes_and_cleans_up() -> None:
    for tool in ("nginx", "redis-server", "curl", "pg_isready"):
        _require(tool)
    if subprocess.run(["pg_isready", "-q", "-h", "127.0.0.1", "-p", "5432"]).returncode != 0:
        message = "PostgreSQL is not running on 127.0.0.1:5432"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    run = subprocess.run(
        ["bash", "scripts/deploy-local.sh"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=280,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    for check in (
        "key request granted through nginx",
        "the new key verifies through nginx",
        "met the shared rate limit (429 rate_limited, Retry-After)",
        "1 replacement key",
        "all checks passed",
    ):
        assert check in run.stdout, run.stdout
    assert not _our_processes(), "deploy-local.sh left processes running"
