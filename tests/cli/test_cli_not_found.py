"""Every command given an unknown id says so the same way: one line, `not_found`, exit 1; a
list filtered by an unknown id too, never an empty list (the API's counterpart:
tests/licensesvc/api/test_api_unknown_ids.py)."""

from __future__ import annotations

from tests.cli.cli_helpers import Cli, Shop

UNKNOWN: list[tuple[list[str | int], str]] = [
    (["customer", "show", 999], "customer 999 not found"),
    (["customer", "update", 999, "--region", "emea"], "customer 999 not found"),
    (["entitlements", "--customer", 999], "customer 999 not found"),
    (["contract", "payments", "--contract", 999], "contract 999 not found"),
    (
        ["contract", "record-payment", "--contract", 999, "--paid-through", "2026-06-30"],
        "contract 999 not found",
    ),
    (["contract", "list", "--customer", 999], "customer 999 not found"),
    (["license", "retire", 999, "--reason", "gone"], "license 999 not found"),
    (["license", "update", 999, "--agents", 2, "--reason", "more"], "license 999 not found"),
    (["key", "issue", "--license", 999, "--kind", "standard"], "license 999 not found"),
    (["key", "list", "--customer", 999], "customer 999 not found"),
    (["key", "list", "--license", 999], "license 999 not found"),
    (["license", "list", "--customer", 999], "customer 999 not found"),
    (["notify", "list", "--customer", 999], "customer 999 not found"),
    (["audit", "list", "--customer", 999], "customer 999 not found"),
    (["key", "show", "SN-NOPE"], "key SN-NOPE not found"),
    (["key", "revoke", "SN-NOPE", "--reason", "x"], "key SN-NOPE not found"),
    (["key", "export", "SN-NOPE"], "key SN-NOPE not found"),
    (["case", "show", "CS-NOPE"], "case CS-NOPE not found"),
    (["case", "list", "--customer", 999], "customer 999 not found"),
    (["case", "list", "--escalated", "--customer", 999], "customer 999 not found"),
    (["case", "grant", "CS-NOPE", "--reason", "x"], "case CS-NOPE not found"),
    (["case", "deny", "CS-NOPE", "--reason", "x"], "case CS-NOPE not found"),
    (["case", "escalate", "CS-NOPE"], "case CS-NOPE not found"),
    (["case", "update", "CS-NOPE", "--text", "x"], "case CS-NOPE not found"),
    (["token", "create", "--customer", 999], "customer 999 not found"),
    (["token", "revoke", 999], "token 999 not found"),
    (
        ["user", "create", "--customer", 999, "--email", "a@example.com", "--password-stdin"],
        "customer 999 not found",
    ),
    (["user", "list", "--customer", 999], "customer 999 not found"),
    (["user", "disable", 999], "user 999 not found"),
]


def test_an_unknown_id_is_one_not_found_line(run: Cli, shop: Shop) -> None:
    """Each command of UNKNOWN in turn, on one shop: each refuses and changes nothing (a
    command that did would be reported here)."""
    wrong: list[str] = []
    for args, message in UNKNOWN:
        asked = " ".join(map(str, args))
        result = run(*args, input="a long enough password\n")
        if result.exit_code != 1:
            wrong.append(f"{asked}: exit status {result.exit_code}: {result.output}")
        elif result.stderr != f"Error: not_found: {message}\n" or result.stdout != "":
            wrong.append(f"{asked}: {result.stderr!r}, {result.stdout!r}")
        as_json = run("--json", *args, input="a long enough password\n")
        if as_json.exit_code != 1 or as_json.stdout != "":
            wrong.append(f"--json {asked}: exit status {as_json.exit_code}: {as_json.output}")
    assert wrong == []
