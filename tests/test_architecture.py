"""The dependency direction of STYLE.md, checked over every import (relative ones resolved,
imports inside functions and under TYPE_CHECKING included):

    keys <- licensesvc.config <- licensesvc.domain <- licensesvc.models <- licensesvc.platform
    <- licensesvc.readmodels <- accounts <- transparency <- issuance <- cases <- identity
    <- outreach
    <- licensesvc.demo <- licensesvc.presentation <- (licensesvc.api, licensesvc.portal, cli)

Each module of ours may import only what its layer's allowlist names (plus the standard
library); outside a domain package only its façade (the package itself) may be imported, never
one of its modules; and the module graph of keys/, licensesvc/ and cli/, with each module's
packages and its type-only imports counted, has no cycle."""

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

#: The domain packages, in their one acyclic order: each may use the façades (the package
#: itself, never its modules) of those before it, nothing after it.
DOMAIN_PACKAGES = ("accounts", "transparency", "issuance", "cases", "identity", "outreach")
FACADES = {f"licensesvc.{name}" for name in DOMAIN_PACKAGES}
#: what every domain package builds on
DOMAIN_BASE = {
    "keys",
    "licensesvc.domain",
    "licensesvc.models",
    "licensesvc.platform",
    "licensesvc.readmodels",
    "licensesvc.config",
    "cryptography",
    *DATABASE,
}
#: what a front end (API, portal, CLI) may use of the service side: the façades, the read
#: models and their presentation, the domain's vocabularies and rules, the platform's plumbing
FRONT_END_SERVICES = {
    *FACADES,
    "licensesvc.readmodels",
    "licensesvc.presentation",
    "licensesvc.domain",
    "licensesvc.platform",
}


def _domain_layer(index: int) -> tuple[str, set[str]]:
    name = DOMAIN_PACKAGES[index]
    earlier = {f"licensesvc.{n}" for n in DOMAIN_PACKAGES[:index]}
    # argon2: portal passwords; filtercascade: the revocation cascade's builder
    extra = {"identity": {"argon2"}, "issuance": {"filtercascade"}}.get(name, set())
    return f"licensesvc.{name}", {f"licensesvc.{name}", *earlier, *DOMAIN_BASE, *extra}


#: (module prefix, what it may import: prefixes of our modules and third-party top levels).
#: The most specific prefix wins. Anything of ours not listed is forbidden.
ALLOWED: list[tuple[str, set[str]]] = [
    ("keys", {"keys", "cryptography"}),
    ("licensesvc.config", {"licensesvc.config", "cryptography"}),
    # pure rules: the models' types only under TYPE_CHECKING (test_the_domain_reads_no_database)
    (
        "licensesvc.domain",
        {"licensesvc.domain", "licensesvc.config", "licensesvc.models", "holidays"},
    ),
    ("licensesvc.models", {"licensesvc.models", "licensesvc.domain", *DATABASE}),
    ("licensesvc.db", {"licensesvc.config", *DATABASE}),
    ("licensesvc.migrate", {"licensesvc.migrate", "licensesvc.config", "licensesvc.db", *DATABASE}),
    # a migration that seals stored secrets (0018) uses the platform's pure sealing functions
    (
        "licensesvc.migrations",
        {"licensesvc.models", "licensesvc.platform.sealed", *DATABASE},
    ),
    (
        "licensesvc.platform",
        {
            "licensesvc.platform",
            "licensesvc.domain",
            "licensesvc.models",
            "licensesvc.config",
            *DATABASE,
        },
    ),
    # secrets the service reads back, sealed at rest (webhook signing secrets)
    ("licensesvc.platform.sealed", {"cryptography"}),
    # the PKCS#8 envelope of stored private keys (signing keys, log keys)
    (
        "licensesvc.platform.key_envelopes",
        {"licensesvc.platform.key_envelopes", "cryptography"},
    ),
    (
        "licensesvc.readmodels",
        {"keys", "licensesvc.readmodels", "licensesvc.domain", "licensesvc.models", *DATABASE},
    ),
    *(_domain_layer(i) for i in range(len(DOMAIN_PACKAGES))),
    # one schema per read model and the labels of every word: read models in, JSON and words out
    (
        "licensesvc.presentation",
        {
            "licensesvc.presentation",
            "licensesvc.readmodels",
            "licensesvc.domain",
            "keys",
            "marshmallow",
        },
    ),
    ("licensesvc.demo", {*FACADES, *DOMAIN_BASE}),
    (
        "cli.commands.demo",
        {"cli", "licensesvc.demo", *FRONT_END_SERVICES, "licensesvc.config", "click"},
    ),
    (
        "licensesvc.runtime",
        {"licensesvc.config", "licensesvc.db", "licensesvc.platform", *DATABASE},
    ),
    (
        "licensesvc.web",
        {"licensesvc.runtime", "licensesvc.platform", "licensesvc.config", "flask", *DATABASE},
    ),
    (
        "licensesvc.api",
        {
            "keys",
            "licensesvc.api",
            "licensesvc.web",
            "licensesvc.db",
            *FRONT_END_SERVICES,
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
            *FRONT_END_SERVICES,
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
            "licensesvc.log_integrator",
            "licensesvc.fast_verify",
            "flask",
            *DATABASE,
        },
    ),
    # POST /v1/keys/verify in front of Flask: the route's parts (the API's schema and actor,
    # the issuance façade) and the hooks' (rate limit, log and metrics, security headers)
    (
        "licensesvc.fast_verify",
        {
            "licensesvc.api",
            "licensesvc.web",
            "licensesvc.db",
            "licensesvc.runtime",
            "licensesvc.observability",
            "licensesvc.ratelimit",
            "licensesvc.security_headers",
            *FRONT_END_SERVICES,
            *WEB,
            *DATABASE,
        },
    ),
    # start-up and readiness checks of the signing key (web plumbing beside licensesvc.web)
    (
        "licensesvc.readiness",
        {"licensesvc.web", *FRONT_END_SERVICES, "licensesvc.config", "flask", *DATABASE},
    ),
    ("licensesvc.security_headers", {"flask", "werkzeug"}),
    # mail rendering and delivery for the outbox (`licensesvc notify send`)
    (
        "licensesvc.mail",
        {
            "licensesvc.mail",
            "licensesvc.runtime",
            *FRONT_END_SERVICES,
            "licensesvc.config",
            "jinja2",
            "markupsafe",
            *DATABASE,
        },
    ),
    # webhook delivery for the outbox (`licensesvc notify send`)
    (
        "licensesvc.webhook_delivery",
        {
            "licensesvc.webhook_delivery",
            "licensesvc.runtime",
            *FRONT_END_SERVICES,
            "licensesvc.config",
            *DATABASE,
        },
    ),
    # the transparency log's integrating thread in the web app
    (
        "licensesvc.log_integrator",
        {
            "licensesvc.log_integrator",
            "licensesvc.runtime",
            *FRONT_END_SERVICES,
            "licensesvc.config",
            "licensesvc.db",  # is_unavailable: a locked or unreachable database is one line
            "flask",
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
            "licensesvc.platform.metrics",  # the counts the services commit
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
            *FRONT_END_SERVICES,
            "licensesvc.config",
            "licensesvc.runtime",
            "licensesvc.migrate",
            "licensesvc.app",  # `licensesvc serve` runs the app
            "licensesvc.mail",
            "licensesvc.webhook_delivery",
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


def is_ours(module: str) -> bool:
    return module.split(".")[0] in PACKAGES


def facade_names(package: str) -> set[str]:
    """The names a package's __init__ lists in __all__ (empty when it has none)."""
    init = ROOT.joinpath(*package.split("."), "__init__.py")
    if not init.exists():
        return set()
    for node in ast.parse(init.read_text()).body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets
        ):
            return {
                e.value
                for e in ast.walk(node.value)
                if isinstance(e, ast.Constant) and isinstance(e.value, str)
            }
    return set()


def imports_of_text(
    source: str, name: str, *, is_package: bool = False, runtime_only: bool = False
) -> set[str]:
    """Every module the source of module `name` imports, relative imports resolved to
    absolute names. `from a import b` yields `a.b` when that is a module of ours (and not a
    name a's façade exports), else `a`."""
    package = name if is_package else name.rpartition(".")[0]
    found: set[str] = set()
    for node in _nodes(ast.parse(source, name), runtime_only=runtime_only):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                prefix = ".".join(base + ([node.module] if node.module else []))
            else:
                prefix = node.module or ""
            exported = facade_names(prefix) if is_ours(prefix) else set()
            for alias in node.names:
                candidate = f"{prefix}.{alias.name}"
                ours = candidate in OUR_MODULES and alias.name not in exported
                found.add(candidate if ours else prefix)
    return found


def imports_of(path: Path, *, runtime_only: bool = False) -> set[str]:
    return imports_of_text(
        path.read_text(),
        module_name(path),
        is_package=path.name == "__init__.py",
        runtime_only=runtime_only,
    )


OUR_MODULES = {module_name(p) for p in source_files()}
GRAPH = {module_name(p): imports_of(p) for p in source_files()}
#: what runs on import (annotations-only imports under TYPE_CHECKING cannot form a cycle)
RUNTIME_GRAPH = {module_name(p): imports_of(p, runtime_only=True) for p in source_files()}


def covers(prefix: str, module: str) -> bool:
    return module == prefix or module.startswith(prefix + ".")


def allowlist_of(module: str) -> set[str]:
    matching = [(p, allowed) for p, allowed in ALLOWED if covers(p, module)]
    assert matching, f"{module} is in no layer of ALLOWED"
    return max(matching, key=lambda pair: len(pair[0]))[1]


#: Front ends that still read a model class of their own: debt of issue 18's read models, paid
#: off (the portal's sessions and form tokens went through the identity façade last). The list
#: only shrinks, so it stays empty: a new front-end import of the models fails.
MODELS_IN_FRONT_ENDS: set[str] = set()


def package_of(module: str) -> str | None:
    """The domain package (licensesvc.accounts, ...) a module belongs to, or None."""
    parts = module.split(".")
    if len(parts) >= 2 and parts[0] == "licensesvc" and parts[1] in DOMAIN_PACKAGES:
        return ".".join(parts[:2])
    return None


def permitted(importer: str, imported: str) -> bool:
    package = package_of(imported)
    if package is not None and imported != package and package_of(importer) != package:
        return False  # another package's module: only its façade may be imported
    if covers("licensesvc.models", imported) and importer in MODELS_IN_FRONT_ENDS:
        return True
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
        ("cli.commands.cases", "licensesvc.issuance.key_requests"),
        ("licensesvc.portal.views", "licensesvc.accounts.customers"),
        ("licensesvc.api.key_views", "licensesvc.models"),
        ("licensesvc.issuance.key_requests", "licensesvc.cases"),
        ("licensesvc.accounts.customers", "licensesvc.issuance"),
        ("licensesvc.domain.policy", "licensesvc.platform"),
        ("licensesvc.presentation.schemas", "licensesvc.models"),
        ("licensesvc.presentation.schemas", "licensesvc.issuance"),
        ("licensesvc.presentation.schemas", "flask"),
        ("licensesvc.readmodels", "licensesvc.presentation"),
    ],
)
def test_the_forbidden_directions_are_refused(importer: str, imported: str) -> None:
    # the allowlist itself says no to each direction STYLE.md forbids
    assert not permitted(importer, imported)


@pytest.mark.parametrize(
    ("importer", "imported"),
    [
        ("licensesvc.portal.views", "licensesvc.web"),
        ("licensesvc.portal.views", "licensesvc.issuance"),
        ("licensesvc.api.key_views", "licensesvc.web"),
        ("cli.commands.cases", "licensesvc.cases"),
        ("licensesvc.cases.case_updates", "licensesvc.issuance"),
        ("licensesvc.issuance.key_requests", "licensesvc.issuance.quotas"),
        ("licensesvc.api.key_views", "licensesvc.presentation"),
        ("cli.commands.cases", "licensesvc.presentation"),
        ("licensesvc.portal.views", "licensesvc.presentation"),
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


def with_packages(graph: dict[str, set[str]]) -> dict[str, set[str]]:
    """The graph with each import of a.b.c also importing its packages a.b and a (importing a
    module runs its packages' __init__ first)."""
    out: dict[str, set[str]] = {}
    for module, imported in graph.items():
        found = set(imported)
        for name in imported:
            parts = name.split(".")
            found |= {".".join(parts[:n]) for n in range(1, len(parts))}
        own = module.split(".")
        found -= {".".join(own[:n]) for n in range(1, len(own))}  # a module's own packages
        out[module] = found
    return out


def test_there_is_no_import_cycle() -> None:
    # function-level (deferred) imports count: they run, just later; so do imports under
    # TYPE_CHECKING, which tie the modules together as much as any other
    assert find_cycle(with_packages(GRAPH)) is None


def test_the_domain_reads_no_database() -> None:
    # the pure rules name the models' types for annotations only, never at run time
    offending = sorted(
        f"{module} imports {imported}"
        for module, imported_set in RUNTIME_GRAPH.items()
        if covers("licensesvc.domain", module)
        for imported in imported_set
        if covers("licensesvc.models", imported) or imported.split(".")[0] in DATABASE
    )
    assert offending == []


def test_the_models_debt_only_shrinks() -> None:
    # every exception still needed: one that no longer imports the models leaves the list
    stale = sorted(
        m
        for m in MODELS_IN_FRONT_ENDS
        if not any(covers("licensesvc.models", i) for i in GRAPH.get(m, set()))
    )
    assert stale == []


def test_a_planted_violation_fails(tmp_path: Path) -> None:
    # a front end reaching into another package's module, and a cycle through a type-only
    # import: both are found in a file as they would be in the tree
    planted = tmp_path / "planted.py"
    planted.write_text(
        "from typing import TYPE_CHECKING\n"
        "from licensesvc.accounts.customers import create_customer\n"
        "if TYPE_CHECKING:\n    from licensesvc.models import License\n"
    )
    found = imports_of_text(planted.read_text(), "cli.commands.planted")
    assert "licensesvc.accounts.customers" in found
    assert not permitted("cli.commands.planted", "licensesvc.accounts.customers")
    assert not permitted("cli.commands.planted", "licensesvc.models")
    assert permitted("cli.commands.planted", "licensesvc.accounts")
    graph = with_packages(
        {
            **GRAPH,
            "licensesvc.domain.vocabulary": GRAPH["licensesvc.domain.vocabulary"]
            | {"licensesvc.readmodels"},
        }
    )
    assert find_cycle(graph) is not None


def test_the_cycle_finder_finds_a_cycle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert find_cycle(graph) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def script_violations(paths: Iterator[Path] | list[Path]) -> list[str]:
    """The imports of scripts that reach past a domain package's façade or into the models."""
    found = []
    for path in paths:
        for imported in sorted(imports_of_text(path.read_text(), f"scripts.{path.stem}")):
            package = package_of(imported)
            if (package is not None and imported != package) or covers(
                "licensesvc.models", imported
            ):
                found.append(f"{path.name} imports {imported}")
    return found


def test_the_scripts_use_the_facades_only(tmp_path: Path) -> None:
    # scripts/ (the generated docs' writers, ...) use the domain packages as a front end does
    assert script_violations(sorted((ROOT / "scripts").glob("*.py"))) == []
    planted = tmp_path / "planted.py"
    planted.write_text(
        "from licensesvc.issuance.key_requests import request_key\n"
        "from licensesvc.models import WebhookDelivery\n"
        "from licensesvc import issuance\n"
    )
    assert script_violations([planted]) == [
        "planted.py imports licensesvc.issuance.key_requests",
        "planted.py imports licensesvc.models",
    ]
