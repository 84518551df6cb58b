"""The setup steps a new analyst follows, run as written: docs/walkthrough.md's way of putting
the CLI on PATH finds the project's `licensesvc`, and the README's way of choosing the demo's
port is the one scripts/run-demo.sh reads."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def _block(doc: Path, name: str) -> str:
    text = doc.read_text()
    match = re.search(rf"<!-- {name}:begin -->\s*```sh\n(.*?)```\s*<!-- {name}:end -->", text, re.S)
    assert match, f"{doc.name} has no {name} block"
    return match.group(1)


def test_the_walkthrough_puts_the_projects_cli_on_path(tmp_path: Path) -> None:
    installed = REPO / ".venv" / "bin" / "licensesvc"
    if not installed.exists():
        pytest.skip("no .venv in this checkout (scripts/bootstrap.sh makes it)")
    bare = os.pathsep.join(p for p in os.environ["PATH"].split(os.pathsep) if ".venv" not in p)
    result = subprocess.run(
        ["bash", "-euc", _block(REPO / "docs" / "walkthrough.md", "cli-on-path")],
        cwd=REPO,
        env={"PATH": bare, "HOME": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert Path(result.stdout.strip()) == installed


def test_the_readme_sets_the_demos_port_the_way_run_demo_reads_it() -> None:
    block = _block(REPO / "README.md", "run-demo-port").strip()
    assert block == "PORT=8080 bash scripts/run-demo.sh"
    script = (REPO / "scripts" / "run-demo.sh").read_text()
    assert "port=${PORT:-}" in script  # the variable the README sets
    assert 'serve --host 127.0.0.1 --port "$port"' in script
    assert "8000" in script  # the default the README names
