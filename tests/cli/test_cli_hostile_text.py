"""Text from outside reaches the analyst's terminal escaped (cli/output.printable): a note or
a name with escape sequences, written before the edge refused them, cannot retitle, clear or
colour the terminal in `case show`, `case list`, `audit list` or `customer show`; JSON output
stays exact. The edge now refuses such text, and a long or multi-line revoke reason never
breaks `revocations export`."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import update

from cli.output import printable
from licensesvc.models import Customer, KeyRequest
from licensesvc.runtime import Runtime
from tests.cli.cli_helpers import Cli, Shop, key_issue
from tests.cli.test_cli_keys_and_cases import refused_case

HOSTILE = "\x1b]0;pwned\x07\x1b[2J\x1b[31mred\x9b1m\u202eevil\r\nnext"
ESCAPED = "\\x1b]0;pwned\\x07\\x1b[2J\\x1b[31mred\\x9b1m\\u202eevil\\r\\nnext"


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        (HOSTILE, ESCAPED),
        ("plain text, é and 日本", "plain text, é and 日本"),
        ("\x00\ud800", "\\x00\\ud800"),
    ],
)
def test_printable_escapes_control_characters(raw: str, shown: str) -> None:
    assert printable(raw) == shown


def _write_raw(runtime: Runtime, statement: object) -> None:
    with runtime.sessions() as session:
        session.execute(statement)  # type: ignore[call-overload]
        session.commit()


def test_a_hostile_note_is_escaped_in_case_show_and_list(
    run: Cli, shop: Shop, runtime: Runtime
) -> None:
    case = refused_case(run, shop)
    run.ok("case", "escalate", case, "--note", "fine")
    _write_raw(
        runtime,
        update(KeyRequest).where(KeyRequest.case_number == case).values(escalation_note=HOSTILE),
    )
    shown = run.ok("case", "show", case).stdout
    assert ESCAPED in shown and "\x1b" not in shown and "\x07" not in shown
    listed = run.ok("case", "list").stdout
    assert "\x1b" not in listed
    # JSON stays the exact text (json.dumps escapes it)
    assert run.json("case", "show", case)["escalation_note"] == HOSTILE
    assert "\x1b" not in run.ok("--json", "case", "show", case).stdout


def test_a_hostile_name_is_escaped_in_customer_show_and_audit_list(
    run: Cli, shop: Shop, runtime: Runtime
) -> None:
    _write_raw(runtime, update(Customer).where(Customer.id == shop.acme).values(name=HOSTILE))
    shown = run.ok("customer", "show", shop.acme).stdout
    assert ESCAPED in shown and "\x1b" not in shown
    assert "\x1b" not in run.ok("customer", "list").stdout
    assert "\x1b" not in run.ok("audit", "list").stdout


@pytest.mark.parametrize(
    "args",
    [
        ("customer", "create", "--name", "Evil\x1b[2J", "--region", "na"),
        ("case", "escalate", "CS-1", "--note", "a\x00b"),
        ("key", "revoke", "SN-1\n", "--reason", "x"),
        ("customer", "show", str(2**31)),
        ("key", "list", "--license", str(2**63)),
    ],
)
def test_the_cli_edge_refuses_control_characters_and_big_ids(
    run: Cli, shop: Shop, args: tuple[str, ...]
) -> None:
    result = run.fails(*args, exit_code=2)
    assert "Invalid value" in result.stderr and "Traceback" not in result.output


@pytest.mark.parametrize("reason", ["line one\nline two", "x" * 10_000])
def test_a_long_or_multiline_revoke_reason_never_breaks_the_export(
    run: Cli, shop: Shop, reason: str
) -> None:
    serial = run.json(*key_issue(shop.acme_license, "standard"))["serial"]
    revoked = run.json("key", "revoke", serial, "--reason", reason, "--code", "customer_request")
    assert revoked["revocation_code"] == "customer_request"
    exported = run.json("revocations", "export")["revocation_list"]
    assert exported.startswith("LRL2.") and reason not in exported
    text = run.ok("revocations", "export").stdout
    assert text.strip() == exported  # the stored copy: the same text twice
    assert json.dumps(reason)[1:20] not in text
