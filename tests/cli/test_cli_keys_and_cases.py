"""Keys, cases, signing keys, revocation lists and the audit trail through the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import text

import keys
from licensesvc.models import IssuedKey, KeyRequest
from tests.cli.cli_helpers import Cli, Shop, contract_create, count, key_issue, license_create
from tests.conftest import FakeClock


def public_pem(run: Cli, tmp_path: Path) -> Path:
    out = tmp_path / "vendor-public.pem"
    run.ok("signing-key", "export-public", "--out", out)
    return out


def test_standard_key_issue_prints_the_key_and_the_case_number(run: Cli, shop: Shop) -> None:
    result = run.ok(*key_issue(shop.acme_license, "standard"))
    lines = result.stdout.splitlines()
    assert lines[0].startswith(keys.KEY_PREFIX)
    claims = keys.decode_unverified(lines[0])
    assert f"serial   {claims.serial}" in result.stdout
    assert f"case     {claims.case_number}" in result.stdout
    assert claims.case_number and claims.case_number.startswith("CS-20260302-")


def test_key_issue_out_writes_a_license_file_that_verifies(
    run: Cli, shop: Shop, tmp_path: Path
) -> None:
    out = tmp_path / "acme.lic"
    issued = run.json(*key_issue(shop.acme_license, "standard", out=out))
    assert issued["out"] == str(out) and issued["status"] == "active"
    assert set(issued) >= {"serial", "key", "case_number", "kind", "expires_at"}
    content = out.read_text()
    assert content.startswith("-----BEGIN LICENSESVC LICENSE-----")
    trusted = [keys.PublicKey.from_pem(public_pem(run, tmp_path).read_text())]
    at = keys.decode_unverified(content).issued_at
    assert keys.verify(content, trusted, at=at).serial == issued["serial"]


def test_a_refused_key_request_prints_code_and_case_on_one_line_and_exits_1(
    run: Cli, shop: Shop
) -> None:
    result = run.fails(*key_issue(shop.acme_license, "temporary", reason="usage_spike"))
    assert result.stdout == ""
    [line] = result.stderr.splitlines()
    assert line.startswith("refused: plan_not_eligible (case CS-20260302-")
    assert line.endswith("): temporary keys are a Premium plan service; this contract is base")
    case_number = line.split("(case ")[1].split(")")[0]
    case = run.json("case", "show", case_number)
    assert case["status"] == "refused" and case["refusal_code"] == "plan_not_eligible"
    assert count(run, IssuedKey) == 0


def test_a_refused_key_request_in_json_still_names_the_case(run: Cli, shop: Shop) -> None:
    result = run.fails("--json", *key_issue(shop.acme_license, "temporary", reason="usage_spike"))
    refused = json.loads(result.stdout)
    assert refused["status"] == "refused" and refused["refusal_code"] == "plan_not_eligible"
    assert result.stderr.startswith(f"refused: plan_not_eligible (case {refused['case_number']})")


def test_an_override_reason_grants_and_lands_in_the_audit_trail(run: Cli, shop: Shop) -> None:
    reason = "approved by support lead, ticket 4711"
    issued = run.json(
        *key_issue(shop.acme_license, "temporary", reason="usage_spike", override_reason=reason)
    )
    assert issued["kind"] == "temporary" and issued["overridden"] is True
    assert issued["expires_at"] == "2026-06-30T15:00:00Z"  # 120 days
    trail = run.json("audit", "list", "--entity", f"case:{issued['case_number']}")
    assert trail[0]["action"] == "case.overridden"
    assert trail[0]["reason"] == reason
    assert trail[0]["actor"] == "analyst:alice"
    assert trail[0]["details"]["overrode"] == "plan_not_eligible"


def test_key_issue_for_unknown_license_or_kind(run: Cli, shop: Shop) -> None:
    result = run.fails(*key_issue(404, "standard"))
    assert result.stderr == "Error: not_found: license 404 not found\n"
    result = run.fails(*key_issue(shop.acme_license, "golden"), exit_code=2)
    assert "Invalid value for '--kind'" in result.stderr
    assert count(run, KeyRequest) == 0


def test_a_dr_test_key_needs_its_date_in_advance(run: Cli, shop: Shop) -> None:
    result = run.fails(*key_issue(shop.acme_license, "dr_test", dr_test_date="2026-03-01"))
    assert result.stderr.startswith("refused: invalid_window (case ")
    issued = run.json(
        *key_issue(
            shop.acme_license, "dr_test", dr_test_date="2026-04-15", host="dr-site.acme.example"
        )
    )
    assert issued["dr_test_date"] == "2026-04-15"


def test_no_key_is_issued_before_a_signing_key_exists(run: Cli) -> None:
    customer = run.json("customer", "create", "--name", "Early")["id"]
    run.ok(*contract_create(customer))
    lic = run.json(*license_create(customer))["id"]
    result = run.fails(*key_issue(lic, "standard"))
    assert "not_configured: no active signing key" in result.stderr
    assert count(run, KeyRequest) == 0


def test_key_list_show_and_export(run: Cli, shop: Shop, tmp_path: Path) -> None:
    issued = run.json(*key_issue(shop.acme_license, "standard"))
    serial = issued["serial"]
    listed = run.json("key", "list", "--customer", shop.acme)
    assert [k["serial"] for k in listed] == [serial] and "key" not in listed[0]
    assert run.json("key", "list", "--customer", shop.globex) == []
    assert run.json("key", "list", "--license", shop.acme_license)[0]["serial"] == serial
    table = run.ok("key", "list").stdout.splitlines()
    assert table[0].split()[:3] == ["SERIAL", "KIND", "STATUS"]
    assert run.json("key", "show", serial)["key"] == issued["key"]
    assert f"serial           {serial}" in run.ok("key", "show", serial).stdout
    assert run.ok("key", "export", serial).stdout == issued["key"] + "\n"
    assert run.ok("key", "export", serial, "--format", "file").stdout.startswith("-----BEGIN")
    out = tmp_path / "k.lic"
    exported = run.json("key", "export", serial, "--format", "file", "--out", out)
    assert exported["out"] == str(out) and out.read_text() == exported["content"]
    assert run.fails("key", "show", "SN-NOPE").stderr == "Error: not_found: key SN-NOPE not found\n"
    assert run.fails("key", "list", "--customer", 99).stderr.startswith("Error: not_found")


def test_revoking_a_key_twice_is_one_clear_line(run: Cli, shop: Shop) -> None:
    serial = run.json(*key_issue(shop.acme_license, "standard"))["serial"]
    revoked = run.json("key", "revoke", serial, "--reason", "server decommissioned")
    assert revoked["status"] == "revoked" and revoked["revoked_reason"] == "server decommissioned"
    result = run.fails("key", "revoke", serial, "--reason", "again")
    assert result.stderr == (
        f"Error: invalid_state: key {serial} was already revoked on 2026-03-02\n"
    )
    assert run.fails("key", "revoke", "SN-NOPE", "--reason", "x").stderr.startswith(
        "Error: not_found"
    )
    assert run.fails("key", "revoke", serial, exit_code=2).stderr.count("--reason") == 1


def refused_case(run: Cli, shop: Shop) -> str:
    result = run.fails(
        "--json", *key_issue(shop.acme_license, "temporary", reason="seasonal_testing")
    )
    return str(json.loads(result.stdout)["case_number"])


def test_an_escalated_case_is_listed_and_granted_with_a_reason(run: Cli, shop: Shop) -> None:
    case = refused_case(run, shop)
    assert run.json("case", "list", "--escalated") == []
    escalated = run.json("case", "escalate", case, "--note", "peak season", "--severity", 2)
    assert escalated["status"] == "escalated" and escalated["respond_by"]
    listed = run.ok("case", "list", "--escalated").stdout.splitlines()
    assert listed[0].split()[:3] == ["CASE", "SEV", "CUSTOMER"]
    assert listed[1].split()[:3] == [case, "2", "Acme"]
    granted = run.json("case", "grant", case, "--reason", "support lead approved")
    assert granted["status"] == "granted" and granted["decided_by"] == "analyst:alice"
    assert granted["key"]["kind"] == "temporary" and granted["key"]["key"]
    trail = run.json("audit", "list", "--entity", f"case:{case}")
    assert [r["action"] for r in trail] == ["case.overridden", "case.escalated", "case.refused"]
    assert trail[0]["reason"] == "support lead approved"
    result = run.fails("case", "grant", case, "--reason", "twice")
    assert f"invalid_state: case {case} is granted; it can no longer be granted" in result.stderr


def test_a_case_is_denied_with_a_reason_once(run: Cli, shop: Shop) -> None:
    case = refused_case(run, shop)
    out = run.ok("case", "deny", case, "--reason", "Base plan: upgrade to Premium").stdout
    assert out == f"denied {case}: Base plan: upgrade to Premium\n"
    shown = run.json("case", "show", case)
    assert shown["status"] == "denied" and shown["decision_reason"].startswith("Base plan")
    assert (
        "is denied; it can no longer be denied"
        in run.fails("case", "deny", case, "--reason", "x").stderr
    )
    assert "only a refused case, or an escalated one" in run.fails("case", "escalate", case).stderr


def test_unknown_cases(run: Cli) -> None:
    for args in (
        ["show", "CS-NOPE"],
        ["grant", "CS-NOPE", "--reason", "r"],
        ["deny", "CS-NOPE", "--reason", "r"],
        ["escalate", "CS-NOPE"],
    ):
        assert run.fails("case", *args).stderr == "Error: not_found: case CS-NOPE not found\n"


def test_case_list_filters(run: Cli, shop: Shop) -> None:
    refused_case(run, shop)
    run.ok(*key_issue(shop.globex_license, "standard"))
    assert [c["status"] for c in run.json("case", "list", "--status", "granted")] == ["granted"]
    assert [c["customer_id"] for c in run.json("case", "list", "--customer", shop.acme)] == [
        shop.acme
    ]
    assert len(run.json("case", "list")) == 2
    assert run.fails("case", "list", "--escalated", "--status", "granted", exit_code=2)


def test_signing_keys_generate_once_rotate_list_and_export(
    run: Cli, shop: Shop, tmp_path: Path
) -> None:
    assert "use `signing-key rotate`" in run.fails("signing-key", "generate").stderr
    first = run.json("signing-key", "list")[0]["kid"]
    rotated = run.json("signing-key", "rotate")
    assert rotated["status"] == "active" and rotated["rotation_statement"]
    listed = run.ok("signing-key", "list").stdout.splitlines()
    assert listed[0].split() == ["KID", "STATUS", "CREATED", "RETIRED", "PROTECTION"]
    assert [line.split()[:2] for line in listed[1:]] == [
        [first, "retired"],
        [rotated["kid"], "active"],
    ]
    pem = run.ok("signing-key", "export-public").stdout
    assert keys.PublicKey.from_pem(pem).kid == rotated["kid"]
    bundle = tmp_path / "all.pem"
    exported = run.json("signing-key", "export-public", "--all", "--out", bundle)
    assert [k["kid"] for k in exported["keys"]] == [first, rotated["kid"]]
    assert bundle.read_text().count("BEGIN PUBLIC KEY") == 2


def test_export_public_without_any_signing_key(run: Cli) -> None:
    assert "not_found: no active signing key" in run.fails("signing-key", "export-public").stderr
    assert "not_found: no active signing key" in run.fails("signing-key", "rotate").stderr


def test_the_revocation_list_carries_a_revoked_key_to_offline_installers(
    run: Cli, shop: Shop, tmp_path: Path
) -> None:
    lic = tmp_path / "acme.lic"
    serial = run.json(*key_issue(shop.acme_license, "standard", out=lic))["serial"]
    pem = public_pem(run, tmp_path)
    at = "2026-03-02T16:00:00Z"
    assert run.ok("verify", lic, "--public-key", pem, "--at", at).stdout.startswith("valid\n")
    run.ok("key", "revoke", serial, "--reason", "leaked")
    rl = tmp_path / "revocations.lrl"
    assert run.ok("revocations", "export", "--out", rl).stdout.startswith("wrote")
    result = run.fails("verify", lic, "--public-key", pem, "--revocations", rl, "--at", at)
    assert result.stdout.startswith(f"revoked: The license key {serial} was revoked")
    printed = run.ok("revocations", "export").stdout.strip()
    assert printed.startswith("LRL2.")
    assert run.json("revocations", "export")["revocation_list"].startswith("LRL2.")


def test_audit_list_and_verify(run: Cli, shop: Shop) -> None:
    records = run.json("audit", "list", "--customer", shop.acme, "--limit", 2)
    assert [r["action"] for r in records] == ["license.created", "contract.created"]
    assert run.ok("audit", "list").stdout.splitlines()[0].split()[:4] == [
        "ID",
        "AT",
        "ACTOR",
        "ACTION",
    ]
    report = run.json("audit", "verify")
    assert (report["ok"], report["records"], report["first_bad_id"]) == (True, 7, None)
    assert run.ok("audit", "verify").stdout == (
        f"audit chain intact: 7 records, head {report['head']}\n"
    )
    assert run.fails("audit", "list", "--limit", 0, exit_code=2)


def test_a_tampered_audit_trail_fails_verification_naming_the_record(run: Cli, shop: Shop) -> None:
    with run.runtime.sessions() as session:
        session.execute(text("UPDATE audit_records SET reason = 'edited' WHERE id = 3"))
        session.commit()
    result = run.fails("audit", "verify")
    assert result.stderr == (
        "Error: audit chain broken at record 3: its content was edited after it was written\n"
    )
    report = json.loads(run.fails("--json", "audit", "verify").stdout)
    assert report["ok"] is False and report["first_bad_id"] == 3


def test_records_cut_off_the_end_fail_against_a_noted_head(run: Cli, shop: Shop) -> None:
    noted = run.json("audit", "verify")["head"]
    assert run.ok("audit", "verify", "--expect-head", noted)
    with run.runtime.sessions() as session:
        session.execute(text("DELETE FROM audit_records WHERE id >= 6"))
        session.commit()
    assert run.ok("audit", "verify")  # the chain alone cannot see a cut tail
    result = run.fails("audit", "verify", "--expect-head", noted)
    assert result.stderr.startswith("Error: audit chain broken at record 6: the trail ends before")


def test_as_names_the_analyst_in_the_audit_trail(run: Cli) -> None:
    run.ok("--as", "bob", "customer", "create", "--name", "Umbrella")
    assert run.json("audit", "list", "--limit", 1)[0]["actor"] == "analyst:bob"
    run.ok("customer", "create", "--name", "Hooli")  # CliState default in these tests: alice
    assert run.json("audit", "list", "--limit", 1)[0]["actor"] == "analyst:alice"


@pytest.mark.parametrize("where", ["root", "subcommand"])
def test_json_is_accepted_before_and_after_the_subcommand(run: Cli, where: str) -> None:
    args = ["--json", "customer", "list"] if where == "root" else ["customer", "list", "--json"]
    assert json.loads(run.ok(*args).stdout) == []


def test_the_revocation_cascade_and_its_delta_carry_a_revocation_offline(
    run: Cli, shop: Shop, tmp_path: Path, clock: FakeClock
) -> None:
    lic = tmp_path / "acme.lic"
    serial = run.json(*key_issue(shop.acme_license, "standard", out=lic))["serial"]
    pem = public_pem(run, tmp_path)
    clock.advance(minutes=3)  # the base covers keys issued up to 2 minutes before it is built
    base = tmp_path / "base.lrc"
    wrote = run.json("revocations", "export", "--format", "cascade", "--out", base)
    assert wrote["bytes"] == base.stat().st_size and base.read_bytes()[:4] == b"LRC1"
    at = clock.current.strftime("%Y-%m-%dT%H:%M:%SZ")
    checked = ("verify", lic, "--public-key", pem, "--at", at, "--revocations", base)
    assert run.ok(*checked).stdout.startswith("valid\n")
    run.ok("key", "revoke", serial, "--reason", "leaked")
    delta = tmp_path / "d1.lrc"
    out = run.ok(
        "revocations",
        "export",
        "--format",
        "cascade",
        "--delta-since",
        wrote["generation"],
        "--out",
        delta,
    ).stdout
    assert out.startswith(f"wrote the revocation delta since generation {wrote['generation']}")
    result = run.fails(*checked, "--revocations", delta)
    assert result.stdout.startswith(f"revoked: The license key {serial} is revoked")
    # a cascade is binary: it goes to a file; --delta-since goes with a cascade
    assert "--out" in run.fails("revocations", "export", "--format", "cascade", exit_code=2).output
    assert (
        "--format cascade"
        in run.fails("revocations", "export", "--delta-since", 5, exit_code=2).output
    )
