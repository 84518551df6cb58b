"""The dependency direction of STYLE.md, checked over every import (relative ones resolved,
imports inside functions and under TYPE_CHECKING included):

    keys <- licensesvc.{domain, models} <- licensesvc.services <- (licensesvc.api,
    licensesvc.portal, cli)

Each package of ours may import only what its allowlist names (plus the standard library), and
the module graph of keys/, licensesvc/ and cli/ has no cycle at run time."""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("keys", "licensesvc", "cli")
STDLIB = sys.stdlib_module_names

# Third-party distributions, by top-level import name, that each layer may use.
DATABASE = {"sqlalchemy", "alembic", "psycopg"}
WEB = {"flask", "flask_smorest", "werkzeug", "marshmallow", "webargs", "jinja2", "apispec"}
PORTAL_WEB = {"flask", "werkzeug", "flask_wtf", "wtforms", "jinja2", "markupsafe"}

#: (module prefix, what it may import: prefixes of our modules and third-party top levels).
#: The most specific prefix wins. Anything of ours not listed is forbidden.
ALLOWED: list[tuple[str, set[str]]] = [
    ("keys", {"keys", "cryptography"}),
    ("licensesvc.domain", set()),
    ("licensesvc.config", {"licensesvc.config", "cryptography"}),
    ("licensesvc.models", {"licensesvc.models", "licensesvc.domain", *DATABASE}),
    ("licensesvc.db", {"licensesvc.config", *DATABASE}),
    ("licensesvc.migrate", {"licensesvc.migrate", "licensesvc.config", "licensesvc.db", *DATABASE}),
    ("licensesvc.migrations", {"licensesvc.models", *DATABASE}),
    (
        "licensesvc.runtime",
        {"licensesvc.config", "licensesvc.db", "licensesvc.services", *DATABASE},
    ),
    (
        "licensesvc.services",
        {
            "keys",
            "licensesvc.services",
            "licensesvc.domain",
            "licensesvc.models",
            "licensesvc.config",
            "cryptography",
            "argon2",
            "holidays",
            *DATABASE,
        },
    ),
    (
        "licensesvc.web",
        {"licensesvc.runtime", "licensesvc.services", "licensesvc.config", "flask", *DATABASE},
    ),
    (
        "licensesvc.api",
        {
            "keys",
            "licensesvc.api",
            "licensesvc.web",
            "licensesvc.db",
            "licensesvc.services",
            "licensesvc.domain",
            "licensesvc.models",
            *WEB,
            *DATABASE,
        },
    ),
    (
        "licensesvc.portal",
        {
            "licensesvc.portal",
            "licensesvc.web",
            "licensesvc.ratelimit",  # the sign-in limits (hit_sign_in)
            "licensesvc.services",
            "licensesvc.domain",
            "licensesvc.models",
            *PORTAL_WEB,
            *DATABASE,
        },
    ),
    (
        "licensesvc.app",
        {
            "licensesvc.api",
            "licensesvc.portal",
            "licensesvc.web",
            "licensesvc.config",
            "licensesvc.db",
            "licensesvc.readiness",
            "licensesvc.security_headers",
            "licensesvc.observability",
            "licensesvc.ratelimit",
            "licensesvc.runtime",
            "flask",
            *DATABASE,
        },
    ),
    # start-up and readiness checks of the signing key (web plumbing beside licensesvc.web)
    (
        "licensesvc.readiness",
        {"licensesvc.web", "licensesvc.services", "licensesvc.config", "flask", *DATABASE},
    ),
    ("licensesvc.security_headers", {"flask", "werkzeug"}),
    # mail rendering and delivery for the outbox (`licensesvc notify send`)
    (
        "licensesvc.mail",
        {
            "licensesvc.mail",
            "licensesvc.runtime",
            "licensesvc.services",
            "licensesvc.config",
            "jinja2",
            "markupsafe",
            *DATABASE,
        },
    ),
    # the gunicorn configuration (`licensesvc serve`, `gunicorn -c python:licensesvc.gunicorn_conf`)
    (
        "licensesvc.gunicorn_conf",
        {"licensesvc.gunicorn_conf", "licensesvc.observability", "gunicorn"},
    ),
    # request ids, JSON logs and /metrics; counts keys and refusals from committed sessions
    (
        "licensesvc.observability",
        {
            "licensesvc.runtime",
            "licensesvc.models",
            "licensesvc.domain",
            "flask",
            "werkzeug",
            "prometheus_client",
            *DATABASE,
        },
    ),
    # rate limits by endpoint (API) and for the portal's sign-in; 429 as problem+json
    (
        "licensesvc.ratelimit",
        {
            "licensesvc.api.problems",
            "licensesvc.observability",
            "licensesvc.web",
            "flask",
            "werkzeug",
            "limits",
        },
    ),
    # licensesvc/__init__.py (create_app, lazily); a new top-level module starts here too
    ("licensesvc", {"licensesvc.app", "licensesvc.config", "flask"}),
    (
        "cli.offline_verify",  # the installer-side verifier: keys and the stdlib only
        {"cli.offline_verify", "keys"},
    ),
    (
        "cli",
        {
            "cli",
            "keys",
            "licensesvc.services",
            "licensesvc.domain",
            "licensesvc.models",
            "licensesvc.config",
            "licensesvc.runtime",
            "licensesvc.migrate",
            "licensesvc.app",  # `licensesvc serve` runs the app
            "licensesvc.mail",
            "licensesvc.gunicorn_conf",
            "click",
            "gunicorn",
            *DATABASE,
        },
    ),
]


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def source_files() -> Iterator[Path]:
    for package in PACKAGES:
        yield from sorted((ROOT / package).rglob("*.py"))


def _nodes(tree: ast.AST, *, runtime_only: bool) -> Iterator[ast.AST]:
    """Every node, without the bodies of `if TYPE_CHECKING:` when runtime_only."""
    for node in ast.iter_child_nodes(tree):
        if (
            runtime_only
            and isinstance(node, ast.If)
            and isinstance(node.test, ast.Name)
            and node.test.id == "TYPE_CHECKING"
        ):
            continue
        yield node
        yield from _nodes(node, runtime_only=runtime_only)


def imports_of(path: Path, *, runtime_only: bool = False) -> set[str]:
    """Every module path imports, relative imports resolved to absolute names. `from a import
    b` yields `a.b` when that is a module of ours, else `a`."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in _nodes(ast.parse(path.read_text(), str(path)), runtime_only=runtime_only):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                prefix = ".".join(base + ([node.module] if node.module else []))
            else:
                prefix = node.module or ""
            for alias in node.names:
                candidate = f"{prefix}.{alias.name}"
                found.add(candidate if candidate in OUR_MODULES else prefix)
    return found


OUR_MODULES = {module_name(p) for p in source_files()}
GRAPH = {module_name(p): imports_of(p) for p in source_files()}
#: what runs on import (annotations-only imports under TYPE_CHECKING cannot form a cycle)
RUNTIME_GRAPH = {module_name(p): imports_of(p, runtime_only=True) for p in source_files()}


def is_ours(module: str) -> bool:
    return module.split(".")[0] in PACKAGES


def covers(prefix: str, module: str) -> bool:
    return module == prefix or module.startswith(prefix + ".")


def allowlist_of(module: str) -> set[str]:
    matching = [(p, allowed) for p, allowed in ALLOWED if covers(p, module)]
    assert matching, f"{module} is in no layer of ALLOWED"
    return max(matching, key=lambda pair: len(pair[0]))[1]


def permitted(importer: str, imported: str) -> bool:
    top = imported.split(".")[0]
    if not is_ours(imported) and top in STDLIB:
        return True
    return any(
        covers(p, imported) if is_ours(imported) else p == top for p in allowlist_of(importer)
    )


def violations() -> list[str]:
    return sorted(
        f"{importer} imports {imported}"
        for importer, imported_set in GRAPH.items()
        for imported in imported_set
        if not permitted(importer, imported)
    )


def test_every_import_is_on_its_layers_allowlist() -> None:
    assert violations() == []


@pytest.mark.parametrize(
    ("importer", "imported"),
    [
        ("licensesvc.api.key_views", "cli.commands.issued_keys"),
        ("cli.commands.cases", "licensesvc.api.schemas"),
        ("licensesvc.issuance.key_requests", "flask"),
        ("licensesvc.issuance.key_requests", "marshmallow"),
        ("licensesvc.issuance.key_requests", "werkzeug"),
        ("licensesvc.issuance.key_requests", "licensesvc.api.problems"),
        ("licensesvc.issuance.key_requests", "licensesvc.web"),
        ("keys.license", "licensesvc.issuance.signing"),
        ("keys.license", "sqlalchemy"),
        ("licensesvc.portal.views", "cli.main"),
        ("licensesvc.portal.views", "licensesvc.api.schemas"),
        ("licensesvc.models.entities", "licensesvc.platform.audit"),
        ("cli.offline_verify", "sqlalchemy"),
    ],
)
def test_the_forbidden_directions_are_refused(importer: str, imported: str) -> None:
    # the allowlist itself says no to each direction STYLE.md forbids
    assert not permitted(importer, imported)


@pytest.mark.parametrize(
    ("importer", "imported"),
    [
        ("licensesvc.portal.views", "licensesvc.web"),
        ("licensesvc.portal.views", "licensesvc.issuance.key_requests"),
        ("licensesvc.api.key_views", "licensesvc.web"),
        ("cli.commands.cases", "licensesvc.issuance.key_requests"),
    ],
)
def test_the_front_ends_may_use_the_services_and_web_plumbing(importer: str, imported: str) -> None:
    assert permitted(importer, imported)


def relative_imports_are_resolved() -> bool:
    return "licensesvc.domain.policy" in GRAPH["licensesvc.issuance.key_requests"]


def test_relative_imports_count() -> None:
    assert relative_imports_are_resolved()


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """A cycle among our modules as [a, b, ..., a], or None (depth-first search: a module met
    again while still on the current path closes a cycle)."""
    edges = {m: {i for i in imported if i in graph and i != m} for m, imported in graph.items()}
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(m: str) -> list[str] | None:
        state[m] = 1
        path.append(m)
        for n in sorted(edges[m]):
            if state.get(n) == 1:
                return path[path.index(n) :] + [n]
            if n not in state and (cycle := visit(n)):
                return cycle
        path.pop()
        state[m] = 2
        return None

    for m in sorted(edges):
        if m not in state and (cycle := visit(m)):
            return cycle
    return None


def test_there_is_no_import_cycle() -> None:
    # function-level (deferred) imports count: they run, just later
    assert find_cycle(RUNTIME_GRAPH) is None


def test_the_cycle_finder_finds_a_cycle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert find_cycle(graph) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None
