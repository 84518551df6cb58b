"""`licensesvc notify *` as an analyst (or cron) runs them: the outbox listed, the scan, the
sender through a real SMTP server, and the errors."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from licensesvc.db import make_engine
from licensesvc.migrate import upgrade
from licensesvc.models.outbox import OutboxMessage
from licensesvc.outreach import notifications
from licensesvc.platform.context import Actor
from tests.cli.cli_helpers import NO_ID, Cli, Shop, key_issue, user_create
from tests.conftest import fresh_database_url
from tests.smtp_helpers import SmtpServer, smtp_server_or_skip

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    server = smtp_server_or_skip()
    yield server
    server.stop()


@pytest.fixture
def no_smtp(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LICENSESVC_SMTP_URL", raising=False)


@pytest.fixture
def with_smtp(monkeypatch: pytest.MonkeyPatch, smtp: SmtpServer) -> SmtpServer:
    for name, value in smtp.env.items():
        monkeypatch.setenv(name, value)
    return smtp


@pytest.fixture
def issued(run: Cli, shop: Shop) -> str:
    """Acme has a portal user and a freshly issued standard key; its serial."""
    run.ok(*user_create(shop.acme, "ops@acme.example", password_stdin=True),
           input="correct horse battery\n")  # fmt: skip
    return str(run.json(*key_issue(shop.acme_license, "standard"))["serial"])


def test_an_issued_key_waits_in_the_outbox_without_smtp(run: Cli, issued: str, no_smtp) -> None:
    table = run.ok("notify", "list").stdout.splitlines()
    assert table[0].split()[:6] == ["ID", "EVENT", "CUSTOMER", "ABOUT", "STATUS", "TRIES"]
    assert table[1].split()[1:6] == ["key_issued", "Acme", f"key:{issued}", "pending", "0"]
    result = run.ok("notify", "send")
    assert result.stderr == (
        "LICENSESVC_SMTP_URL is not set: nothing sent; 1 messages wait in the outbox "
        "(licensesvc notify list)\n"
    )
    [message] = run.json("notify", "list", "--status", "pending")
    assert message["event"] == "key_issued" and message["recipients"] == []
    assert run.json("notify", "list", "--status", "sent") == []


def test_send_delivers_once_and_list_shows_it_sent(run: Cli, issued: str, with_smtp) -> None:
    report = run.json("notify", "send")
    assert report == {
        "sent": 1,
        "retrying": 0,
        "failed": 0,
        "enqueued_by_scan": 0,
        "smtp": with_smtp.url,
        "webhooks": {"sent": 0, "retrying": 0, "failed": 0},
    }
    assert run.json("notify", "send")["sent"] == 0
    [arrival] = with_smtp.mailbox.arrivals
    assert arrival.subject == f"Your standard key {issued} is ready"
    assert arrival.rcpt_tos == ["ops@acme.example"]
    [sent] = run.json("notify", "list", "--status", "sent")
    assert sent["recipients"] == ["ops@acme.example"] and sent["attempts"] == 1
    human = run.ok("notify", "send").stdout
    assert human.splitlines()[0].split() == ["sent", "0"]


def test_a_refusing_server_leaves_the_message_pending_and_exit_1(
    run: Cli, issued: str, with_smtp
) -> None:
    with_smtp.mailbox.refuse = "451 4.3.0 try again later"
    result = run.fails("notify", "send")
    [message] = run.json("notify", "list")
    assert f"not sent: message {message['id']}: every recipient was refused" in result.stderr
    assert "451 4.3.0 try again later" in result.stderr
    [message] = run.json("notify", "list", "--status", "pending")
    assert message["attempts"] == 1 and "451" in message["last_error"]
    with_smtp.mailbox.refuse = None
    run.runtime.clock.advance(minutes=2)  # type: ignore[attr-defined]
    assert run.json("notify", "send")["sent"] == 1 and len(with_smtp.mailbox.arrivals) == 1


def test_scan_enqueues_a_temporary_key_ending_once(run: Cli, shop: Shop, no_smtp) -> None:
    issued = run.json(*key_issue(shop.globex_license, "temporary", reason="usage_spike"))
    assert run.json("notify", "scan") == {
        "enqueued": {
            "dr_window_ending": 0,
            "temporary_key_ending": 0,
            "maintenance_lapsing": 0,
            "support_overdue": 0,
        },
        "total": 0,
    }
    run.runtime.clock.advance(days=114)  # type: ignore[attr-defined]
    assert run.ok("notify", "scan").stdout == "enqueued 1 messages (temporary_key_ending 1)\n"
    assert run.ok("notify", "scan").stdout == "enqueued 0 messages\n"
    about = [(m["event"], m["subject_ref"]) for m in run.json("notify", "list")]
    assert ("temporary_key_ending", f"key:{issued['serial']}") in about


def test_retry_puts_a_failed_message_back(run: Cli, shop: Shop, no_smtp) -> None:
    run.json(*key_issue(shop.acme_license, "standard"))  # Acme has no portal user
    with run.runtime.unit_of_work(Actor.system()) as ctx:
        notifications.claim_due(ctx, "sender-a", 10)
    [failed] = run.json("notify", "list", "--status", "failed")
    assert failed["last_error"] == "the customer has no portal users to write to"
    assert (
        run.ok("notify", "retry", failed["id"]).stdout
        == f"message {failed['id']} is pending again\n"
    )
    result = run.fails("notify", "retry", failed["id"])
    assert result.stderr == (
        f"Error: invalid_state: message {failed['id']} is pending; only a failed one is retried\n"
    )
    assert (
        run.fails("notify", "retry", str(NO_ID)).stderr
        == f"Error: not_found: message {NO_ID} not found\n"
    )
    with run.runtime.unit_of_work(Actor.system()) as ctx:
        notifications.claim_due(ctx, "sender-a", 10)  # still nobody to write to: failed again
    assert run.json("notify", "retry", failed["id"])["status"] == "pending"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["list", "--status", "lost"], "Invalid value for '--status'"),
        (["list", "--page", "0"], "Invalid value for '--page'"),
        (["send", "--limit", "0"], "Invalid value for '--limit'"),
        (["send", "--interval", "0"], "Invalid value for '--interval'"),
    ],
)
def test_bad_notify_options_exit_2(run: Cli, args, message) -> None:
    result = run.fails("notify", *args, exit_code=2)
    assert message in result.stderr


def test_bad_smtp_configuration_is_one_line(run: Cli, shop: Shop, monkeypatch) -> None:
    monkeypatch.setenv("LICENSESVC_SMTP_URL", "smtp://mail.example:25")
    monkeypatch.delenv("LICENSESVC_MAIL_FROM", raising=False)
    result = run.fails("notify", "send")
    assert result.stderr.startswith("Error: configuration: LICENSESVC_MAIL_FROM must be")


def test_two_sender_processes_deliver_each_message_once(tmp_path: Path, smtp: SmtpServer) -> None:
    """Two `licensesvc notify send` processes started together on one database."""
    for url in fresh_database_url(tmp_path, "senders"):
        engine = make_engine(url)
        upgrade(engine)
        env = {
            **os.environ,
            **smtp.env,
            "LICENSESVC_DATABASE_URL": url,
            "LICENSESVC_DATA_DIR": str(tmp_path),
            "LICENSESVC_SECRET_KEY": "s" * 32,
            "LICENSESVC_SIGNING_KEY_PASSPHRASE": "p" * 32,
        }
        cli = [sys.executable, "-m", "cli.main", "--as", "alice"]
        subprocess.run([*cli, "customer", "create", "--name", "Acme"], env=env, cwd=ROOT,
                       check=True, capture_output=True)  # fmt: skip
        subprocess.run([*cli, "user", "create", "--customer", "1", "--email", "ops@acme.example",
                        "--password-stdin"], env=env, cwd=ROOT, check=True, capture_output=True,
                       input=b"correct horse battery\n")  # fmt: skip
        from sqlalchemy import insert

        from licensesvc.platform.context import utcnow

        now = utcnow()
        with engine.begin() as conn:
            conn.execute(
                insert(OutboxMessage),
                [
                    {
                        "event": "case_updated",
                        "customer_id": 1,
                        "subject_ref": "case:CS-20260302-AAAAAA",
                        "dedupe_key": f"case_updated:case:CS-20260302-AAAAAA:update={n}",
                        "context": {"case_number": "CS-20260302-AAAAAA", "status": "escalated",
                                    "text": f"update {n}", "updated_at": "2026-03-02T15:00:00Z",
                                    "next_update_due": None},
                        "status": "pending",
                        "attempts": 0,
                        "next_attempt_at": now,
                        "created_at": now,
                    }
                    for n in range(40)
                ],
            )  # fmt: skip
        senders = [
            subprocess.Popen([*cli, "--json", "notify", "send", "--no-scan"], env=env, cwd=ROOT,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            for _ in range(2)
        ]  # fmt: skip
        outputs = [p.communicate(timeout=120) for p in senders]
        assert [p.returncode for p in senders] == [0, 0], outputs
        counts = smtp.mailbox.by_outbox_id()
        assert len(counts) == 40 and set(counts.values()) == {1}
        engine.dispose()
