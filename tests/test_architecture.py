"""The dependency direction of STYLE.md, checked: keys <- services <- (api, portal, cli)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def imported_modules(package: str) -> set[tuple[str, str]]:
    found = set()
    for path in (ROOT / package).rglob("*.py"):
        tree = ast.parse(path.read_text(), str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                found |= {(str(path.relative_to(ROOT)), a.name) for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                found.add((str(path.relative_to(ROOT)), node.module))
    return found


def offenders(package: str, forbidden: tuple[str, ...]) -> list[str]:
    return sorted(
        f"{where} imports {mod}"
        for where, mod in imported_modules(package)
        if mod.split(".")[0] in forbidden or any(mod.startswith(f + ".") for f in forbidden)
    )


def test_keys_imports_only_stdlib_and_cryptography():
    bad = [
        f"{where} imports {mod}"
        for where, mod in imported_modules("keys")
        if mod.split(".")[0] in ("licensesvc", "cli", "flask", "sqlalchemy", "marshmallow")
    ]
    assert bad == []


@pytest.mark.parametrize(
    "forbidden",
    [("flask", "flask_smorest", "werkzeug", "marshmallow"), ("licensesvc.api", "cli")],
)
def test_services_know_nothing_of_http_or_the_cli(forbidden):
    assert offenders("licensesvc/services", forbidden) == []


def test_models_do_not_reach_up_into_services():
    assert offenders("licensesvc/models", ("licensesvc.services", "licensesvc.api", "cli")) == []
