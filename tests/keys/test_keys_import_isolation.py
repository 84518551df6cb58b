"""An installer embeds ``keys`` alone: it must import and verify without the service stack."""

from __future__ import annotations

import ast
import subprocess
import sys
import textwrap

from tests.keys.keys_helpers import REPO_ROOT

BLOCKED = ("flask", "sqlalchemy", "licensesvc", "cli", "marshmallow", "click", "alembic")

SCRIPT = textwrap.dedent(
    f"""
    import sys
    from datetime import UTC, date, datetime

    BLOCKED = {BLOCKED!r}

    class Blocker:
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in BLOCKED:
                raise ImportError(f"{{name}} is blocked in this test")
            return None

    sys.meta_path.insert(0, Blocker())
    import keys

    signer = keys.SigningKey.generate()
    claims = keys.Claims(
        serial="K-1", license_id="lic-1", customer_id="c-1", customer_name="Acme",
        product="scheduler", kind="standard", agents=1, jobs=1, host="h",
        issued_at=datetime(2025, 1, 1, tzinfo=UTC), not_before=datetime(2025, 1, 1, tzinfo=UTC),
        maintenance_until=date(2025, 12, 31),
    )
    text = keys.sign_key(claims, signer)
    public = keys.PublicKey.from_pem(signer.public_key.to_pem())
    verified = keys.verify(keys.license_file(text), [public], at=datetime(2025, 6, 1, tzinfo=UTC))
    assert verified.serial == "K-1"
    loaded = sorted(m for m in sys.modules if m.split(".")[0] in BLOCKED)
    assert not loaded, loaded
    print("isolated ok")
    """
)


def test_keys_imports_and_verifies_with_the_service_stack_blocked() -> None:
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "isolated ok" in result.stdout


def test_keys_source_imports_only_stdlib_cryptography_and_itself() -> None:
    allowed = set(sys.stdlib_module_names) | {"cryptography", "keys"}
    for source in sorted((REPO_ROOT / "keys").rglob("*.py")):
        tree = ast.parse(source.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            for name in names:
                assert name.split(".")[0] in allowed, f"{source.name} imports {name}"
