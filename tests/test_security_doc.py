"""docs/security.md names real tests: every `file::test` (or `::test`, of the file named before
it in the same cell) in its table exists under tests/."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
REFERENCE = re.compile(r"`([\w/]*\.py)?::(\w+)`")


def referenced_tests() -> list[tuple[str, str]]:
    found = []
    for line in (REPO / "docs" / "security.md").read_text().splitlines():
        if not line.startswith("|") or line.startswith("|---"):
            continue
        cell = line.rstrip("|").rsplit("|", 1)[-1]
        current = None
        for file, name in REFERENCE.findall(cell):
            current = file or current
            assert current, f"`::{name}` names no file before it: {line[:60]}"
            found.append((current, name))
    return found


def test_every_test_the_security_table_names_exists() -> None:
    references = referenced_tests()
    assert len(references) >= 20
    missing = [
        f"{file}::{name}"
        for file, name in references
        if not re.search(rf"^def {name}\(", (REPO / "tests" / file).read_text(), flags=re.MULTILINE)
    ]
    assert missing == []
