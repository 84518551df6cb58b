"""Customers, contracts, licenses, entitlements, tokens, users, demo data and bulk import."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from licensesvc.models import Contract, Customer, License
from tests.cli.cli_helpers import (
    NO_ID,
    Cli,
    Shop,
    contract_create,
    count,
    key_issue,
    license_create,
    record_payment,
    user_create,
)

REPO = Path(__file__).resolve().parents[2]


def test_analyst_creates_a_customer_and_gets_its_id(run: Cli) -> None:
    created = run.json("customer", "create", "--name", "Initech", "--region", "apac")
    assert created["name"] == "Initech" and created["region"] == "apac"
    assert isinstance(created["id"], int)
    assert created["created_at"] == "2026-03-02T15:00:00Z"


def test_customer_region_defaults_to_north_america(run: Cli) -> None:
    assert run.json("customer", "create", "--name", "Initech")["region"] == "na"


def test_unknown_region_is_refused_by_the_option_itself(run: Cli) -> None:
    result = run.fails("customer", "create", "--name", "X", "--region", "mars", exit_code=2)
    assert "Invalid value for '--region'" in result.stderr
    assert count(run, Customer) == 0


def test_a_customer_name_is_taken_only_once(run: Cli) -> None:
    run.ok("customer", "create", "--name", "Initech")
    result = run.fails("customer", "create", "--name", "Initech")
    assert result.stderr == "Error: conflict: a customer named 'Initech' already exists\n"
    assert result.stdout == ""
    assert count(run, Customer) == 1


def test_customer_list_is_an_aligned_table(run: Cli, shop: Shop) -> None:
    lines = run.ok("customer", "list").stdout.splitlines()
    assert lines[0].split() == ["ID", "NAME", "REGION", "CREATED"]
    assert lines[1].split()[:3] == [str(shop.globex), "Globex", "emea"]  # newest first
    assert lines[2].split()[:3] == [str(shop.acme), "Acme", "na"]
    # columns line up: REGION starts at the same offset on every line
    assert (
        len({line.index(word) for line, word in zip(lines, ["REGION", "emea", "na"], strict=True)})
        == 1
    )


def test_customer_show_lists_contracts_and_licenses(run: Cli, shop: Shop) -> None:
    shown = run.json("customer", "show", shop.acme)
    assert [c["id"] for c in shown["contracts"]] == [shop.acme_contract]
    assert [lic["id"] for lic in shown["licenses"]] == [shop.acme_license]
    assert "Contracts" in run.ok("customer", "show", shop.acme).stdout


def test_unknown_customer_is_one_clear_line(run: Cli) -> None:
    result = run.fails("customer", "show", NO_ID)
    assert result.stderr == f"Error: not_found: customer {NO_ID} not found\n"


def test_contract_with_its_own_grace_period(run: Cli, shop: Shop) -> None:
    contract = run.json(
        *contract_create(
            shop.acme,
            plan="premium",
            start="2027-01-01",
            end="2027-12-31",
            paid_through="2027-06-30",
            grace_days=14,
        )
    )
    assert contract["grace_days"] == 14
    assert contract["start"] == "2027-01-01" and contract["paid_through"] == "2027-06-30"


def test_a_contract_cannot_end_before_it_starts(run: Cli, shop: Shop) -> None:
    before = count(run, Contract)
    result = run.fails(*contract_create(shop.acme, start="2026-12-31", end="2026-01-01"))
    assert result.stderr.startswith("Error: validation_error: the contract ends (2026-01-01)")
    assert len(result.stderr.splitlines()) == 1
    assert count(run, Contract) == before


def test_unknown_plan_is_refused_by_the_option_itself(run: Cli, shop: Shop) -> None:
    result = run.fails(*contract_create(shop.acme, plan="gold"), exit_code=2)
    assert "Invalid value for '--plan': 'gold' is not one of 'base', 'premium'" in result.stderr


def test_contract_for_an_unknown_customer(run: Cli) -> None:
    result = run.fails(*contract_create(42))
    assert result.stderr == "Error: not_found: customer 42 not found\n"


@pytest.mark.parametrize(
    "args",
    [
        contract_create(1, start="2026-02-30"),
        record_payment(1, "31/12/2026"),
        license_create(1, expires_on="next year"),
        key_issue(1, "dr_test", dr_test_date="2026-4-1"),
        ["verify", "-", "--public-key", __file__, "--build-date", "yesterday"],
    ],
    ids=["contract-start", "payment", "license-expiry", "dr-test-date", "build-date"],
)
def test_a_malformed_date_says_what_is_expected(run: Cli, args: list[object]) -> None:
    result = run.fails(*args, exit_code=2)
    assert "is not a date; expected YYYY-MM-DD" in result.stderr


def test_recording_a_payment_moves_paid_through_forward_only(run: Cli, shop: Shop) -> None:
    result = run.fails(*record_payment(shop.acme_contract, "2026-06-30"))
    assert "already paid through 2026-12-31; 2026-06-30 would move it back" in result.stderr
    result = run.fails(*record_payment(shop.acme_contract, "2027-03-31"))
    assert "the contract ends on 2026-12-31; record the payment on its renewal" in result.stderr
    result = run.fails(*record_payment(NO_ID, "2026-06-30"))
    assert result.stderr == f"Error: not_found: contract {NO_ID} not found\n"


def test_contract_list_of_one_customer(run: Cli, shop: Shop) -> None:
    assert [c["id"] for c in run.json("contract", "list", "--customer", shop.globex)] == [
        shop.globex_contract
    ]
    assert len(run.json("contract", "list")) == 2
    assert run.ok("contract", "list").stdout.splitlines()[0].split()[:3] == [
        "ID",
        "CUSTOMER",
        "PLAN",
    ]


def test_license_create_and_list(run: Cli, shop: Shop) -> None:
    lic = run.json(
        *license_create(
            shop.acme,
            product="JAMS Scheduler",
            agents=5,
            jobs=50,
            host="Sched2.Acme.Example",
            expires_on="2026-12-31",
        )
    )
    assert lic["host"] == "sched2.acme.example" and lic["expires_on"] == "2026-12-31"
    listed = run.json("license", "list", "--customer", shop.acme)
    assert [row["id"] for row in listed] == [lic["id"], shop.acme_license]  # newest first
    assert "never (perpetual)" in run.ok(*license_create(shop.acme)).stdout


def test_license_for_an_unknown_customer_or_with_bad_limits(run: Cli, shop: Shop) -> None:
    unknown = NO_ID
    result = run.fails(*license_create(unknown))
    assert result.stderr == f"Error: not_found: customer {unknown} not found\n"
    result = run.fails(*license_create(shop.acme, agents=-1), exit_code=2)  # a usage error
    assert "'--agents': -1 must be a whole number from 0 to 2147483647" in result.stderr
    listed = run.fails("license", "list", "--customer", unknown)
    assert listed.stderr.startswith("Error: not_found")
    assert count(run, License) == 2


def test_entitlements_of_a_base_customer(run: Cli, shop: Shop) -> None:
    report = run.json("entitlements", "--customer", shop.acme)
    assert report["plan"] == "base"
    assert report["allowed_key_kinds"] == ["replacement", "dr_test"]
    assert report["maintenance_paid_through"] == "2026-12-31"
    human = run.ok("entitlements", "--customer", shop.acme).stdout
    assert "allowed key kinds    replacement, dr_test" in human
    assert "Response targets" in human
    assert run.fails("entitlements", "--customer", 5).stderr.startswith("Error: not_found")


def test_tokens_are_shown_once_listed_by_prefix_and_revoked_once(run: Cli, shop: Shop) -> None:
    made = run.json("token", "create", "--customer", shop.acme)
    assert made["token"].startswith("lsc_cust_")
    assert "keep the token now" in run.ok("token", "create", "--analyst", "bob").stdout
    listed = run.json("token", "list")  # newest first: bob's, then Acme's
    assert [t["prefix"] for t in listed][1] == made["prefix"]
    assert "token" not in listed[1]
    assert run.json("token", "revoke", made["id"])["revoked_at"] == "2026-03-02T15:00:00Z"
    result = run.fails("token", "revoke", made["id"])
    assert result.stderr == f"Error: invalid_state: token {made['id']} was already revoked\n"
    assert (
        run.fails("token", "revoke", NO_ID).stderr == f"Error: not_found: token {NO_ID} not found\n"
    )


def test_a_token_belongs_to_exactly_one_customer_or_analyst(run: Cli, shop: Shop) -> None:
    for args in ([], ["--customer", shop.acme, "--analyst", "bob"]):
        result = run.fails("token", "create", *args)
        assert "validation_error: a token belongs to exactly one" in result.stderr


def test_portal_user_password_comes_from_stdin(run: Cli, shop: Shop) -> None:
    user = run.json(
        *user_create(shop.acme, "Admin@Acme.Example", password_stdin=True),
        input="correct horse battery\n",
    )
    assert user["email"] == "admin@acme.example"
    result = run.fails(
        *user_create(shop.acme, "x@acme.example", password_stdin=True), input="short\n"
    )
    assert "validation_error: the password needs at least 12 characters" in result.stderr


def test_portal_user_password_is_prompted_without_stdin_flag(run: Cli, shop: Shop) -> None:
    result = run.ok(
        *user_create(shop.acme, "ops@acme.example"), input="a long password 1\na long password 1\n"
    )
    assert "ops@acme.example" in result.stdout
    assert "a long password" not in result.output


def test_demo_fills_an_empty_database_and_prints_the_tokens(run: Cli) -> None:
    made = run.json("demo")
    assert [c["plan"] for c in made["customers"]] == ["base", "premium"]
    assert made["analyst_token"].startswith("lsc_anl_")
    assert all(c["token"].startswith("lsc_cust_") for c in made["customers"])
    result = run.fails("demo")
    assert "invalid_state: the database already has customers" in result.stderr


def test_demo_human_output_shows_tokens(run: Cli) -> None:
    out = run.ok("demo").stdout
    assert "API tokens (shown this once)" in out and "lsc_anl_" in out


EXAMPLE = REPO / "docs" / "examples" / "customers.csv"


def test_the_example_csv_imports_customers_contracts_and_licenses(run: Cli) -> None:
    summary = run.json("import", "customers", EXAMPLE)
    assert summary == {"customers": 3, "contracts": 3, "licenses": 4, "rows": 4}
    assert count(run, Customer) == 3 and count(run, License) == 4
    names = [c["name"] for c in run.json("customer", "list")]
    assert names == ["Initech", "Globex Manufacturing", "Acme Logistics"]  # newest first


def test_import_prints_a_summary_and_a_progress_bar_on_stderr(run: Cli) -> None:
    result = run.ok("import", "customers", EXAMPLE)
    assert result.stdout.startswith("imported 3 customers, 3 contracts and 4 licenses")
    assert "importing customers.csv" in result.stderr


HEADER = (
    "name,region,plan,contract_start,contract_end,paid_through,grace_days,"
    "product,agents,jobs,host,failover_host,license_expires_on\n"
)
GOOD = "Good Co,na,base,2026-01-01,2026-12-31,2026-12-31,,JAMS,5,50,good.example,,\n"


@pytest.mark.parametrize(
    ("bad_row", "expected"),
    [
        (
            "Bad Co,na,base,2026-01-01,2026-13-01,2026-12-31,,JAMS,5,50,bad.example,,",
            "row 3, contract_end: '2026-13-01': expected YYYY-MM-DD",
        ),
        (
            "Bad Co,na,base,2026-01-01,2026-12-31,2026-12-31,,JAMS,ten,50,bad.example,,",
            "row 3, agents: 'ten': expected a whole number >= 0",
        ),
        (
            "Bad Co,na,gold,2026-01-01,2026-12-31,2026-12-31,,JAMS,5,50,bad.example,,",
            "row 3, plan: 'gold': expected one of base, premium",
        ),
        (
            "Bad Co,mars,base,2026-01-01,2026-12-31,2026-12-31,,JAMS,5,50,bad.example,,",
            "row 3, region: 'mars': expected one of emea, na, apac",
        ),
        (
            "Bad Co,na,base,2026-01-01,2026-12-31,2026-12-31,,JAMS,5,50,,,",
            "row 3, host: is required",
        ),
        (
            "Bad Co,na,base,2026-12-31,2026-01-01,2026-12-31,,JAMS,5,50,bad.example,,",
            "row 3, contract: validation_error: the contract ends (2026-01-01) before it starts",
        ),
        (
            "Good Co,na,,,,,,JAMS,5,50,x.example,x.example,",
            "row 3, license: validation_error: the failover host must differ from the host",
        ),
    ],
    ids=[
        "bad-date",
        "bad-number",
        "unknown-plan",
        "unknown-region",
        "missing-host",
        "end-before-start",
        "failover-equals-host",
    ],
)
def test_one_bad_row_aborts_the_import_naming_row_and_field(
    run: Cli, tmp_path: Path, bad_row: str, expected: str
) -> None:
    path = tmp_path / "customers.csv"
    path.write_text(HEADER + GOOD + bad_row + "\n" + GOOD.replace("Good Co", "Later Co"))
    result = run.fails("import", "customers", path)
    error = result.stderr.splitlines()[-1]
    assert error.startswith(f"Error: {expected}")
    assert error.endswith("; nothing was imported")
    assert result.stdout == ""
    assert count(run, Customer) == 0 and count(run, Contract) == 0 and count(run, License) == 0


def test_import_refuses_a_file_without_the_required_columns(run: Cli, tmp_path: Path) -> None:
    path = tmp_path / "c.csv"
    path.write_text("name,plan,colour\nX,base,red\n")
    result = run.fails("import", "customers", path)
    assert "row 1 (header): missing column(s) contract_start" in result.stderr


def test_import_speaks_json(run: Cli, tmp_path: Path) -> None:
    path = tmp_path / "c.csv"
    path.write_text(HEADER + GOOD)
    result = run.ok("import", "customers", "--json", path)
    assert json.loads(result.stdout) == {"customers": 1, "contracts": 1, "licenses": 1, "rows": 1}
