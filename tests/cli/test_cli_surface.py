"""The CLI's surface as a whole: every command documents itself with an example, every option
says what it does, every command that prints speaks JSON, and docs/cli.md names them all."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from cli.main import cli
from tests.cli.cli_helpers import (
    Cli,
    contract_create,
    key_issue,
    license_create,
    record_payment,
    user_create,
)

REPO = Path(__file__).resolve().parents[2]


def walk(
    command: click.Command, path: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], click.Command]]:
    yield path, command
    if isinstance(command, click.Group):
        ctx = click.Context(command, info_name=path[-1] if path else "licensesvc")
        for name in command.list_commands(ctx):
            sub = command.get_command(ctx, name)
            assert sub is not None, name
            yield from walk(sub, (*path, name))


ALL = list(walk(cli))
LEAVES = sorted(" ".join(path) for path, command in ALL if not isinstance(command, click.Group))


@pytest.mark.parametrize("path", [" ".join(p) or "licensesvc" for p, _ in ALL])
def test_every_command_help_has_a_summary_and_an_example(path: str) -> None:
    args = [] if path == "licensesvc" else path.split()
    result = CliRunner().invoke(cli, [*args, "--help"])
    assert result.exit_code == 0, result.output
    assert "Example:\n" in result.output
    # \b keeps the example's lines apart: each example line starts with "licensesvc" or
    # continues an earlier one
    example = result.output.split("Example:\n", 1)[1].split("\n\n", 1)[0]
    assert "licensesvc" in example


@pytest.mark.parametrize("path", [" ".join(p) or "licensesvc" for p, _ in ALL])
def test_every_option_says_what_it_does(path: str) -> None:
    command = dict((" ".join(p) or "licensesvc", c) for p, c in ALL)[path]
    for param in command.params:
        if isinstance(param, click.Option):
            assert param.help, f"{path} {param.opts} has no help"


def test_the_command_tree_is_what_the_product_brief_names() -> None:
    for needed in [
        "db upgrade",
        "signing-key generate",
        "signing-key rotate",
        "signing-key list",
        "signing-key export-public",
        "customer create",
        "contract create",
        "contract record-payment",
        "license create",
        "entitlements",
        "key issue",
        "key list",
        "key show",
        "key revoke",
        "key export",
        "case list",
        "case show",
        "case grant",
        "case deny",
        "token create",
        "token list",
        "token revoke",
        "user create",
        "audit list",
        "audit verify",
        "verify",
        "serve",
        "demo",
        "import customers",
        "customer list",
        "license list",
        "contract list",
        "case escalate",
        "revocations export",
    ]:
        assert needed in LEAVES


def test_docs_cli_md_names_every_command() -> None:
    doc = (REPO / "docs" / "cli.md").read_text()
    missing = [path for path in LEAVES if f"licensesvc {path}" not in doc]
    assert missing == []


#: commands whose --json is exercised elsewhere: they need a database of their own
#: (db upgrade, serve), no database at all (verify), or one without demo data's signing key
JSON_ELSEWHERE = {
    "db upgrade",
    "serve",
    "verify",
    "signing-key generate",
    "notify retry",
    "webhook retry",  # tests/cli/test_cli_webhooks.py
}


def test_every_command_that_prints_speaks_json(run: Cli, tmp_path: Path) -> None:
    seen: set[str] = set()

    def doc(*args: object, stdin: str | None = None) -> object:
        words = [str(a) for a in args]
        command = " ".join(w for w in words[:2] if not w.startswith("-") and not w[0].isdigit())
        leaf = command if command in LEAVES else words[0]
        seen.add(leaf)
        return json.loads(run.ok(*args, "--json", input=stdin).stdout)

    made = doc("demo")
    assert isinstance(made, dict)
    acme = made["customers"][0]
    globex = made["customers"][1]
    initech = doc("customer", "create", "--name", "Initech")
    assert isinstance(initech, dict)
    doc("customer", "list")
    doc("customer", "show", acme["id"])
    contract = doc(*contract_create(initech["id"], paid_through="2026-06-30"))
    assert isinstance(contract, dict)
    doc(*record_payment(contract["id"], "2026-12-31"))
    doc("contract", "payments", "--contract", contract["id"])
    doc(
        "contract",
        "change-plan",
        "--contract",
        contract["id"],
        "--plan",
        "premium",
        "--from",
        "2026-06-01",
        "--reason",
        "upgrade",
    )
    renewal = doc("contract", "renew", "--contract", contract["id"], "--end", "2027-12-31")
    assert isinstance(renewal, dict)
    doc(
        "contract",
        "terminate",
        "--contract",
        renewal["id"],
        "--on",
        "2027-06-30",
        "--reason",
        "ends early",
    )
    doc("customer", "update", initech["id"], "--holidays", "GB-SCT")
    doc("contract", "list", "--customer", acme["id"])
    doc(*license_create(acme["id"], host="p.example"))
    spare = doc(*license_create(acme["id"], host="q.example"))
    assert isinstance(spare, dict)
    doc("license", "update", spare["id"], "--agents", 5, "--reason", "more agents")
    doc("license", "retire", spare["id"], "--reason", "decommissioned")
    doc("license", "list")
    doc("entitlements", "--customer", acme["id"])
    doc("service", "request", globex["id"], "upgrade", "--planned-on", "2026-06-13")
    doc("service", "record", globex["id"], "health_check", "--held-on", "2026-03-01")
    issued = doc(*key_issue(globex["license_id"], "temporary", reason="usage_spike"))
    assert isinstance(issued, dict)
    doc("key", "list")
    doc("key", "show", issued["serial"])
    doc("key", "export", issued["serial"], "--format", "file")
    doc("key", "revoke", issued["serial"], "--reason", "test")

    def refused_case() -> str:
        """A temporary key that Acme's Base plan refuses; the case number of the refusal."""
        args = key_issue(acme["license_id"], "temporary", reason="usage_spike")
        return str(json.loads(run.fails(*args, "--json").stdout)["case_number"])

    case = refused_case()
    doc("case", "escalate", case, "--note", "phoned")
    doc("case", "list", "--escalated")
    doc("case", "list", "--overdue")
    doc("case", "update", case, "--text", "looking into it")
    doc("case", "assign", case, "--to", "bob")
    doc("case", "note", case, "--text", "internal: waiting on their change window")
    doc("case", "severity", case, 2, "--reason", "production impact")
    doc("case", "show", case)
    doc("case", "grant", case, "--reason", "lead approved")
    other = refused_case()
    doc("case", "deny", other, "--reason", "base plan")
    doc("signing-key", "list")
    doc("signing-key", "rewrap")
    doc("signing-key", "rotate")
    doc("signing-key", "export-public", "--all")
    doc("revocations", "export")
    token = doc("token", "create", "--analyst", "bob")
    assert isinstance(token, dict)
    doc("token", "list")
    doc("token", "revoke", token["id"])
    new_user = doc(
        *user_create(acme["id"], "new@acme.example", password_stdin=True),
        stdin="a long enough password\n",
    )
    assert isinstance(new_user, dict)
    doc("user", "reset-password", "--email", "new@acme.example")
    doc("user", "list", "--customer", acme["id"])
    doc("user", "disable", new_user["id"])
    doc("audit", "list", "--limit", 5)
    doc("audit", "verify")
    csv = tmp_path / "c.csv"
    csv.write_text(
        "name,plan,contract_start,contract_end,paid_through,product,agents,jobs,host\n"
        "Hooli,premium,2026-01-01,2026-12-31,2026-12-31,P,1,1,h.example\n"
    )
    doc("import", "customers", csv)
    for report in ("maintenance-lapsing", "in-grace", "contracts-ending", "quota-use"):
        doc("report", report)
    for report in ("keys-expiring", "overdue-cases"):
        doc("report", report)
    for notify in ("scan", "list", "send"):
        doc("notify", notify)
    run.runtime.settings = replace(run.runtime.settings, webhook_allow=("10.20.0.0/16",))
    hook = doc("webhook", "add", "--url", "https://10.20.0.5/in", "--events", "key.issued")
    assert isinstance(hook, dict)
    doc("webhook", "list")
    doc("webhook", "deliveries", hook["id"])
    doc("webhook", "rotate-secret", hook["id"])
    doc("webhook", "disable", hook["id"])
    doc("idempotency", "purge")
    doc("log", "integrate")
    doc("log", "key")
    doc("log", "verify")
    doc("log", "monitor", "--state", tmp_path / "log-state.json")
    assert sorted(set(LEAVES) - seen - JSON_ELSEWHERE) == []


def test_signing_key_generate_speaks_json(run: Cli) -> None:
    made = json.loads(run.ok("signing-key", "generate", "--json").stdout)
    assert made["status"] == "active" and "BEGIN PUBLIC KEY" in made["public_key_pem"]
