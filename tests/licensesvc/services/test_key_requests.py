"""The key-request policy, told as the customers and analysts who meet it."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select

import keys
from licensesvc.models import AuditRecord, Contract, IssuedKey, KeyRequest
from licensesvc.services import customers, signing
from licensesvc.services.errors import (
    Forbidden,
    InvalidState,
    KeyRequestRefused,
    NotFound,
    ValidationFailed,
)
from licensesvc.services.issued_keys import effective_status, verify_online
from licensesvc.services.key_requests import (
    Decision,
    KeyRequestInput,
    KeyRequestOutcome,
    deny_case,
    escalate_case,
    grant_case,
    request_key,
)


def ask(ctx, license_id, kind, **kw) -> KeyRequestOutcome:
    out = request_key(ctx, KeyRequestInput(license_id, kind, **kw))
    assert isinstance(out, KeyRequestOutcome)
    return out


def refusal(out: KeyRequestOutcome) -> str | None:
    return out.case.refusal_code if out.case.status == "refused" else None


def count(session, model) -> int:
    return session.scalar(select(func.count()).select_from(model))


def test_base_customer_gets_a_replacement_that_supersedes_the_old_key(world, analyst, contexts):
    first = ask(analyst, world.base_license, "standard").key
    cust = contexts.customer(world.base_customer)
    out = ask(cust, world.base_license, "replacement")
    assert out.case.status == "granted"
    assert out.key.supersedes == first.serial
    assert first.status == "superseded"
    assert first.usable_until == contexts.clock() + timedelta(days=14)
    claims = keys.decode_unverified(out.key.key_text)
    assert claims.kind == "replacement" and claims.supersedes == first.serial
    assert claims.case_number == out.case.case_number


def test_superseded_key_verifies_during_overlap_and_fails_after(world, analyst, contexts):
    first = ask(analyst, world.base_license, "standard").key
    ask(contexts.customer(world.base_customer), world.base_license, "replacement")
    during = verify_online(analyst, first.key_text)
    assert during["valid"] and during["status"] == "superseded"
    contexts.clock.advance(days=15)
    after = verify_online(analyst, first.key_text)
    assert not after["valid"] and after["code"] == "superseded"


def test_base_plan_cannot_get_temporary_key(world, contexts):
    out = ask(
        contexts.customer(world.base_customer),
        world.base_license,
        "temporary",
        reason="usage_spike",
    )
    assert refusal(out) == "plan_not_eligible"
    assert out.case.case_number.startswith("CS-")
    assert "Premium" in out.case.refusal_message
    assert count(contexts.session, IssuedKey) == 0


def test_premium_customer_gets_a_120_day_temporary_key(world, analyst, contexts):
    out = ask(
        contexts.customer(world.premium_customer),
        world.premium_license,
        "temporary",
        reason="infrastructure_change",
    )
    assert out.case.status == "granted"
    assert out.key.expires_at - out.key.issued_at == timedelta(days=120)
    assert keys.decode_unverified(out.key.key_text).reason == "infrastructure_change"


@pytest.mark.parametrize("reason", [None, "because"])
def test_temporary_key_needs_one_of_the_four_reasons(world, contexts, reason):
    out = ask(
        contexts.customer(world.premium_customer),
        world.premium_license,
        "temporary",
        reason=reason,
    )
    assert refusal(out) == "validation_error"
    assert "infrastructure_change" in out.case.refusal_message


def test_second_temporary_key_at_once_exceeds_quota(world, contexts):
    cust = contexts.customer(world.premium_customer)
    assert ask(cust, world.premium_license, "temporary", reason="usage_spike").key
    assert refusal(ask(cust, world.premium_license, "temporary", reason="usage_spike")) == (
        "quota_exceeded"
    )
    contexts.clock.advance(days=121)  # the first one has expired: its slot is free again
    # contract still active? the world contract runs 335 days from start
    assert ask(cust, world.premium_license, "temporary", reason="usage_spike").key


def test_temporary_key_may_not_outlive_the_contract_by_default(world, contexts, analyst):
    contract = contexts.session.get(Contract, world.premium_contract)
    contract.end_date = contexts.clock.today + timedelta(days=60)
    out = ask(
        contexts.customer(world.premium_customer),
        world.premium_license,
        "temporary",
        reason="seasonal_testing",
    )
    assert refusal(out) == "invalid_window"
    assert "past the contract end" in out.case.refusal_message
    allowing = contexts.with_policy(temporary_may_outlive_contract=True)
    out = ask(
        allowing.customer(world.premium_customer),
        world.premium_license,
        "temporary",
        reason="seasonal_testing",
    )
    assert out.case.status == "granted"


def test_dr_test_key_is_valid_only_around_the_test_date(world, contexts):
    test_day = contexts.clock.today + timedelta(days=10)
    out = ask(
        contexts.customer(world.base_customer),
        world.base_license,
        "dr_test",
        dr_test_date=test_day,
        host="dr-site.acme.example",
    )
    key = out.key
    assert key.not_before == datetime.combine(
        test_day - timedelta(days=2), datetime.min.time(), UTC
    )
    assert key.expires_at == datetime.combine(
        test_day + timedelta(days=5), datetime.max.time().replace(microsecond=0), UTC
    )
    claims = keys.decode_unverified(key.key_text)
    assert claims.host == "dr-site.acme.example" and claims.failover_host is None
    trusted = signing.trusted_public_keys(contexts.analyst())
    with pytest.raises(keys.NotYetValid):
        keys.verify(key.key_text, trusted, at=contexts.clock())
    keys.verify(key.key_text, trusted, at=datetime.combine(test_day, datetime.min.time(), UTC))


@pytest.mark.parametrize("days_ahead", [0, -3, 181])
def test_dr_test_key_must_be_requested_in_advance_and_not_too_far(world, contexts, days_ahead):
    out = ask(
        contexts.customer(world.base_customer),
        world.base_license,
        "dr_test",
        dr_test_date=contexts.clock.today + timedelta(days=days_ahead),
    )
    assert refusal(out) == "invalid_window"


def test_dr_test_key_needs_a_test_date(world, contexts):
    out = ask(contexts.customer(world.base_customer), world.base_license, "dr_test")
    assert refusal(out) == "validation_error"
    assert "test date" in out.case.refusal_message


def test_dr_test_quota_per_contract_year(world, contexts):
    cust = contexts.customer(world.base_customer)
    day = contexts.clock.today + timedelta(days=20)
    for _ in range(2):
        assert ask(cust, world.base_license, "dr_test", dr_test_date=day).key
    third = ask(cust, world.base_license, "dr_test", dr_test_date=day)
    assert refusal(third) == "quota_exceeded"
    assert "2 of 2" in third.case.refusal_message


def test_lapsed_maintenance_refuses_with_reason_and_grace_allows(world, contexts):
    contract = contexts.session.get(Contract, world.base_contract)
    correct_paid_through(contexts, contract.id, contexts.clock.today - timedelta(days=3))
    cust = contexts.customer(world.base_customer)
    out = ask(cust, world.base_license, "replacement")
    assert refusal(out) == "maintenance_lapsed"
    assert str(contract.paid_through) in out.case.refusal_message
    graced = contexts.with_policy(grace_days=5)
    assert ask(graced.customer(world.base_customer), world.base_license, "replacement").key
    contract.grace_days = 1  # a contract's own grace overrides the policy default
    assert refusal(ask(graced.customer(world.base_customer), world.base_license, "replacement"))


def test_expired_contract_wins_over_every_other_refusal(world, contexts):
    contract = contexts.session.get(Contract, world.base_contract)
    contract.end_date = contexts.clock.today - timedelta(days=1)
    correct_paid_through(contexts, contract.id, contexts.clock.today - timedelta(days=100))
    out = ask(contexts.customer(world.base_customer), world.base_license, "temporary")
    assert refusal(out) == "contract_expired"
    assert "ended on" in out.case.refusal_message


def test_precedence_plan_before_validation(world, contexts):
    # a temporary key on Base without a reason: plan_not_eligible comes before validation_error
    out = ask(contexts.customer(world.base_customer), world.base_license, "temporary")
    assert refusal(out) == "plan_not_eligible"


def test_dry_run_lists_every_check_and_writes_nothing(world, contexts):
    session = contexts.session
    before = (count(session, KeyRequest), count(session, AuditRecord))
    decision = request_key(
        contexts.customer(world.base_customer),
        KeyRequestInput(world.base_license, "temporary", reason="usage_spike"),
        dry_run=True,
    )
    assert isinstance(decision, Decision)
    assert [c.name for c in decision.checks] == [
        "contract_active",
        "maintenance_current",
        "plan_eligible",
        "request_valid",
        "window_valid",
        "quota_available",
    ]
    assert decision.refusal.code == "plan_not_eligible"
    assert (count(session, KeyRequest), count(session, AuditRecord)) == before


def test_customer_cannot_request_standard_key_or_touch_another_customers_license(world, contexts):
    cust = contexts.customer(world.base_customer)
    with pytest.raises(Forbidden):
        ask(cust, world.base_license, "standard")
    with pytest.raises(NotFound):
        ask(cust, world.premium_license, "replacement")


def test_unknown_kind_is_a_validation_error_without_a_case(world, contexts):
    with pytest.raises(ValidationFailed):
        ask(contexts.customer(world.base_customer), world.base_license, "golden")
    assert count(contexts.session, KeyRequest) == 0


def test_refused_case_escalates_with_respond_by_in_business_hours(world, contexts):
    # Monday 2 March 2026, 15:00 UTC = 10:00 in New York; Base, severity 3 => 1 business day
    cust = contexts.customer(world.base_customer)
    out = ask(cust, world.base_license, "temporary", reason="usage_spike")
    case = escalate_case(cust, out.case.case_number, note="we bought Premium last week")
    assert case.status == "escalated"
    assert case.respond_by == datetime(2026, 3, 3, 15, 0, tzinfo=UTC)
    with pytest.raises(InvalidState):
        escalate_case(cust, out.case.case_number)


def test_premium_severity_2_escalation_on_friday_evening_lands_monday(world, contexts):
    # Friday 6 March 2026 17:00 GMT (EMEA, 1 hour before close), Premium sev 2 => 2 business hours
    contexts.clock.set(datetime(2026, 3, 6, 17, 0, tzinfo=UTC))
    contract = contexts.session.get(Contract, world.premium_contract)
    correct_paid_through(contexts, contract.id, date(2026, 1, 1))
    cust = contexts.customer(world.premium_customer)
    out = ask(cust, world.premium_license, "replacement")
    case = escalate_case(cust, out.case.case_number, severity=2)
    assert case.respond_by == datetime(2026, 3, 9, 9, 0, tzinfo=UTC)


def test_analyst_grants_an_escalated_case_with_a_reason_in_the_audit_trail(world, contexts):
    cust = contexts.customer(world.base_customer)
    out = ask(cust, world.base_license, "temporary", reason="usage_spike")
    escalate_case(cust, out.case.case_number)
    analyst = contexts.analyst("bob")
    with pytest.raises(ValidationFailed):
        grant_case(analyst, out.case.case_number, "  ")
    granted = grant_case(analyst, out.case.case_number, "upgrade to Premium in progress")
    assert granted.case.status == "granted" and granted.key.kind == "temporary"
    assert granted.case.decided_by == "analyst:bob"
    rec = contexts.session.scalar(
        select(AuditRecord).where(AuditRecord.action == "case.overridden")
    )
    assert rec.reason == "upgrade to Premium in progress"
    assert rec.details["overrode"] == "plan_not_eligible"


def test_customer_cannot_grant_and_analyst_denies_with_reason(world, contexts):
    cust = contexts.customer(world.base_customer)
    out = ask(cust, world.base_license, "temporary", reason="usage_spike")
    escalate_case(cust, out.case.case_number)
    with pytest.raises(Forbidden):
        grant_case(cust, out.case.case_number, "please")
    case = deny_case(contexts.analyst(), out.case.case_number, "Base plan; offered an upgrade")
    assert case.status == "denied"
    with pytest.raises(InvalidState):
        grant_case(contexts.analyst(), out.case.case_number, "changed my mind")


def test_override_reason_grants_what_policy_refuses(world, contexts):
    contract = contexts.session.get(Contract, world.base_contract)
    correct_paid_through(contexts, contract.id, contexts.clock.today - timedelta(days=40))
    out = request_key(
        contexts.analyst(),
        KeyRequestInput(world.base_license, "replacement"),
        override_reason="payment received by wire, not yet booked",
    )
    assert out.case.status == "granted" and out.overridden
    with pytest.raises(Forbidden):
        request_key(
            contexts.customer(world.base_customer),
            KeyRequestInput(world.base_license, "replacement"),
            override_reason="trust me",
        )


def test_refusal_raises_with_case_number_after_commit(world, contexts):
    out = ask(contexts.customer(world.base_customer), world.base_license, "temporary")
    with pytest.raises(KeyRequestRefused) as err:
        out.raise_if_refused()
    assert err.value.code == "plan_not_eligible"
    assert err.value.status == 403
    assert err.value.case_number == out.case.case_number


def test_every_decision_writes_its_audit_record(world, contexts):
    cust = contexts.customer(world.base_customer)
    ask(cust, world.base_license, "temporary")
    ask(cust, world.base_license, "replacement")
    actions = list(contexts.session.scalars(select(AuditRecord.action).order_by(AuditRecord.id)))
    assert actions[-3:] == ["case.refused", "key.issued", "case.granted"]


def test_revoked_key_fails_online_verification(world, analyst):
    from licensesvc.services.issued_keys import revoke_key

    key = ask(analyst, world.base_license, "standard").key
    revoke_key(analyst, key.serial, "customer reported it leaked")
    answer = verify_online(analyst, key.key_text)
    assert answer["valid"] is False and answer["code"] == "revoked"
    assert answer["status"] == "revoked"
    with pytest.raises(InvalidState):
        revoke_key(analyst, key.serial, "again")


def test_forged_key_reveals_nothing(world, analyst):
    other = keys.SigningKey.generate()
    key = ask(analyst, world.base_license, "standard").key
    claims = keys.decode_unverified(key.key_text)
    forged = keys.sign_key(claims, other)
    answer = verify_online(analyst, forged, nonce="n-1")
    assert answer["valid"] is False and answer["status"] == "unknown"
    assert "claims" not in answer and answer["nonce"] == "n-1"


def test_temporary_key_expires_after_120_days(world, contexts):
    out = ask(
        contexts.customer(world.premium_customer),
        world.premium_license,
        "temporary",
        reason="upgrade_patching",
    )
    contexts.clock.advance(days=121)
    assert effective_status(out.key, contexts.clock()) == "expired"


def test_rotation_keeps_old_keys_verifying(world, analyst, contexts):
    old = ask(analyst, world.base_license, "standard").key
    new_rec = signing.rotate_signing_key(analyst)
    assert new_rec.rotation_statement
    trusted_old = {
        old.signing_kid: keys.PublicKey.from_pem(
            signing.list_signing_keys(analyst)[0].public_key_pem
        )
    }
    learned = keys.follow_rotation(new_rec.rotation_statement, trusted_old)
    assert learned.kid == new_rec.kid
    newer = ask(contexts.customer(world.base_customer), world.base_license, "replacement").key
    assert newer.signing_kid == new_rec.kid
    assert verify_online(analyst, old.key_text)["valid"]  # within overlap, old kid still trusted


def test_license_host_moves_with_a_replacement_for_a_new_server(world, analyst, contexts):
    out = ask(
        contexts.customer(world.base_customer),
        world.base_license,
        "replacement",
        host="new-sched.acme.example",
    )
    lic = customers.get_license(analyst, world.base_license)
    assert lic.host == "new-sched.acme.example"
    assert keys.decode_unverified(out.key.key_text).host == "new-sched.acme.example"


def test_offline_installer_refuses_a_superseded_key_after_its_overlap(world, analyst, contexts):
    from licensesvc.services.issued_keys import revoke_key, signed_revocation_list

    first = ask(analyst, world.base_license, "standard").key
    ask(contexts.customer(world.base_customer), world.base_license, "replacement")
    other = ask(contexts.customer(world.premium_customer), world.premium_license, "replacement").key
    revoke_key(analyst, other.serial, "leaked")
    trusted = signing.trusted_public_keys(analyst)
    rl = keys.verify_revocation_list(signed_revocation_list(analyst), trusted, at=contexts.clock())
    assert {(e.serial, e.status) for e in rl.entries} == {
        (first.serial, "superseded"),
        (other.serial, "revoked"),
    }
    assert keys.verify(first.key_text, trusted, at=contexts.clock(), revocations=rl)
    with pytest.raises(keys.Revoked):
        keys.verify(other.key_text, trusted, at=contexts.clock(), revocations=rl)
    with pytest.raises(keys.StaleRevocationList):  # a week-old list is not trusted silently
        keys.verify(first.key_text, trusted, at=contexts.clock.advance(days=15), revocations=rl)
    fresh = keys.verify_revocation_list(
        signed_revocation_list(analyst), trusted, at=contexts.clock()
    )
    with pytest.raises(keys.Revoked, match="overlap ended"):
        keys.verify(first.key_text, trusted, at=contexts.clock(), revocations=fresh)


def test_revoking_a_temporary_key_frees_its_place_but_a_dr_key_stays_counted(world, contexts):
    from licensesvc.services.issued_keys import revoke_key

    cust = contexts.customer(world.premium_customer)
    temp = ask(cust, world.premium_license, "temporary", reason="usage_spike").key
    assert refusal(ask(cust, world.premium_license, "temporary", reason="usage_spike"))
    revoke_key(contexts.analyst(), temp.serial, "wrong server")
    assert ask(cust, world.premium_license, "temporary", reason="usage_spike").key

    day = contexts.clock.today + timedelta(days=20)
    for _ in range(2):
        dr = ask(cust, world.premium_license, "dr_test", dr_test_date=day).key
    revoke_key(contexts.analyst(), dr.serial, "test moved")
    assert refusal(ask(cust, world.premium_license, "dr_test", dr_test_date=day)) == (
        "quota_exceeded"
    )


def correct_paid_through(contexts, contract_id, paid_through):
    """Move a contract's paid-through by a ledger correction (history is never edited)."""
    from licensesvc.services.contracts import record_payment

    record_payment(
        contexts.analyst(),
        contract_id,
        paid_through,
        correction=True,
        reason="test: maintenance paid through an earlier day",
    )
