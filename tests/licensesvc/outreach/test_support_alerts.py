"""Support hears of an escalation at once: every escalation, and a case's first overdue, puts
one mail to LICENSESVC_SUPPORT_EMAIL in the outbox in the escalation's own transaction, and
one pass of the sender delivers it through a real SMTP server (aiosmtpd on 127.0.0.1)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from licensesvc import outreach
from licensesvc.accounts import customers
from licensesvc.config import ConfigurationError, Policy, Settings
from licensesvc.db import make_engine, make_sessionmaker
from licensesvc.identity import users
from licensesvc.issuance import signing
from licensesvc.issuance.key_requests import KeyRequestInput, escalate_case, request_key
from licensesvc.mail import SmtpSettings, send_due
from licensesvc.migrate import upgrade
from licensesvc.models.outbox import OutboxMessage
from licensesvc.platform.context import Actor, ServiceContext
from licensesvc.runtime import Runtime
from tests.conftest import FakeClock, fresh_database_url
from tests.smtp_helpers import SmtpServer, smtp_server_or_skip

SUPPORT = "support-desk@vendor.example"


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    server = smtp_server_or_skip()
    yield server
    server.stop()


@pytest.fixture
def desk(tmp_path: Path, clock: FakeClock) -> Iterator[tuple[Runtime, dict[str, Any]]]:
    """A committed database with a premium customer in New York whose request was refused."""
    for url in fresh_database_url(tmp_path, "support"):
        settings = Settings(
            database_url=url,
            secret_key="test-secret",
            signing_key_passphrase="test-passphrase",
            data_dir=tmp_path,
            policy=Policy(),
            support_email=SUPPORT,
            signing_key_kdf_rounds=1_000,
        )
        engine = make_engine(url)
        runtime = Runtime(settings, engine, make_sessionmaker(engine), clock)
        upgrade(engine)
        with runtime.unit_of_work(Actor.analyst("alice")) as ctx:
            signing.generate_signing_key(ctx)
            acme = customers.create_customer(ctx, "Acme <Logistics>", "na")
            today = clock.today
            customers.create_contract(
                ctx,
                acme.id,
                "premium",
                today - timedelta(30),
                today + timedelta(335),
                today + timedelta(335),
            )
            lic = customers.create_license(
                ctx, acme.id, "JAMS Scheduler", 10, 100, "s.acme.example"
            )
            users.create_user(ctx, acme.id, "ops@acme.example", "correct horse battery")
            customer = ServiceContext(ctx.session, ctx.settings, Actor.customer(acme.id), clock)
            refused = request_key(
                customer, KeyRequestInput(lic.id, "replacement", host="bad host!")
            )
        yield runtime, {"customer": acme.id, "case_number": refused.case.case_number}
        engine.dispose()


def escalate(runtime: Runtime, clock: FakeClock, ids: dict[str, int], **kw: object) -> None:
    with runtime.unit_of_work(Actor.customer(ids["customer"])) as ctx:
        escalate_case(ctx, ids["case_number"], **kw)  # type: ignore[arg-type]


def support_mails(runtime: Runtime) -> list[OutboxMessage]:
    with runtime.sessions() as session:
        return list(
            session.scalars(
                select(OutboxMessage)
                .where(OutboxMessage.event.in_(("support_escalation", "support_overdue")))
                .order_by(OutboxMessage.id)
            )
        )


def test_a_sev_1_escalation_reaches_support_within_one_outbox_pass(desk, smtp, clock):
    runtime, ids = desk
    escalate(
        runtime, clock, ids, note="Production is down <script>x</script>\nsince 02:00", severity=1
    )
    report = send_due(runtime, SmtpSettings.from_env(smtp.env))  # type: ignore[arg-type]
    assert report.sent >= 1
    to_support = [a for a in smtp.mailbox.arrivals if a.rcpt_tos == [SUPPORT]]
    assert len(to_support) == 1
    mail = to_support[0]
    number = ids["case_number"]
    assert mail.subject == (
        f"[SEV 1] Case {number} escalated by Acme <Logistics> (Sev 1, review_refusal)"
    )
    text = mail.part("plain").replace("\r\n", "\n")
    assert "Severity:    1" in text
    # respond-by in the customer's zone (New York) and in UTC
    assert "Respond by:  2026-03-02 11:00 EST (America/New_York), 2026-03-02T16:00:00Z" in text
    assert f"licensesvc case show {number}" in text
    assert "Production is down <script>x</script>\nsince 02:00" in text
    html = mail.part("html")
    assert "&lt;script&gt;x&lt;/script&gt;" in html and "<script>" not in html
    # the customer's portal users do not get support's mail
    assert all(SUPPORT not in a.rcpt_tos or a.rcpt_tos == [SUPPORT] for a in smtp.mailbox.arrivals)
    # exactly once: another pass sends nothing more
    send_due(runtime, SmtpSettings.from_env(smtp.env))  # type: ignore[arg-type]
    assert len([a for a in smtp.mailbox.arrivals if a.rcpt_tos == [SUPPORT]]) == 1


def test_a_sev_3_escalation_is_not_flagged_in_the_subject(desk, smtp, clock):
    runtime, ids = desk
    escalate(runtime, clock, ids, severity=3)
    send_due(runtime, SmtpSettings.from_env(smtp.env))  # type: ignore[arg-type]
    (mail,) = [a for a in smtp.mailbox.arrivals if a.rcpt_tos == [SUPPORT]]
    assert not mail.subject.startswith("[SEV") and "(Sev 3, review_refusal)" in mail.subject


def test_the_first_overdue_is_told_once_and_a_reescalation_again(desk, clock):
    runtime, ids = desk
    escalate(runtime, clock, ids, severity=2)
    clock.advance(days=10)
    for _ in range(3):
        with runtime.unit_of_work(Actor.analyst("cron")) as ctx:
            outreach.scan(ctx)
    events = [m.event for m in support_mails(runtime)]
    assert events == ["support_escalation", "support_overdue"]
    overdue = support_mails(runtime)[1]
    assert overdue.context["severity"] == 2 and "overdue_reason" in overdue.context
    # escalated again because it is overdue: a new escalation, and its own first overdue
    escalate(runtime, clock, ids)
    clock.advance(days=10)
    with runtime.unit_of_work(Actor.analyst("cron")) as ctx:
        outreach.scan(ctx)
    assert [m.event for m in support_mails(runtime)] == [
        "support_escalation",
        "support_overdue",
        "support_escalation",
        "support_overdue",
    ]


def test_a_failed_smtp_delivery_is_retried_until_it_arrives(desk, smtp, clock):
    runtime, ids = desk
    escalate(runtime, clock, ids, severity=1)
    smtp.mailbox.refuse = "451 4.3.0 try again later"
    assert send_due(runtime, SmtpSettings.from_env(smtp.env)).sent == 0  # type: ignore[arg-type]
    smtp.mailbox.refuse = None
    clock.advance(minutes=5)
    send_due(runtime, SmtpSettings.from_env(smtp.env))  # type: ignore[arg-type]
    assert len([a for a in smtp.mailbox.arrivals if a.rcpt_tos == [SUPPORT]]) == 1


def test_without_a_support_address_the_mail_fails_visibly(desk, smtp, clock):
    runtime, ids = desk
    runtime = replace(runtime, settings=replace(runtime.settings, support_email=None))
    escalate(runtime, clock, ids, severity=1)
    send_due(runtime, SmtpSettings.from_env(smtp.env))  # type: ignore[arg-type]
    (mail,) = support_mails(runtime)
    assert mail.status == "failed" and "LICENSESVC_SUPPORT_EMAIL" in (mail.last_error or "")


@pytest.mark.parametrize("value", ["not-an-address", "a@b.example, c@d.example"])
def test_a_bad_support_address_names_the_variable(tmp_path, value):
    env = {"LICENSESVC_SUPPORT_EMAIL": value, "LICENSESVC_DATA_DIR": str(tmp_path)}
    with pytest.raises(ConfigurationError, match="LICENSESVC_SUPPORT_EMAIL"):
        Settings.from_env(env)


def test_the_support_address_is_read_from_the_environment(tmp_path):
    env = {"LICENSESVC_SUPPORT_EMAIL": SUPPORT, "LICENSESVC_DATA_DIR": str(tmp_path)}
    assert Settings.from_env(env).support_email == SUPPORT
