"""docs/walkthrough.md, run exactly as written: each `licensesvc` in its own process against a
fresh database (SQLite, or PostgreSQL under LICENSESVC_TEST_DATABASE_URL)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import fresh_database_url

REPO = Path(__file__).resolve().parents[2]
WALKTHROUGH = REPO / "docs" / "walkthrough.md"


def walkthrough_script() -> str:
    text = WALKTHROUGH.read_text()
    match = re.search(
        r"<!-- walkthrough:begin -->\s*```sh\n(.*?)```\s*<!-- walkthrough:end -->", text, re.S
    )
    assert match, "docs/walkthrough.md lost its walkthrough block"
    return match.group(1)


@pytest.fixture
def database_url_for_walkthrough(tmp_path: Path) -> Iterator[str]:
    yield from fresh_database_url(tmp_path, "walk")


@pytest.mark.slow
def test_the_documented_walkthrough_runs_as_written(
    tmp_path: Path, database_url_for_walkthrough: str
) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    shim = bin_dir / "licensesvc"  # what `pip install .` puts on PATH, for this checkout
    shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m cli.main "$@"\n')
    shim.chmod(0o755)
    work = tmp_path / "work"
    work.mkdir()
    script = work / "walkthrough.sh"
    script.write_text("set -euo pipefail\n" + walkthrough_script())
    env = {k: v for k, v in os.environ.items() if not k.startswith("LICENSESVC_")}
    env.update(
        PATH=f"{bin_dir}{os.pathsep}{env['PATH']}",
        PYTHONPATH=str(REPO),
        LICENSESVC_DATABASE_URL=database_url_for_walkthrough,
        LICENSESVC_SECRET_KEY="walkthrough-secret",
        LICENSESVC_SIGNING_KEY_PASSPHRASE="walkthrough-passphrase",
        LICENSESVC_DATA_DIR=str(work / "var"),
        LICENSESVC_ANALYST="alice",
    )
    result = subprocess.run(
        ["bash", str(script)], cwd=work, env=env, capture_output=True, text=True, timeout=240
    )
    transcript = result.stdout + result.stderr
    assert result.returncode == 0, transcript[-4000:]
    out = result.stdout

    # step 4: valid offline before the revocation
    assert re.search(r"^valid\nserial +SN-", out, re.M), out
    # step 5: refused with a case number, kept in refused.json
    refused = json.loads((work / "refused.json").read_text())
    assert refused["status"] == "refused" and refused["refusal_code"] == "plan_not_eligible"
    assert "refused, exit status 1" in out
    assert f"refused: plan_not_eligible (case {refused['case_number']})" in result.stderr
    # step 6: escalated, listed, granted with the reason in the audit trail
    assert re.search(rf"^{refused['case_number']} +[1-4] ", out, re.M), out
    assert f"granted {refused['case_number']}: key SN-" in out
    assert "case.overridden" in out and "approved by the support lead" in out
    # step 8: revoked offline through the revocation list
    assert re.search(r"^revoked: The license key SN-\S+ was revoked at ", out, re.M), out
    assert "not valid, exit status 1" in out
    # step 9
    assert re.search(r"^audit chain intact: \d+ records, head [0-9a-f]{64}$", out, re.M)
    assert (work / "acme.lic").read_text().startswith("-----BEGIN LICENSESVC LICENSE-----")
