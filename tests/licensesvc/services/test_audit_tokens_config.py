"""The audit trail, API tokens, signing keys at rest and configuration."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select, text, update

from licensesvc.config import ConfigurationError, Policy, Settings
from licensesvc.models import ApiToken, AuditRecord, Customer, SigningKeyRecord
from licensesvc.services import audit, customers, signing, support_plan, tokens
from licensesvc.services.errors import Conflict, Unauthorized, ValidationFailed


def test_audit_chain_verifies_and_names_an_edited_record(world, analyst, session):
    report = audit.verify_chain(session)
    assert report.ok and report.records >= 7
    session.execute(update(AuditRecord).where(AuditRecord.id == 3).values(actor="mallory"))
    report = audit.verify_chain(session)
    assert not report.ok and report.first_bad_id == 3
    assert "edited" in report.problem


def test_audit_chain_names_the_record_after_a_deletion(world, analyst, session):
    session.execute(text("DELETE FROM audit_records WHERE id = 4"))
    report = audit.verify_chain(session)
    assert not report.ok and report.first_bad_id == 5


def test_audit_chain_detects_reordering(world, analyst, session):
    a, b = session.scalars(select(AuditRecord).where(AuditRecord.id.in_((2, 3)))).all()
    fields = ("at", "actor", "action", "entity_type", "entity_id", "details", "hash")
    va, vb = ({f: getattr(r, f) for f in fields} for r in (a, b))
    session.execute(update(AuditRecord).where(AuditRecord.id == 2).values(prev_hash="x" * 64))
    session.execute(update(AuditRecord).where(AuditRecord.id == 2).values(**vb))
    session.execute(update(AuditRecord).where(AuditRecord.id == 3).values(**va))
    report = audit.verify_chain(session)
    assert not report.ok and report.first_bad_id == 2


def test_failed_change_leaves_no_audit_record(analyst, session):
    before = audit.count_records(session)
    customers.create_customer(analyst, "Initech")
    with pytest.raises(Conflict):
        customers.create_customer(analyst, "Initech")
    assert audit.count_records(session) == before + 1


def test_tokens_are_stored_only_as_keyed_hashes(world, analyst, session, settings):
    rec, token = tokens.create_token(analyst, customer_id=world.base_customer)
    assert token.startswith("lsc_cust_") and len(token) > 32
    stored = session.scalar(select(ApiToken).where(ApiToken.id == rec.id))
    assert token not in (stored.token_hash, stored.prefix)
    actor = tokens.authenticate(session, settings, token)
    assert actor.kind == "customer" and actor.customer_id == world.base_customer
    tokens.revoke_token(analyst, rec.id)
    with pytest.raises(Unauthorized):
        tokens.authenticate(session, settings, token)
    with pytest.raises(Unauthorized):
        tokens.authenticate(session, settings, token[:-1] + "x")


def test_analyst_token_acts_as_analyst(analyst, session, settings):
    _, token = tokens.create_token(analyst, analyst="carol")
    assert token.startswith("lsc_anl_")
    actor = tokens.authenticate(session, settings, token)
    assert actor.is_analyst and actor.name == "carol"


def test_private_signing_keys_are_encrypted_at_rest(analyst, session):
    rec = session.scalar(select(SigningKeyRecord))
    assert b"ENCRYPTED PRIVATE KEY" in rec.private_key_encrypted
    assert signing.load_private(analyst, rec).kid == rec.kid


def test_second_generate_is_refused_rotate_retires(analyst):
    with pytest.raises(Conflict):
        signing.generate_signing_key(analyst)
    signing.rotate_signing_key(analyst)
    statuses = [r.status for r in signing.list_signing_keys(analyst)]
    assert statuses == ["retired", "active"]


def test_contract_ending_before_it_starts_is_refused(analyst):
    c = customers.create_customer(analyst, "Hooli")
    with pytest.raises(ValidationFailed, match="before it starts"):
        customers.create_contract(
            analyst, c.id, "base", date(2026, 5, 1), date(2026, 4, 1), date(2026, 4, 1)
        )
    with pytest.raises(ValidationFailed, match="unknown plan"):
        customers.create_contract(
            analyst, c.id, "gold", date(2026, 1, 1), date(2026, 12, 31), date(2026, 12, 31)
        )


def test_payment_cannot_move_paid_through_back(world, analyst):
    with pytest.raises(ValidationFailed, match="move it back"):
        customers.record_payment(analyst, world.base_contract, date(2020, 1, 1))


def test_customer_sees_only_itself(world, contexts):
    from licensesvc.services.errors import NotFound

    with pytest.raises(NotFound):
        customers.get_customer(contexts.customer(world.base_customer), world.premium_customer)
    assert (
        customers.get_customer(contexts.customer(world.base_customer), world.base_customer).name
        == "Acme"
    )
    assert contexts.session.scalar(select(Customer.name).where(Customer.id == world.base_customer))


def test_policy_reads_environment_and_rejects_nonsense(tmp_path):
    env = {
        "LICENSESVC_DATA_DIR": str(tmp_path),
        "LICENSESVC_POLICY_GRACE_DAYS": "10",
        "LICENSESVC_POLICY_TEMPORARY_MAY_OUTLIVE_CONTRACT": "true",
    }
    settings = Settings.from_env(env)
    assert settings.policy.grace_days == 10
    assert settings.policy.temporary_may_outlive_contract is True
    assert settings.database_url.startswith("sqlite:///")
    with pytest.raises(ConfigurationError, match="LICENSESVC_POLICY_GRACE_DAYS"):
        Policy.from_env({"LICENSESVC_POLICY_GRACE_DAYS": "ten"})
    with pytest.raises(ConfigurationError, match="SIGNING_KEY_PASSPHRASE"):
        Settings.from_env({"LICENSESVC_ENV": "production", "LICENSESVC_SECRET_KEY": "s"})


def test_development_secrets_are_generated_once_and_private(tmp_path):
    a = Settings.from_env({"LICENSESVC_DATA_DIR": str(tmp_path)})
    b = Settings.from_env({"LICENSESVC_DATA_DIR": str(tmp_path)})
    assert a.secret_key == b.secret_key and a.signing_key_passphrase == b.signing_key_passphrase
    assert (tmp_path / "dev-secrets.json").stat().st_mode & 0o077 == 0
    assert a.secret_key not in repr(a)


@pytest.mark.parametrize(
    ("start", "plan", "severity", "region", "expected"),
    [
        # 15:00 in Sydney (AEDT): 2 hours today, 2 tomorrow from 08:00; Premium sev 3 = 4 hours
        (
            datetime(2026, 3, 2, 4, 0, tzinfo=UTC),
            "premium",
            3,
            "apac",
            datetime(2026, 3, 2, 23, 0, tzinfo=UTC),
        ),
        # Christmas in EMEA: 24 Dec 17:00 GMT, Base sev 2 = 4 business hours
        (
            datetime(2026, 12, 24, 17, 0, tzinfo=UTC),
            "base",
            2,
            "emea",
            datetime(2026, 12, 29, 11, 0, tzinfo=UTC),
        ),
        # Thanksgiving in North America: Base sev 1 = 1 business hour, next day 8:00 EST
        (
            datetime(2026, 11, 26, 15, 0, tzinfo=UTC),
            "base",
            1,
            "na",
            datetime(2026, 11, 27, 14, 0, tzinfo=UTC),
        ),
    ],
)
def test_respond_by_counts_only_core_hours_outside_holidays(
    start, plan, severity, region, expected
):
    target = support_plan.initial_target(plan, severity)
    assert support_plan.add_business_time(start, target, support_plan.REGIONS[region]) == expected


def test_a_cut_tail_is_caught_against_a_noted_head(world, analyst, session):
    noted = audit.verify_chain(session)
    assert noted.ok and len(noted.head) == 64
    last = noted.records
    session.execute(text(f"DELETE FROM audit_records WHERE id >= {last - 1}"))
    assert audit.verify_chain(session).ok  # the chain alone cannot see a cut tail
    report = audit.verify_chain(session, expect_head=noted.head)
    assert not report.ok and report.first_bad_id == last - 1
    assert "cut off" in report.problem
