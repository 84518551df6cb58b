"""Stories of an analyst listing the portal users and disabling one."""

from __future__ import annotations

from tests.cli.cli_helpers import NO_ID, Cli, Shop, user_create

PASSWORD = "a long enough password\n"


def make_users(run: Cli, shop: Shop) -> tuple[int, int, int]:
    ids = [
        run.json(*user_create(customer, email, password_stdin=True), input=PASSWORD)["id"]
        for customer, email in (
            (shop.acme, "admin@acme.example"),
            (shop.globex, "admin@globex.example"),
            (shop.acme, "ops@acme.example"),
        )
    ]
    return ids[0], ids[1], ids[2]


def test_user_list_shows_every_user_newest_first_with_the_customer_name(
    run: Cli, shop: Shop
) -> None:
    acme_admin, globex_admin, acme_ops = make_users(run, shop)
    lines = run.ok("user", "list").stdout.splitlines()
    assert lines[0].split() == ["ID", "EMAIL", "CUSTOMER", "DISABLED", "LAST", "SIGN-IN"]
    assert [line.split()[:2] for line in lines[1:]] == [
        [str(acme_ops), "ops@acme.example"],
        [str(globex_admin), "admin@globex.example"],
        [str(acme_admin), "admin@acme.example"],
    ]
    assert "Globex" in lines[2] and lines[2].split()[-2:] == ["-", "-"]
    listed = run.json("user", "list", "--customer", shop.acme)
    assert [(u["email"], u["customer_name"]) for u in listed] == [
        ("ops@acme.example", "Acme"),
        ("admin@acme.example", "Acme"),
    ]
    assert listed[0]["disabled_at"] is None and listed[0]["last_signed_in_at"] is None
    paged = run("--json", "user", "list", "--page-size", 2)
    assert [u["id"] for u in run.json("user", "list", "--page-size", 2)] == [acme_ops, globex_admin]
    assert "page 1 of 2 (3 users); next: --page 2" in paged.stderr


def test_user_list_of_an_unknown_customer_is_not_found(run: Cli, shop: Shop) -> None:
    result = run.fails("user", "list", "--customer", NO_ID)
    assert result.stderr == f"Error: not_found: customer {NO_ID} not found\n"


def test_user_disable_prints_one_line_and_a_second_time_says_already_disabled(
    run: Cli, shop: Shop
) -> None:
    acme_admin, globex_admin, _ = make_users(run, shop)
    result = run.ok("user", "disable", acme_admin, "--reason", "left the company")
    assert result.stdout == f"disabled user {acme_admin} (admin@acme.example)\n"
    again = run.fails("user", "disable", acme_admin)
    assert again.stderr == f"Error: invalid_state: user {acme_admin} is already disabled\n"
    assert again.stdout == ""
    data = run.json("user", "disable", globex_admin)
    assert data["id"] == globex_admin and data["disabled_at"] is not None
    listed = {u["id"]: u["disabled_at"] for u in run.json("user", "list")}
    assert listed[acme_admin] is not None and listed[globex_admin] == data["disabled_at"]
    trail = run.json("audit", "list")
    disabled = [r for r in trail if r["action"] == "user.disabled"]
    assert [r["entity"] for r in disabled] == [f"user:{globex_admin}", f"user:{acme_admin}"]
    assert disabled[1]["reason"] == "left the company"


def test_user_disable_of_an_unknown_id_is_one_not_found_line(run: Cli, shop: Shop) -> None:
    result = run.fails("user", "disable", NO_ID)
    assert (result.stdout, result.stderr) == ("", f"Error: not_found: user {NO_ID} not found\n")
