"""Customers hear back: each event puts one message in the outbox in its own transaction, the
scan finds what is about to end, and the sender delivers each message once through a real
SMTP server, however many senders run and however often the server refuses."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from licensesvc import accounts
from licensesvc.accounts import customers
from licensesvc.config import ConfigurationError, Policy, Settings
from licensesvc.db import make_engine, make_sessionmaker
from licensesvc.domain.errors import InvalidState, ValidationFailed
from licensesvc.identity import users
from licensesvc.issuance import issued_keys, signing
from licensesvc.issuance.key_requests import (
    KeyRequestInput,
    KeyRequestOutcome,
    deny_case,
    escalate_case,
    grant_case,
    request_key,
)
from licensesvc.mail import SmtpSettings, send_due
from licensesvc.migrate import upgrade
from licensesvc.models.outbox import OutboxMessage
from licensesvc.outreach import notifications
from licensesvc.platform import outbox as outbox_writer
from licensesvc.platform.context import Actor, ServiceContext
from licensesvc.platform.outbox import Event
from licensesvc.runtime import Runtime
from tests.conftest import FakeClock, fresh_database_url
from tests.licensesvc.service_helpers import correct_paid_through
from tests.smtp_helpers import SmtpServer, smtp_server_or_skip


def ask(ctx: ServiceContext, license_id: int, kind: str, **kw: object) -> KeyRequestOutcome:
    out = request_key(ctx, KeyRequestInput(license_id, kind, **kw))  # type: ignore[arg-type]
    assert isinstance(out, KeyRequestOutcome)
    return out


def outbox(session: Session) -> list[tuple[str, str]]:
    """(event, subject_ref) of every message, oldest first."""
    rows = session.execute(
        select(OutboxMessage.event, OutboxMessage.subject_ref).order_by(OutboxMessage.id)
    )
    return [tuple(r) for r in rows]  # type: ignore[misc]


# -- each event, once, in the event's transaction ----------------------------------------


def test_an_issued_key_is_one_message_in_the_same_transaction(world, analyst, contexts):
    out = ask(analyst, world.base_license, "standard")
    assert outbox(contexts.session) == [("key_issued", f"key:{out.key.serial}")]
    message = contexts.session.scalar(select(OutboxMessage))
    assert message.status == "pending" and message.customer_id == world.base_customer
    assert message.context["product"] == "JAMS Scheduler"
    assert message.context["host"] == "sched.acme.example"


def test_a_rolled_back_grant_leaves_no_message(world, analyst, contexts):
    savepoint = contexts.session.begin_nested()
    ask(analyst, world.base_license, "standard")
    savepoint.rollback()
    assert outbox(contexts.session) == []


def test_a_refused_request_sends_nothing_until_an_analyst_decides(world, analyst, contexts):
    ask(analyst, world.base_license, "standard")
    customer = contexts.customer(world.base_customer)
    refused = ask(customer, world.base_license, "temporary", reason="usage_spike")
    assert refused.case.status == "refused"
    escalate_case(customer, refused.case.case_number, "go-live Friday")
    # the customer hears nothing yet; the vendor's support address hears of the escalation
    assert [e for e, _ in outbox(contexts.session)] == ["key_issued", "support_escalation"]
    outcome = grant_case(analyst, refused.case.case_number, "goodwill, approved by J. Doe")
    message = contexts.session.scalar(
        select(OutboxMessage).where(OutboxMessage.event == "case_granted")
    )
    assert message.subject_ref == f"case:{refused.case.case_number}"
    assert message.context["decision_reason"] == "goodwill, approved by J. Doe"
    assert message.context["key"]["serial"] == outcome.key.serial
    # the key of a granted case is told in the case's message, not in a second one
    assert [e for e, _ in outbox(contexts.session)] == [
        "key_issued",
        "support_escalation",
        "case_granted",
    ]


def test_a_denied_case_tells_the_refusal_and_the_reason(world, analyst, contexts):
    customer = contexts.customer(world.base_customer)
    refused = ask(customer, world.base_license, "temporary", reason="usage_spike")
    deny_case(analyst, refused.case.case_number, "temporary keys are a Premium service")
    message = contexts.session.scalar(select(OutboxMessage))
    assert (message.event, message.context["refusal_code"]) == ("case_denied", "plan_not_eligible")
    assert message.context["decision_reason"] == "temporary keys are a Premium service"


def test_a_revoked_key_is_told_with_its_code_never_the_analysts_words(world, analyst, contexts):
    key = ask(analyst, world.base_license, "standard").key
    issued_keys.revoke_key(analyst, key.serial, "issued to the wrong host", "issued_in_error")
    assert outbox(contexts.session)[-1] == ("key_revoked", f"key:{key.serial}")
    message = contexts.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()[-1]
    assert message.context["code"] == "issued_in_error"
    assert "issued to the wrong host" not in str(message.context)


def test_a_payment_tells_of_keys_now_out_of_date_once_per_date(world, analyst, contexts):
    correct_paid_through(analyst, world.base_contract, contexts.clock.today + timedelta(days=100))
    key = ask(analyst, world.base_license, "standard").key
    paid = contexts.clock.today + timedelta(days=200)
    customers.record_payment(analyst, world.base_contract, paid)
    customers.record_payment(analyst, world.base_contract, paid)  # the same date again
    stale = [m for m in contexts.session.scalars(select(OutboxMessage)) if m.event != "key_issued"]
    assert [(m.event, m.subject_ref) for m in stale] == [
        ("key_out_of_date", f"contract:{world.base_contract}")
    ]
    assert stale[0].context["paid_through"] == paid.isoformat()
    assert [k["serial"] for k in stale[0].context["keys"]] == [key.serial]


def test_a_payment_with_every_key_current_sends_nothing(world, analyst, contexts):
    ask(analyst, world.base_license, "standard")
    contract = accounts.get_contract(analyst, world.base_contract)
    customers.record_payment(analyst, world.base_contract, contract.paid_through)
    assert [e for e, _ in outbox(contexts.session)] == ["key_issued"]


def test_each_update_of_a_case_is_its_own_message(world, analyst, contexts):
    customer = contexts.customer(world.base_customer)
    case = ask(customer, world.base_license, "temporary", reason="usage_spike").case
    outbox_writer.case_updated(analyst, case, "looking into it", "1")
    outbox_writer.case_updated(analyst, case, "looking into it", "1")  # reported twice
    outbox_writer.case_updated(analyst, case, "fixed", "2")
    messages = contexts.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))
    assert [m.context["text"] for m in messages] == ["looking into it", "fixed"]


def test_enqueue_is_once_per_event_subject_and_threshold(world, analyst, contexts):
    first = outbox_writer.enqueue(analyst, Event.KEY_ISSUED, world.base_customer, "key:X", {})
    again = outbox_writer.enqueue(analyst, Event.KEY_ISSUED, world.base_customer, "key:X", {})
    other = outbox_writer.enqueue(
        analyst, Event.KEY_ISSUED, world.base_customer, "key:X", {}, threshold="7d"
    )
    assert first is not None and again is None and other is not None
    assert len(outbox(contexts.session)) == 2


# -- the scan: what is about to end ---------------------------------------------------------


def test_the_scan_tells_of_a_dr_window_and_a_temporary_key_ending_once(world, analyst, contexts):
    clock: FakeClock = contexts.clock
    ask(analyst, world.premium_license, "standard")
    customer = contexts.customer(world.premium_customer)
    dr = ask(customer, world.premium_license, "dr_test", dr_test_date=clock.today + timedelta(30))
    temp = ask(customer, world.premium_license, "temporary", reason="usage_spike")
    assert notifications.scan(analyst).total == 0
    clock.advance(days=30)  # the DR window ends 6 days after the test
    assert notifications.scan(analyst).enqueued["dr_window_ending"] == 1
    clock.advance(days=84)  # the temporary key ends 120 days after issue
    report = notifications.scan(analyst)
    assert report.enqueued["temporary_key_ending"] == 1 and report.total == 1
    assert notifications.scan(analyst).total == 0
    ending = [(e, s) for e, s in outbox(contexts.session) if e.endswith("_ending")]
    assert ending == [
        ("dr_window_ending", f"key:{dr.key.serial}"),
        ("temporary_key_ending", f"key:{temp.key.serial}"),
    ]


def test_the_scan_tells_of_maintenance_lapsing_at_30_then_7_days(world, analyst, contexts):
    clock: FakeClock = contexts.clock
    correct_paid_through(analyst, world.base_contract, clock.today + timedelta(days=45))
    assert notifications.scan(analyst).total == 0
    clock.advance(days=15)  # 30 days left
    assert notifications.scan(analyst).enqueued["maintenance_lapsing"] == 1
    clock.advance(days=10)  # 20 left: already told
    assert notifications.scan(analyst).total == 0
    clock.advance(days=13)  # 7 left
    assert notifications.scan(analyst).enqueued["maintenance_lapsing"] == 1
    thresholds = [
        m.context["threshold_days"]
        for m in contexts.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))
    ]
    assert thresholds == [30, 7]


def test_maintenance_found_within_7_days_gets_only_the_7_day_message(world, analyst, contexts):
    correct_paid_through(analyst, world.base_contract, contexts.clock.today + timedelta(days=3))
    assert notifications.scan(analyst).enqueued["maintenance_lapsing"] == 1
    message = contexts.session.scalar(select(OutboxMessage))
    assert (message.context["threshold_days"], message.context["days_left"]) == (7, 3)


def test_a_contract_paid_to_its_end_is_not_lapsing(world, analyst, contexts):
    contexts.clock.advance(days=330)  # paid through the contract's end, 5 days ahead
    assert notifications.scan(analyst).enqueued["maintenance_lapsing"] == 0


# -- claiming: one sender per message ------------------------------------------------------


def test_two_senders_never_claim_the_same_message(world, analyst, contexts):
    users.create_user(analyst, world.base_customer, "ops@acme.example", "correct horse battery")
    for n in range(5):
        outbox_writer.enqueue(analyst, Event.KEY_ISSUED, world.base_customer, f"key:{n}", {})
    first = notifications.claim_due(analyst, "sender-a", 3)
    second = notifications.claim_due(analyst, "sender-b", 10)
    assert len(first) == 3 and len(second) == 2
    assert not {m.id for m in first} & {m.id for m in second}
    assert notifications.claim_due(analyst, "sender-c", 10) == []
    assert notifications.mark_sent(analyst, first[0].id, "sender-b", ["x@y"]) is False
    assert notifications.mark_sent(analyst, first[0].id, "sender-a", ["x@y"]) is True
    contexts.clock.advance(minutes=11)  # the leases of a and b ran out
    reclaimed = notifications.claim_due(analyst, "sender-c", 10)
    assert {m.id for m in reclaimed} == {m.id for m in first[1:] + second}
    assert first[0].recipients == ("ops@acme.example",)


def test_a_message_for_a_customer_without_portal_users_fails_visibly(world, analyst, contexts):
    outbox_writer.enqueue(analyst, Event.KEY_ISSUED, world.base_customer, "key:X", {})
    assert notifications.claim_due(analyst, "sender-a", 10) == []
    [failed] = notifications.list_messages(analyst, status="failed").items
    assert failed.last_error == "the customer has no portal users to write to"
    assert notifications.retry(analyst, failed.id).status == "pending"
    with pytest.raises(InvalidState, match="only a failed one is retried"):
        notifications.retry(analyst, failed.id)


def test_failures_back_off_then_give_up_visibly():
    waits = [notifications.backoff(n) for n in (1, 2, 3, 7, 30)]
    assert waits == [
        timedelta(minutes=1),
        timedelta(minutes=2),
        timedelta(minutes=4),
        timedelta(hours=1),
        timedelta(hours=1),
    ]


def test_listing_refuses_an_unknown_status(analyst):
    with pytest.raises(ValidationFailed, match="unknown status 'lost'"):
        notifications.list_messages(analyst, status="lost")


# -- delivery through a real SMTP server -------------------------------------------------


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    server = smtp_server_or_skip()
    yield server
    server.stop()


@pytest.fixture
def mail_db(tmp_path: Path) -> Iterator[str]:
    """A database of its own (SQLite file or PostgreSQL), committed to for real: the senders
    run in other threads with their own connections."""
    yield from fresh_database_url(tmp_path, "mail")


def make_runtime(url: str, tmp_path: Path, clock: FakeClock) -> Runtime:
    settings = Settings(
        database_url=url,
        secret_key="test-secret",
        signing_key_passphrase="test-passphrase",
        data_dir=tmp_path,
        policy=Policy(),
    )
    engine = make_engine(url)
    return Runtime(settings, engine, make_sessionmaker(engine), clock)


@pytest.fixture
def shop(
    mail_db: str, tmp_path: Path, clock: FakeClock
) -> Iterator[tuple[Runtime, dict[str, int]]]:
    runtime = make_runtime(mail_db, tmp_path, clock)
    upgrade(runtime.engine)
    ids: dict[str, int] = {}
    with runtime.unit_of_work(Actor.analyst("alice")) as ctx:
        signing.generate_signing_key(ctx)
        acme = customers.create_customer(ctx, "Acme <Logistics> & Sons", "na")
        today = clock.today
        contract = customers.create_contract(
            ctx,
            acme.id,
            "premium",
            today - timedelta(30),
            today + timedelta(335),
            today + timedelta(90),
        )
        lic = customers.create_license(
            ctx, acme.id, "JAMS Scheduler", 10, 100, "sched.acme.example"
        )
        for email in ("ops@acme.example", "cto@acme.example"):
            users.create_user(ctx, acme.id, email, "correct horse battery")
        ids = {"customer": acme.id, "contract": contract.id, "license": lic.id}
    yield runtime, ids
    runtime.engine.dispose()


def smtp_settings(server: SmtpServer) -> SmtpSettings:
    settings = SmtpSettings.from_env(server.env)
    assert settings is not None
    return settings


def pending(runtime: Runtime) -> int:
    with runtime.sessions() as session:
        return (
            session.scalar(
                select(func.count())
                .select_from(OutboxMessage)
                .where(OutboxMessage.status == "pending")
            )
            or 0
        )


def enqueue_many(runtime: Runtime, customer_id: int, n: int) -> None:
    with runtime.unit_of_work(Actor.analyst("alice")) as ctx:
        for i in range(n):
            outbox_writer.enqueue(
                ctx,
                Event.CASE_UPDATED,
                customer_id,
                "case:CS-20260302-AAAAAA",
                {
                    "case_number": "CS-20260302-AAAAAA",
                    "status": "escalated",
                    "text": f"update {i}",
                    "updated_at": ctx.now(),
                    "next_update_due": None,
                },
                threshold=f"update={i}",
            )


def test_every_event_arrives_once_as_text_and_html_to_the_portal_users(shop, smtp, clock):
    runtime, ids = shop
    with runtime.unit_of_work(Actor.analyst("alice")) as ctx:
        key = ask(ctx, ids["license"], "standard").key
        customer = ServiceContext(ctx.session, ctx.settings, Actor.customer(ids["customer"]), clock)
        refused = ask(customer, ids["license"], "replacement", host="bad host!")
        escalate_case(customer, refused.case.case_number, "<script>alert(1)</script> please")
        deny_case(ctx, refused.case.case_number, "a host name has no spaces <b>or bangs</b>")
        issued_keys.revoke_key(ctx, key.serial, "issued in error")
        serial = key.serial
    report = send_due(runtime, smtp_settings(smtp))
    assert (report.sent, report.retrying, report.failed) == (3, 0, 0)
    assert send_due(runtime, smtp_settings(smtp)).sent == 0  # nothing twice
    arrivals = smtp.mailbox.arrivals
    assert sorted(a.subject for a in arrivals) == sorted(
        [
            f"Your standard key {serial} is ready",
            f"Case {refused.case.case_number}: the refusal stands",
            f"Key {serial} has been revoked",
        ]
    )
    for arrival in arrivals:
        assert sorted(arrival.rcpt_tos) == ["cto@acme.example", "ops@acme.example"]
        assert arrival.mail_from == "support@vendor.example"
        assert "Dear Acme <Logistics> & Sons team," in arrival.part("plain")
        assert "Dear Acme &lt;Logistics&gt; &amp; Sons team," in arrival.part("html")
    denied = next(a for a in arrivals if "refusal stands" in a.subject)
    assert "a host name has no spaces <b>or bangs</b>" in denied.part("plain")
    assert "no spaces &lt;b&gt;or bangs&lt;/b&gt;" in denied.part("html")
    assert "<b>" not in denied.part("html")
    assert pending(runtime) == 0


def test_two_concurrent_senders_deliver_each_message_once(shop, smtp):
    runtime, ids = shop
    enqueue_many(runtime, ids["customer"], 60)
    settings = smtp_settings(smtp)
    senders = [
        make_runtime(str(runtime.settings.database_url), runtime.settings.data_dir, runtime.clock)
        for _ in range(2)
    ]
    reports = []
    barrier = threading.Barrier(2)

    def run(r: Runtime) -> None:
        barrier.wait()
        reports.append(send_due(r, settings, batch=5))

    threads = [threading.Thread(target=run, args=(r,)) for r in senders]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    for r in senders:
        r.engine.dispose()
    counts = smtp.mailbox.by_outbox_id()
    assert len(counts) == 60 and set(counts.values()) == {1}
    assert sum(r.sent for r in reports) == 60
    assert pending(runtime) == 0


@pytest.mark.parametrize("outage", ["451 4.3.0 mailbox busy, try later", "connection refused"])
def test_a_server_that_refuses_then_recovers_loses_nothing(shop, smtp, clock, outage):
    runtime, ids = shop
    enqueue_many(runtime, ids["customer"], 5)
    settings = smtp_settings(smtp)
    if outage == "connection refused":
        smtp.stop()
    else:
        smtp.mailbox.refuse = outage
    report = send_due(runtime, settings)
    assert report.sent == 0 and report.retrying >= 1 and report.failed == 0
    assert pending(runtime) == 5 and smtp.mailbox.arrivals == []
    with runtime.unit_of_work(Actor.analyst("alice")) as ctx:
        page = notifications.list_messages(ctx, status="pending")
    tried = [m for m in page.items if m.attempts]
    assert tried and all(
        ("451" in m.last_error) if outage.startswith("451") else ("cannot reach" in m.last_error)
        for m in tried
    )
    assert send_due(runtime, settings).sent == 0  # backing off: not due yet
    if outage == "connection refused":
        smtp.start()
    else:
        smtp.mailbox.refuse = None
    clock.advance(minutes=2)
    assert send_due(runtime, settings).sent == 5
    counts = smtp.mailbox.by_outbox_id()
    assert len(counts) == 5 and set(counts.values()) == {1}


def test_a_permanent_refusal_marks_the_message_failed_until_retried(shop, smtp):
    runtime, ids = shop
    enqueue_many(runtime, ids["customer"], 1)
    smtp.mailbox.refuse = "550 5.1.1 no such user"
    report = send_due(runtime, smtp_settings(smtp))
    assert (report.sent, report.failed) == (0, 1)
    with runtime.unit_of_work(Actor.analyst("alice")) as ctx:
        [failed] = notifications.list_messages(ctx, status="failed").items
        assert "550 5.1.1 no such user" in (failed.last_error or "")
        notifications.retry(ctx, failed.id)
    smtp.mailbox.refuse = None
    assert send_due(runtime, smtp_settings(smtp)).sent == 1


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"LICENSESVC_SMTP_URL": "http://mail"}, "LICENSESVC_SMTP_URL must look like smtp://"),
        ({"LICENSESVC_SMTP_URL": "smtp://mail:25"}, "LICENSESVC_MAIL_FROM must be the sender's"),
        (
            {"LICENSESVC_SMTP_URL": "smtp://mail:x", "LICENSESVC_MAIL_FROM": "a@b.example"},
            "has a port that is not a number",
        ),
    ],
)
def test_bad_smtp_settings_name_the_variable(env, message):
    with pytest.raises(ConfigurationError, match=message):
        SmtpSettings.from_env(env)


def test_smtp_settings_read_credentials_without_showing_them():
    settings = SmtpSettings.from_env(
        {
            "LICENSESVC_SMTP_URL": "smtps://mailer:s%40cret@mail.example",
            "LICENSESVC_MAIL_FROM": "s@v.example",
        }
    )
    assert settings is not None
    assert (settings.host, settings.port, settings.tls) == ("mail.example", 465, True)
    assert (settings.username, settings.password) == ("mailer", "s@cret")
    assert "s@cret" not in repr(settings) and settings.label == "smtps://mail.example:465"
    assert SmtpSettings.from_env({}) is None


def test_dates_in_messages_are_iso_text(world, analyst, contexts):
    outbox_writer.enqueue(
        analyst,
        Event.MAINTENANCE_LAPSING,
        world.base_customer,
        "contract:1",
        {"on": date(2026, 4, 1)},
    )
    assert contexts.session.scalar(select(OutboxMessage.context)) == {"on": "2026-04-01"}


# -- migration 0006 on a database made by the previous migration, with data ----------------


def test_migration_0006_adds_the_outbox_and_keeps_every_row(tmp_path):
    from sqlalchemy import inspect, text

    from licensesvc.migrate import downgrade

    for url in fresh_database_url(tmp_path, "mig0006"):
        engine = make_engine(url)
        upgrade(engine, "0001")
        with engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO customers (name, region, created_at) "
                    "VALUES ('Acme', 'na', '2026-01-01 00:00:00+00:00')"
                )
            )
            conn.execute(
                text(
                    "INSERT INTO users (customer_id, email, password_hash, created_at) "
                    "VALUES (1, 'ops@acme.example', 'x', '2026-01-01 00:00:00+00:00')"
                )
            )
        upgrade(engine, "0006")
        with engine.begin() as conn:
            assert conn.execute(text("SELECT name FROM customers")).scalar_one() == "Acme"
            assert conn.execute(text("SELECT email FROM users")).scalar_one() == "ops@acme.example"
            conn.execute(
                text(
                    "INSERT INTO outbox (event, customer_id, subject_ref, dedupe_key, context,"
                    " status, attempts, next_attempt_at, created_at) VALUES ('key_issued', 1,"
                    " 'key:X', 'key_issued:key:X', '{}', 'pending', 0,"
                    " '2026-01-01 00:00:00+00:00', '2026-01-01 00:00:00+00:00')"
                )
            )
        with pytest.raises(Exception, match="(?i)unique"), engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO outbox (event, customer_id, subject_ref, dedupe_key, context,"
                    " status, attempts, next_attempt_at, created_at) VALUES ('key_issued', 1,"
                    " 'key:X', 'key_issued:key:X', '{}', 'pending', 0,"
                    " '2026-01-01 00:00:00+00:00', '2026-01-01 00:00:00+00:00')"
                )
            )
        downgrade(engine, "0001")  # through 0002 (SQLite: foreign keys off, then checked)
        with engine.begin() as conn:
            assert conn.execute(text("SELECT name FROM customers")).scalar_one() == "Acme"
            tables = set(inspect(conn).get_table_names())
            assert "outbox" not in tables and "users" in tables
        engine.dispose()


def test_a_message_that_cannot_be_rendered_is_kept_as_failed(shop, smtp):
    runtime, ids = shop
    with runtime.unit_of_work(Actor.analyst("alice")) as ctx:
        outbox_writer.enqueue(ctx, Event.KEY_ISSUED, ids["customer"], "key:X", {})  # no fields
    enqueue_many(runtime, ids["customer"], 2)
    report = send_due(runtime, smtp_settings(smtp))
    assert (report.sent, report.failed) == (2, 1)
    with runtime.unit_of_work(Actor.analyst("alice")) as ctx:
        [failed] = notifications.list_messages(ctx, status="failed").items
    assert failed.subject_ref == "key:X"
    assert (failed.last_error or "").startswith("cannot render the message: ")


def test_a_refusing_server_is_tried_once_per_run_not_once_per_message(shop, smtp):
    runtime, ids = shop
    enqueue_many(runtime, ids["customer"], 4)
    smtp.mailbox.refuse = "451 4.3.0 try later"
    report = send_due(runtime, smtp_settings(smtp), batch=2)
    assert (report.sent, report.retrying) == (0, 1)
    with runtime.unit_of_work(Actor.analyst("alice")) as ctx:
        tries = sorted(m.attempts for m in notifications.list_messages(ctx).items)
    assert tries == [0, 0, 0, 1]  # the others wait their turn, no attempt counted
