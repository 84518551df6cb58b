"""Every command given an unknown id says so the same way: one line, `not_found`, exit 1; a
list filtered by an unknown id too, never an empty list (the API's counterpart:
tests/licensesvc/api/test_api_unknown_ids.py)."""

from __future__ import annotations

import pytest

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


@pytest.mark.parametrize(
    ("args", "message"), UNKNOWN, ids=[" ".join(map(str, a[:3])) for a, _ in UNKNOWN]
)
def test_an_unknown_id_is_one_not_found_line(
    run: Cli, shop: Shop, args: list[object], message: str
) -> None:
    result = run.fails(*args, input="a long enough password\n")
    assert result.stderr == f"Error: not_found: {message}\n"
    assert result.stdout == ""
    assert run.fails("--json", *args, input="a long enough password\n").stdout == ""
