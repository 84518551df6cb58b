"""Every command given an unknown id says so the same way: one line, `not_found`, exit 1; a
list filtered by an unknown id too, never an empty list (the API's counterpart:
tests/licensesvc/api/test_api_unknown_ids.py)."""

from __future__ import annotations

from tests.cli.cli_helpers import NO_ID, Cli, Shop

UNKNOWN: list[tuple[list[str | int], str]] = [
    (["customer", "show", NO_ID], f"customer {NO_ID} not found"),
    (["customer", "update", NO_ID, "--region", "emea"], f"customer {NO_ID} not found"),
    (["entitlements", "--customer", NO_ID], f"customer {NO_ID} not found"),
    (["contract", "payments", "--contract", NO_ID], f"contract {NO_ID} not found"),
    (
        ["contract", "record-payment", "--contract", NO_ID, "--paid-through", "2026-06-30"],
        f"contract {NO_ID} not found",
    ),
    (["contract", "list", "--customer", NO_ID], f"customer {NO_ID} not found"),
    (["license", "retire", NO_ID, "--reason", "gone"], f"license {NO_ID} not found"),
    (["license", "update", NO_ID, "--agents", 2, "--reason", "more"], f"license {NO_ID} not found"),
    (["key", "issue", "--license", NO_ID, "--kind", "standard"], f"license {NO_ID} not found"),
    (["key", "list", "--customer", NO_ID], f"customer {NO_ID} not found"),
    (["key", "list", "--license", NO_ID], f"license {NO_ID} not found"),
    (["license", "list", "--customer", NO_ID], f"customer {NO_ID} not found"),
    (["notify", "list", "--customer", NO_ID], f"customer {NO_ID} not found"),
    (["audit", "list", "--customer", NO_ID], f"customer {NO_ID} not found"),
    (["key", "show", "SN-NOPE"], "key SN-NOPE not found"),
    (["key", "revoke", "SN-NOPE", "--reason", "x"], "key SN-NOPE not found"),
    (["key", "export", "SN-NOPE"], "key SN-NOPE not found"),
    (["case", "show", "CS-NOPE"], "case CS-NOPE not found"),
    (["case", "list", "--customer", NO_ID], f"customer {NO_ID} not found"),
    (["case", "list", "--escalated", "--customer", NO_ID], f"customer {NO_ID} not found"),
    (["case", "grant", "CS-NOPE", "--reason", "x"], "case CS-NOPE not found"),
    (["case", "deny", "CS-NOPE", "--reason", "x"], "case CS-NOPE not found"),
    (["case", "escalate", "CS-NOPE"], "case CS-NOPE not found"),
    (["case", "update", "CS-NOPE", "--text", "x"], "case CS-NOPE not found"),
    (["token", "create", "--customer", NO_ID], f"customer {NO_ID} not found"),
    (["token", "revoke", NO_ID], f"token {NO_ID} not found"),
    (
        ["user", "create", "--customer", NO_ID, "--email", "a@example.com", "--password-stdin"],
        f"customer {NO_ID} not found",
    ),
    (["user", "list", "--customer", NO_ID], f"customer {NO_ID} not found"),
    (["user", "disable", NO_ID], f"user {NO_ID} not found"),
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
