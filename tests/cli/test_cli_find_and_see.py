"""Stories of an analyst finding a customer and seeing everything about it on one screen."""

from __future__ import annotations

from cli_helpers import Cli, Shop, contract_create, license_create


def test_search_finds_a_name_by_prefix_first_then_substring_any_case(run: Cli) -> None:
    for name in ("Mega Acme Holdings", "Acme Logistics", "Globex", "ACME Rail"):
        run.ok("customer", "create", "--name", name)
    found = run.json("customer", "list", "--search", "acme")
    assert [(c["name"], c["matched"]) for c in found] == [
        ("Acme Logistics", "name starts with"),
        ("ACME Rail", "name starts with"),
        ("Mega Acme Holdings", "name contains"),
    ]
    lines = run.ok("customer", "list", "--search", "ACME").stdout.splitlines()
    assert lines[0].split() == ["ID", "NAME", "REGION", "CREATED", "MATCHED"]
    assert "name starts with" in lines[1] and "name contains" in lines[3]


def test_search_wildcards_match_themselves(run: Cli) -> None:
    run.ok("customer", "create", "--name", "100% Uptime_Co")
    run.ok("customer", "create", "--name", "Uptime Co")
    assert [c["name"] for c in run.json("customer", "list", "--search", "%")] == ["100% Uptime_Co"]
    assert [c["name"] for c in run.json("customer", "list", "--search", "e_c")] == [
        "100% Uptime_Co"
    ]


def test_search_by_number_finds_the_owner_of_that_contract_and_that_license(
    run: Cli, shop: Shop
) -> None:
    # Globex's contract and Acme's license may share a number: both are found, each saying why
    third = run.json("customer", "create", "--name", "Initech")["id"]
    contract = run.json(*contract_create(third))["id"]
    lic = run.json(*license_create(third))["id"]
    assert (contract, lic) == (3, 3)  # the shop made two of each
    found = run.json("customer", "list", "--search", contract)
    assert [(c["id"], c["matched"]) for c in found] == [(third, "contract 3, license 3")]
    run.ok("customer", "create", "--name", "Route 3 Freight")
    found = run.json("customer", "list", "--search", "3")
    assert [(c["name"], c["matched"]) for c in found] == [
        ("Initech", "contract 3, license 3"),
        ("Route 3 Freight", "name contains"),
    ]
    found = run.json("customer", "list", "--search", shop.acme_license)
    assert found[0]["name"] == "Acme" and f"license {shop.acme_license}" in found[0]["matched"]
    assert run.json("customer", "list", "--search", "99999") == []


def test_search_without_text_is_one_plain_line(run: Cli) -> None:
    result = run.fails("customer", "list", "--search", "   ")
    assert result.stderr == "Error: validation_error: give some text to search for\n"
