"""Entitlement integrity (PRODUCT.md "what a key may never give away"), one table row per rule:
the refusal code, its words, and nothing written on a refusal besides the case and its audit
record. Runs on SQLite and on PostgreSQL (LICENSESVC_TEST_DATABASE_URL)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from click.testing import CliRunner

import keys
from licensesvc.accounts import LicenseUpdate, customers, update_license
from licensesvc.domain.errors import OverrideNotPossible, ValidationFailed
from licensesvc.domain.hosts import host_problem, normalize_host
from licensesvc.issuance import entitlements, signing
from licensesvc.issuance.issued_keys import signed_revocation_list, verify_online
from licensesvc.issuance.key_requests import (
    KeyRequestInput,
    KeyRequestOutcome,
    explain_request,
    grant_case,
    request_key,
)
from licensesvc.models import (
    AuditRecord,
    Contract,
    ContractPayment,
    IssuedKey,
    KeyRequest,
    License,
    QuotaSlot,
)
from tests.licensesvc.service_helpers import (
    ask,
    correct_paid_through,
    count,
    first_key,
    refusal,
)


def _snapshot(session):
    return {m.__name__: count(session, m) for m in (IssuedKey, QuotaSlot, License)}


def _with_first_key(world, analyst):
    first_key(analyst, world.base_license)
    first_key(analyst, world.premium_license)


def _license_expires_in(days):
    def setup(world, contexts):
        contexts.session.get(License, world.premium_license).expires_on = (
            contexts.clock.today + timedelta(days=days)
        )

    return setup


def _contract_ends_in(days):
    def setup(world, contexts):
        c = contexts.session.get(Contract, world.base_contract)
        c.end_date = contexts.clock.today + timedelta(days=days)
        correct_paid_through(contexts, world.base_contract, c.end_date)

    return setup


def _moves_used_up(world, contexts):
    cust = contexts.customer(world.base_customer)
    for n in range(contexts.settings.policy.host_moves_per_contract_year):
        assert ask(cust, world.base_license, "replacement", host=f"moved{n}.acme.example").key


def _nothing(world, contexts):
    return None


ROWS = [
    # rule, setup, customer, license, kind, request fields, code, words
    (
        "a replacement replaces",
        _nothing,
        "base",
        {"kind": "replacement"},
        "no_key_to_replace",
        "has no usable key to replace; its first key is a standard key",
        False,
    ),
    (
        "host moves per contract year",
        _moves_used_up,
        "base",
        {"kind": "replacement", "host": "one-too-many.acme.example"},
        "quota_exceeded",
        "4 of 4 host moves of this license this contract year used",
        True,
    ),
    (
        "a temporary key never passes the license's expiry",
        _license_expires_in(100),
        "premium",
        {"kind": "temporary", "reason": "usage_spike"},
        "invalid_window",
        "past the license's expiry",
        True,
    ),
    (
        "a DR window never passes the license's expiry",
        _license_expires_in(11),
        "premium",
        {"kind": "dr_test", "dr_test_offset": 10, "host": "dr2.globex.example"},
        "invalid_window",
        "runs past the license's expiry",
        True,
    ),
    (
        "a DR window lies inside the contract term",
        _contract_ends_in(12),
        "base",
        {"kind": "dr_test", "dr_test_offset": 10, "host": "dr2.acme.example"},
        "invalid_window",
        "must lie inside the contract term",
        True,
    ),
    (
        "a temporary key ends inside the term",
        lambda w, c: setattr(
            c.session.get(Contract, w.premium_contract),
            "end_date",
            c.clock.today + timedelta(days=60),
        ),
        "premium",
        {"kind": "temporary", "reason": "seasonal_testing"},
        "invalid_window",
        "past the contract end",
        True,
    ),
    (
        "a DR test date in the past",
        _nothing,
        "base",
        {"kind": "dr_test", "dr_test_offset": -1, "host": "dr2.acme.example"},
        "invalid_window",
        "is in the past",
        True,
    ),
    (
        "one host rule: a trailing newline is not a host",
        _nothing,
        "base",
        {"kind": "dr_test", "dr_test_offset": 10, "host": "dr2.acme.example\n"},
        "validation_error",
        "is not a host name",
        True,
    ),
]


def _input(world, contexts, who, fields):
    fields = dict(fields)
    offset = fields.pop("dr_test_offset", None)
    if offset is not None:
        fields["dr_test_date"] = contexts.clock.today + timedelta(days=offset)
    lic = world.base_license if who == "base" else world.premium_license
    return lic, fields


@pytest.mark.parametrize(
    ("rule", "setup", "who", "fields", "code", "words", "with_key"),
    ROWS,
    ids=[r[0] for r in ROWS],
)
def test_each_integrity_rule_refuses_with_its_code_and_words(
    world, analyst, contexts, rule, setup, who, fields, code, words, with_key
):
    if with_key:
        _with_first_key(world, analyst)
    setup(world, contexts)
    customer = world.base_customer if who == "base" else world.premium_customer
    lic, body = _input(world, contexts, who, fields)
    session = contexts.session
    before = _snapshot(session)
    cases, audits = count(session, KeyRequest), count(session, AuditRecord)
    out = ask(contexts.customer(customer), lic, **body)
    assert refusal(out) == code
    assert words in out.case.refusal_message
    # nothing written besides the case and its audit record
    assert _snapshot(session) == before
    assert count(session, KeyRequest) == cases + 1
    assert count(session, AuditRecord) == audits + 1
    # and the dry run lists the check that refused, with the same words
    decision = explain_request(contexts.customer(customer), KeyRequestInput(lic, **body))
    failing = [c for c in decision.checks if not c.passed]
    assert decision.refusal.code == code and words in decision.refusal.detail
    assert any(c.code == code for c in failing)


def test_no_key_to_replace_comes_after_validation_and_before_windows(world, contexts):
    cust = contexts.customer(world.base_customer)
    out = ask(cust, world.base_license, "replacement", host="bad host")
    assert refusal(out) == "validation_error"
    out = ask(cust, world.base_license, "replacement")
    assert refusal(out) == "no_key_to_replace"
    assert out.case.case_number.startswith("CS-")


@pytest.mark.parametrize(
    ("kind", "fields", "code", "words"),
    [
        ("dr_test", {"dr_test_offset": -3, "host": "dr9.acme.example"}, "invalid_window", "past"),
        ("replacement", {}, "no_key_to_replace", "no usable key"),
    ],
)
def test_an_override_never_bypasses_an_impossible_request(
    world, analyst, contexts, kind, fields, code, words
):
    lic, body = _input(world, contexts, "base", {"kind": kind, **fields})
    before = (_snapshot(contexts.session), count(contexts.session, KeyRequest))
    with pytest.raises(OverrideNotPossible) as err, contexts.session.begin_nested():
        # the caller rolls back on the error: nothing is recorded
        request_key(analyst, KeyRequestInput(lic, **body), override_reason="customer insists")
    assert err.value.code == code and words in err.value.message
    assert err.value.message.startswith("an override cannot issue this key")
    assert count(contexts.session, KeyRequest) == before[1]
    # nor does granting the refused case
    out = ask(contexts.customer(world.base_customer), lic, **body)
    with pytest.raises(OverrideNotPossible):
        grant_case(analyst, out.case.case_number, "customer insists")
    assert out.case.status == "refused"
    assert before[0] == _snapshot(contexts.session)


def test_an_override_still_bypasses_a_policy_refusal(world, analyst, contexts):
    _with_first_key(world, analyst)
    _moves_used_up(world, contexts)
    out = request_key(
        analyst,
        KeyRequestInput(world.base_license, "replacement", host="fifth.acme.example"),
        override_reason="data-centre exit, approved",
    )
    assert out.key is not None and out.overridden


def test_a_replacement_during_an_overlap_ends_that_overlap_at_once(world, analyst, contexts):
    first = first_key(analyst, world.base_license)
    cust = contexts.customer(world.base_customer)
    second = ask(cust, world.base_license, "replacement", host="b.acme.example").key
    contexts.clock.advance(days=1)
    third = ask(cust, world.base_license, "replacement", host="c.acme.example").key
    now = contexts.clock()
    assert first.usable_until == now  # its overlap ended when the third key was issued
    assert second.usable_until > now
    assert verify_online(analyst, first.key_text)["code"] == "superseded"
    assert verify_online(analyst, second.key_text)["code"] == "valid"
    assert verify_online(analyst, third.key_text)["code"] == "valid"
    trusted = signing.trusted_public_keys(analyst)
    rl = keys.verify_revocation_list(signed_revocation_list(analyst), trusted, at=now)
    listed = {e.serial: e for e in rl.entries}
    assert listed[first.serial].status == "superseded"
    assert listed[first.serial].revoked_at == now  # installers refuse it from now (with skew)
    later = now + timedelta(hours=1)
    with pytest.raises(keys.LicenseKeyError):
        keys.verify(first.key_text, trusted, at=later, revocations=rl)
    assert keys.verify(second.key_text, trusted, at=later, revocations=rl)


def test_one_dr_host_at_a_time(world, analyst, contexts):
    cust = contexts.customer(world.base_customer)
    day = contexts.clock.today + timedelta(days=20)
    assert ask(cust, world.base_license, "dr_test", dr_test_date=day, host="dr1.acme.example").key
    out = ask(cust, world.base_license, "dr_test", dr_test_date=day, host="dr2.acme.example")
    assert refusal(out) == "quota_exceeded"
    assert "one DR-test host at a time" in out.case.refusal_message


def test_maintenance_signed_into_a_key_never_passes_the_contract_end(world, analyst, contexts):
    contract = contexts.session.get(Contract, world.base_contract)
    # the ledger refuses such a payment; a row written past it (an old import) must not leak
    contexts.session.add(
        ContractPayment(
            contract_id=contract.id,
            paid_through=date(2030, 12, 31),
            recorded_at=contexts.clock(),
            recorded_by="import",
        )
    )
    contexts.session.flush()
    contexts.session.expire(contract)
    key = first_key(analyst, world.base_license)
    claims = keys.decode_unverified(key.key_text)
    assert claims.maintenance_until == contract.end_date


#: what is not a host, and what every path refuses alike (nothing is stripped or repaired);
#: tests/licensesvc/api/test_api_hostile_input.py asks the API about the same list
NOT_HOSTS = [
    "Sched01\n",
    "sched01 ",
    " sched01",
    "\tsched01",
    "sched01\r",
    "-sched",
    "a" * 201,
    "sched\x00",
    "sch/ed",
]
CONTROL_CHARACTER_HOSTS = ["Sched01\n", "\tsched01", "sched01\r", "sched\x00"]


@pytest.mark.parametrize("host", NOT_HOSTS)
def test_one_host_rule_everywhere_refuses_what_is_not_a_host(world, analyst, contexts, host):
    assert host_problem(host) is not None
    with pytest.raises(ValidationFailed, match="is not a host name"):
        customers.create_license(analyst, world.base_customer, "JAMS", 1, 1, host)
    with pytest.raises(ValidationFailed, match="is not a host name"):
        update_license(analyst, world.base_license, LicenseUpdate(host=host), "moved")
    with pytest.raises(ValidationFailed, match="is not a host name"):
        update_license(analyst, world.base_license, LicenseUpdate(failover_host=host), "new DR")
    assert contexts.session.get(License, world.base_license).host == "sched.acme.example"
    from cli.main import cli

    for args in (
        ["license", "create", "--customer", "1", "--product", "P", "--agents", "1"]
        + ["--jobs", "1", "--host", host],
        ["license", "update", "1", "--host", host, "--reason", "moved"],
        ["license", "update", "1", "--failover-host", host, "--reason", "new DR"],
        ["key", "issue", "--license", "1", "--kind", "replacement", "--host", host],
    ):
        result = CliRunner().invoke(cli, args)
        assert result.exit_code == 2 and "is not a host name" in result.output, args
        assert "Traceback" not in result.output


@pytest.mark.parametrize("host", CONTROL_CHARACTER_HOSTS)
def test_a_control_character_in_a_host_is_named_as_such(host: str) -> None:
    problem = host_problem(host)
    assert problem is not None and problem.startswith("must not contain control characters")


def test_a_valid_host_is_stored_in_lower_case() -> None:
    assert normalize_host("Sched01.ACME.example") == "sched01.acme.example"


def test_create_update_and_key_requests_store_a_host_in_lower_case(world, analyst, contexts):
    lic = customers.create_license(
        analyst, world.base_customer, "JAMS", 1, 1, "Sched01.ACME.example", "DR01.Acme.example"
    )
    assert (lic.host, lic.failover_host) == ("sched01.acme.example", "dr01.acme.example")
    update_license(analyst, lic.id, LicenseUpdate(host="Sched02.ACME.example"), "moved")
    assert lic.host == "sched02.acme.example"
    asked = KeyRequestInput(world.base_license, "replacement", host="NEW01.Acme.example")
    outcome = request_key(analyst, asked)
    assert isinstance(outcome, KeyRequestOutcome)
    assert outcome.case.host == "new01.acme.example"


def test_the_report_says_what_each_license_can_have_today(world, analyst, contexts):
    cust = contexts.customer(world.premium_customer)
    report = entitlements.entitlement_report(cust, world.premium_customer)
    (lic,) = report.licenses
    assert lic.allowed_key_kinds == ["dr_test", "temporary"]
    assert [(u.kind, u.code) for u in lic.unavailable] == [("replacement", "no_key_to_replace")]
    assert lic.host_moves_left == 4 and lic.dr_tests_left == 2
    first_key(analyst, world.premium_license)
    temp = ask(cust, world.premium_license, "temporary", reason="usage_spike").key
    ask(cust, world.premium_license, "replacement", host="moved.globex.example")
    report = entitlements.entitlement_report(cust, world.premium_customer)
    (lic,) = report.licenses
    assert lic.allowed_key_kinds == ["replacement", "dr_test"]
    assert lic.temporary_slot_frees_at == temp.expires_at
    assert lic.host_moves_left == 3
    assert lic.dr_year_resets_on == report.quotas.dr_test.resets_on
    assert "sched.globex.example" in lic.usable_hosts  # the host it is moving from
    assert report.keys_out_of_date == []


def test_keys_out_of_date_lists_keys_whose_claims_no_longer_match(world, analyst, contexts):
    key = first_key(analyst, world.base_license)
    contexts.session.get(License, world.base_license).agents = 50
    report = entitlements.entitlement_report(analyst, world.base_customer)
    (stale,) = report.keys_out_of_date
    assert stale.serial == key.serial
    assert [(d.claim, d.key, d.records) for d in stale.differences] == [("agents", 10, 50)]
    assert "replacement key on the same host" in stale.refresh
    ask(contexts.customer(world.base_customer), world.base_license, "replacement")
    assert entitlements.entitlement_report(analyst, world.base_customer).keys_out_of_date == []
