"""docs/cli.md shows every command with its output: each leaf command of the click tree has an
example in scripts/cli-docs.py, and the page is what that script writes today."""

from __future__ import annotations

import difflib
import importlib.util
import os
import sys
from pathlib import Path
from types import ModuleType

import pytest

REPO = Path(__file__).resolve().parents[2]
RERUN = "rerun `.venv/bin/python scripts/cli-docs.py`"


def cli_docs() -> ModuleType:
    """scripts/cli-docs.py as a module (its name has a dash)."""
    spec = importlib.util.spec_from_file_location("cli_docs", REPO / "scripts" / "cli-docs.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


def test_every_command_has_an_example_in_the_generator() -> None:
    docs = cli_docs()
    documented = docs.documented_commands()
    missing = [" ".join(c) for c in docs.leaf_commands() if c not in documented]
    assert not missing, "\n".join(
        f"`licensesvc {name}` has no example: add an ex(...) row for it to EXAMPLES in "
        f"scripts/cli-docs.py, then {RERUN}"
        for name in missing
    )


@pytest.mark.skipif(
    bool(os.environ.get("LICENSESVC_TEST_DATABASE_URL")),
    reason="the generator runs on its own fresh SQLite database; checked once, in the SQLite run",
)
def test_docs_cli_md_is_what_the_generator_writes() -> None:
    docs = cli_docs()
    page = docs.CLI_MD.read_text()
    written = docs.render(page, docs.play_story())
    diff = difflib.unified_diff(
        page.splitlines(), written.splitlines(), "docs/cli.md", "scripts/cli-docs.py", lineterm=""
    )
    assert written == page, f"docs/cli.md is out of date: {RERUN}\n" + "\n".join(list(diff)[:40])
