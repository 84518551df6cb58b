"""`licensesvc notify`: the outbox of customer notifications, and the sender that mails them."""

from __future__ import annotations

import signal
import sys
import time
from types import FrameType
from typing import Any

import click

from cli.output import emit, fields, json_option, table
from cli.pagination import echo_more_pages, page_options
from cli.state import CliState, pass_state
from licensesvc import outreach

COLUMNS = [
    ("ID", "id"),
    ("EVENT", "event"),
    ("CUSTOMER", "customer_name"),
    ("ABOUT", "subject_ref"),
    ("STATUS", "status"),
    ("TRIES", "attempts"),
    ("CREATED", "created_at"),
    ("NEXT TRY", "next_try"),
    ("SENT", "sent_at"),
    ("LAST ERROR", "last_error"),
]


@click.group()
def notify() -> None:
    """Customer notifications: what waits in the outbox, and the sender that mails it.

    Messages are written to the outbox with the event that causes them (a case decided, a
    key issued or revoked, keys out of date after a payment); `notify scan` adds the
    time-based ones (DR windows and temporary keys ending in 7 days, maintenance lapsing in
    30 and 7 days). `notify send` delivers them by SMTP to the customer's portal users
    (LICENSESVC_SMTP_URL, LICENSESVC_MAIL_FROM); without an SMTP URL they stay in the outbox.

    \b
    Example:
      licensesvc notify list --status pending
      LICENSESVC_SMTP_URL=smtp://mail.internal:25 LICENSESVC_MAIL_FROM=support@vendor.example \\
          licensesvc notify send
    """


def _message(view: outreach.OutboxView) -> dict[str, Any]:
    data = {
        "id": view.id,
        "event": view.event,
        "customer_id": view.customer_id,
        "customer_name": view.customer_name,
        "subject_ref": view.subject_ref,
        "status": view.status,
        "attempts": view.attempts,
        "created_at": view.created_at,
        "next_attempt_at": view.next_attempt_at,
        "sent_at": view.sent_at,
        "last_error": view.last_error,
        "recipients": list(view.recipients),
    }
    return data


@notify.command("list")
@click.option(
    "--status",
    type=click.Choice(outreach.OUTBOX_STATUSES),
    help="Only messages in this state: pending (not yet sent), sent, failed (gave up).",
)
@click.option("--customer", "customer_id", type=int, help="Only this customer's messages.")
@page_options
@json_option
@pass_state
def list_(
    state: CliState, status: str | None, customer_id: int | None, page: int, page_size: int
) -> None:
    """List the outbox, newest first.

    \b
    Example:
      licensesvc notify list --status failed
    """
    with state.unit_of_work() as ctx:
        found = outreach.list_messages(
            ctx, status=status, customer_id=customer_id, page=page, page_size=page_size
        )
    rows = [_message(v) for v in found.items]
    for row in rows:
        row["next_try"] = row["next_attempt_at"] if row["status"] == "pending" else None
        if row["last_error"]:
            row["last_error"] = row["last_error"].splitlines()[0][:60]
    emit(
        state.json,
        [{k: v for k, v in row.items() if k != "next_try"} for row in rows],
        lambda: table(rows, COLUMNS) if rows else "the outbox has no such messages",
    )
    echo_more_pages(found, "messages")


@notify.command("scan")
@json_option
@pass_state
def scan(state: CliState) -> None:
    """Enqueue the time-based notifications due today: DR windows and temporary keys ending
    within 7 days, maintenance lapsing within 30 and within 7 days. Each is enqueued once;
    running it again (from cron, hourly) adds nothing new. `notify send` runs it too.

    \b
    Example:
      licensesvc notify scan
    """
    with state.unit_of_work() as ctx:
        found = outreach.scan(ctx)
    emit(
        state.json,
        {"enqueued": found.enqueued, "total": found.total},
        lambda: (
            f"enqueued {found.total} messages"
            + (
                " (" + ", ".join(f"{k} {n}" for k, n in found.enqueued.items() if n) + ")"
                if found.total
                else ""
            )
        ),
    )


@notify.command("retry")
@click.argument("message_id", metavar="ID", type=int)
@json_option
@pass_state
def retry(state: CliState, message_id: int) -> None:
    """Put a failed message back in the queue; the next `notify send` tries it again.

    \b
    Example:
      licensesvc notify retry 42
    """
    with state.unit_of_work() as ctx:
        data = _message(outreach.retry(ctx, message_id))
    emit(state.json, data, lambda: f"message {message_id} is pending again")


class _Stop:
    def __init__(self) -> None:
        self.requested = False

    def __call__(self, _signum: int, _frame: FrameType | None) -> None:
        self.requested = True


@notify.command("send")
@click.option(
    "--limit",
    type=click.IntRange(min=1),
    default=1000,
    show_default=True,
    help="Send at most this many messages per run (per round with --loop). Example: --limit 50",
)
@click.option(
    "--loop",
    is_flag=True,
    help="Keep running: scan and send every --interval seconds until SIGTERM or Ctrl-C.",
)
@click.option(
    "--interval",
    type=click.FloatRange(min=0.1),
    default=60.0,
    show_default=True,
    help="Seconds between rounds with --loop. Example: --interval 30",
)
@click.option(
    "--scan/--no-scan",
    "run_scan",
    default=True,
    show_default=True,
    help="Run `notify scan` before sending.",
)
@json_option
@pass_state
def send(state: CliState, limit: int, loop: bool, interval: float, run_scan: bool) -> None:
    """Deliver due messages by SMTP to each customer's portal users. Safe from cron and as a
    loop, and with several senders at once: each message is sent at most once. A refused or
    unreachable server leaves messages pending and retried with back-off; nothing is lost.

    Needs LICENSESVC_SMTP_URL (smtp://host:port, smtp://host:587?starttls=true or
    smtps://user:password@host) and LICENSESVC_MAIL_FROM. Without an SMTP URL nothing is sent
    and the messages wait in the outbox (`licensesvc notify list`).

    \b
    Example:
      # cron, every 5 minutes
      */5 * * * *  licensesvc notify send
      # or as a service
      licensesvc notify send --loop --interval 30
    """
    from licensesvc.mail import SendReport, SmtpSettings, send_due

    smtp = SmtpSettings.from_env()
    stop = _Stop()
    if loop:
        signal.signal(signal.SIGTERM, stop)
    total = SendReport()
    scanned = 0
    try:
        while True:
            if run_scan:
                with state.unit_of_work() as ctx:
                    scanned += outreach.scan(ctx).total
            if smtp is None:
                with state.unit_of_work() as ctx:
                    waiting = outreach.list_messages(ctx, status="pending", page_size=1)
                click.echo(
                    "LICENSESVC_SMTP_URL is not set: nothing sent; "
                    f"{waiting.total} messages wait in the outbox (licensesvc notify list)",
                    err=True,
                )
            else:
                round_report = send_due(state.runtime, smtp, limit=limit)
                total.add(round_report)
                for error in round_report.errors:
                    click.echo(f"not sent: {error}", err=True)
            if not loop or stop.requested:
                break
            deadline = time.monotonic() + interval
            while time.monotonic() < deadline and not stop.requested:
                time.sleep(min(0.2, interval))
            if stop.requested:
                break
    except KeyboardInterrupt:
        pass
    document = {
        "sent": total.sent,
        "retrying": total.retrying,
        "failed": total.failed,
        "enqueued_by_scan": scanned,
        "smtp": smtp.label if smtp else None,
    }
    emit(
        state.json,
        document,
        lambda: fields(
            [
                ("sent", total.sent),
                ("retrying later", total.retrying),
                ("failed", total.failed),
                ("enqueued by scan", scanned),
            ]
        ),
    )
    if smtp is not None and (total.retrying or total.failed) and not total.sent:
        sys.exit(1)
