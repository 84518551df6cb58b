"""Long lists on the CLI, a page at a time: 1,000 keys, cases and audit records of one
customer, each seen exactly once across `--page 1, 2, ...`, newest first; the table or the
JSON list on stdout stays this page's records alone, and stderr says when more pages follow
(so `--json` output stays one JSON document)."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from licensesvc.runtime import Runtime
from tests.bulk import add_audit_records, add_cases, add_keys
from tests.cli.cli_helpers import Cli, Shop

ROWS = 1000


@pytest.fixture
def many(runtime: Runtime, shop: Shop) -> dict[str, list[str]]:
    """1,000 keys, cases and audit records of Acme."""
    at = runtime.clock() - timedelta(days=2)
    with runtime.sessions() as session:
        found = {
            "keys": add_keys(session, shop.acme, shop.acme_license, ROWS, at),
            "cases": add_cases(session, shop.acme, shop.acme_license, ROWS, at),
            "audit": [str(i) for i in add_audit_records(session, shop.acme, ROWS, at)],
        }
        session.commit()
    return found


def read_all(run: Cli, *command: object, field: str, page_size: int) -> list[str]:
    """Every page of a list command, until stderr no longer names a next page."""
    seen: list[str] = []
    page = 1
    while True:
        result = run.ok("--json", *command, "--page", page, "--page-size", page_size)
        rows = json.loads(result.stdout)  # one JSON list, whatever stderr says
        seen += [str(row[field]) for row in rows]
        pages = -(-ROWS // page_size)
        if page == pages:
            assert result.stderr == ""
            return seen
        assert result.stderr == (
            f"page {page} of {pages} ({ROWS} {command[0]}s); next: --page {page + 1}\n"
        ).replace("audits", "records")
        assert len(rows) == page_size
        page += 1


@pytest.mark.parametrize("page_size", [50, 333])
def test_key_list_pages_through_1000_keys_each_once_newest_first(
    run: Cli, shop: Shop, many: dict[str, list[str]], page_size: int
) -> None:
    seen = read_all(
        run, "key", "list", "--customer", shop.acme, field="serial", page_size=page_size
    )
    assert seen == many["keys"][::-1]


def test_case_list_pages_through_1000_cases(
    run: Cli, shop: Shop, many: dict[str, list[str]]
) -> None:
    seen = read_all(
        run, "case", "list", "--customer", shop.acme, field="case_number", page_size=500
    )
    assert seen == many["cases"][::-1]


def test_audit_list_pages_through_the_customers_records(
    run: Cli, shop: Shop, many: dict[str, list[str]]
) -> None:
    # the customer's own history (made by `shop`) comes after the 1,000 bulk records
    result = run.ok("--json", "audit", "list", "--customer", shop.acme, "--page-size", 500)
    assert [str(r["id"]) for r in json.loads(result.stdout)] == many["audit"][::-1][:500]
    assert result.stderr.startswith("page 1 of 3 (")


def test_the_table_says_more_pages_follow_on_stderr(
    run: Cli, shop: Shop, many: dict[str, list[str]]
) -> None:
    result = run.ok("key", "list", "--customer", shop.acme)
    lines = result.stdout.splitlines()
    assert lines[0].split()[0] == "SERIAL" and len(lines) == 1 + 50  # header and the default 50
    assert many["keys"][-1] in lines[1]
    assert result.stderr == "page 1 of 20 (1000 keys); next: --page 2\n"


def test_a_page_past_the_end_is_empty_and_names_the_last_page(
    run: Cli, shop: Shop, many: dict[str, list[str]]
) -> None:
    result = run.ok("--json", "case", "list", "--customer", shop.acme, "--page", 21)
    assert result.stdout.strip() == "[]"
    assert result.stderr == "page 21 is past the last page, 20 (1000 cases); try --page 20\n"


@pytest.mark.parametrize(
    "command",
    [
        ["key", "list"],
        ["case", "list"],
        ["case", "list", "--escalated"],
        ["customer", "list"],
        ["license", "list"],
        ["token", "list"],
        ["audit", "list"],
        ["contract", "payments", "--contract", "1"],
    ],
)
@pytest.mark.parametrize(
    ("option", "value"), [("--page", "0"), ("--page-size", "0"), ("--page-size", "501")]
)
def test_every_list_refuses_a_page_outside_the_limits(
    run: Cli, command: list[str], option: str, value: str
) -> None:
    result = run.fails(*command, option, value, exit_code=2)
    assert f"Invalid value for '{option}'" in result.stderr


def test_a_short_list_says_nothing_more(run: Cli, shop: Shop) -> None:
    result = run.ok("--json", "customer", "list")
    assert [c["name"] for c in json.loads(result.stdout)] == ["Globex", "Acme"]
    assert result.stderr == ""
