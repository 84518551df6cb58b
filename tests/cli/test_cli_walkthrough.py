"""docs/walkthrough.md, run exactly as written: each `licensesvc` in its own process against a
fresh database (SQLite, or PostgreSQL under LICENSESVC_TEST_DATABASE_URL), with a real local
SMTP server (aiosmtpd) that the customer's mail reaches."""

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
from tests.smtp_helpers import SmtpServer, smtp_server_or_skip

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


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    server = smtp_server_or_skip()
    yield server
    server.stop()


@pytest.mark.slow
@pytest.mark.timeout(900)  # some 30 processes; minutes on a busy 2-core machine
def test_the_documented_walkthrough_runs_as_written(
    tmp_path: Path, database_url_for_walkthrough: str, smtp: SmtpServer
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
        **smtp.env,
    )
    result = subprocess.run(
        ["bash", str(script)], cwd=work, env=env, capture_output=True, text=True, timeout=840
    )
    transcript = result.stdout + result.stderr
    (work / "transcript.txt").write_text(transcript)  # kept for a look after a failure
    assert result.returncode == 0, transcript[-4000:]
    out = result.stdout

    # step 4: valid offline before the revocation
    assert re.search(r"^valid\nserial +SN-", out, re.M), out
    # step 5: the customer found by name
    assert re.search(r"^1 +Acme Logistics +na .*name starts with", out, re.M), out
    # step 6: refused with a case number, kept in refused.json
    case = json.loads((work / "refused.json").read_text())
    assert case["status"] == "refused" and case["refusal_code"] == "plan_not_eligible"
    assert "refused, exit status 1" in out
    assert f"refused: plan_not_eligible (case {case['case_number']})" in result.stderr
    # step 7: escalated, in the queue, and the update reached the customer's portal user
    assert re.search(rf"^{case['case_number']} +2 +Acme Logistics +.* alice ", out, re.M), out
    update = "Your request is with the support lead; an answer follows today."
    mails = [a for a in smtp.mailbox.arrivals if case["case_number"] in a.subject]
    assert [a.rcpt_tos for a in mails] == [["ops@acme.example"]], smtp.mailbox.arrivals
    assert update in mails[0].part("plain")
    assert re.search(rf"case_updated +Acme Logistics +case:{case['case_number']} +sent ", out)
    # step 8: granted with the reason in the audit trail
    granted = re.search(rf"^granted {case['case_number']}: key (SN-\S+) \(temporary", out, re.M)
    assert granted, out
    assert "case.updated" in out and "case.overridden" in out
    assert "approved by the support lead" in out
    # step 10: revoked offline through the revocation list
    assert re.search(r"^revoked: The license key SN-\S+ was revoked at ", out, re.M), out
    assert "not valid, exit status 1" in out
    # step 11: the report lists the temporary key
    assert re.search(rf"^{granted.group(1)} +temporary +", out, re.M), out
    # step 12
    assert re.search(r"^audit chain intact: \d+ records, head [0-9a-f]{64}$", out, re.M)
    assert (work / "acme.lic").read_text().startswith("-----BEGIN LICENSESVC LICENSE-----")
