"""Delivering the notification outbox by SMTP: configuration, the rendered message (plain
text and HTML from templates/mail/), and the sender behind `licensesvc notify send`.

The sender owns its transactions: it leases a batch of due messages (committed at once, so
another sender leaves them alone), delivers each over one SMTP connection, and records each
outcome in its own short transaction. A message is sent at most once: only the holder of the
lease may deliver or mark it, and a sender does not start a delivery after its lease has run
out. The one window left is a sender killed between the SMTP server's "250 OK" and the commit
of "sent": that message is delivered again after the lease expires, with the same Message-ID,
so mail clients show it once.

Failures lose nothing: a refused or unreachable server (4xx, connection refused, timeout)
leaves the message pending with a back-off (1, 2, 4 ... minutes, at most an hour); a permanent
refusal of every recipient (5xx) marks it failed, listed by `notify list --status failed` and
revived by `notify retry`.
"""

from __future__ import annotations

import os
import re
import smtplib
import socket
import ssl
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from email.message import EmailMessage
from email.utils import formataddr, parseaddr
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from licensesvc import outreach
from licensesvc.domain import Plan, RevocationCode
from licensesvc.platform.context import Actor
from licensesvc.presentation import labels

from .config import PREFIX, ConfigurationError
from .runtime import Runtime

TEMPLATES = Path(__file__).with_name("templates") / "mail"
SMTP_URL_ENV = f"{PREFIX}SMTP_URL"
MAIL_FROM_ENV = f"{PREFIX}MAIL_FROM"
SMTP_TIMEOUT_ENV = f"{PREFIX}SMTP_TIMEOUT"
#: a sender stops starting deliveries this long before its lease ends
LEASE_MARGIN_SECONDS = 60


@dataclass(frozen=True)
class SmtpSettings:
    """Where mail goes: `smtp://host[:port]` (plain; add `?starttls=true` to upgrade) or
    `smtps://[user:password@]host[:port]` (TLS from the start), with the sender address."""

    host: str
    port: int
    tls: bool
    starttls: bool
    mail_from: str
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    timeout: float = 30.0

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> SmtpSettings | None:
        """The settings from LICENSESVC_SMTP_URL and LICENSESVC_MAIL_FROM; None when no SMTP
        URL is set (messages then stay in the outbox). Raises ConfigurationError naming the
        variable (never echoing a password)."""
        env = os.environ if environ is None else environ
        url = env.get(SMTP_URL_ENV, "").strip()
        if not url:
            return None
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise ConfigurationError(
                f"{SMTP_URL_ENV} must look like smtp://host:port or smtps://user:pass@host"
            )
        try:
            port = parts.port or (465 if parts.scheme == "smtps" else 25)
        except ValueError:
            raise ConfigurationError(f"{SMTP_URL_ENV} has a port that is not a number") from None
        query = dict(p.split("=", 1) for p in parts.query.split("&") if "=" in p)
        starttls = query.get("starttls", "false").lower() in ("1", "true", "yes")
        mail_from = env.get(MAIL_FROM_ENV, "").strip()
        if not mail_from or "@" not in parseaddr(mail_from)[1]:
            raise ConfigurationError(
                f"{MAIL_FROM_ENV} must be the sender's address (e.g. support@vendor.example) "
                f"when {SMTP_URL_ENV} is set"
            )
        raw_timeout = env.get(SMTP_TIMEOUT_ENV, "30")
        try:
            timeout = float(raw_timeout)
        except ValueError:
            raise ConfigurationError(
                f"{SMTP_TIMEOUT_ENV} must be seconds, not {raw_timeout!r}"
            ) from None
        return cls(
            host=parts.hostname,
            port=port,
            tls=parts.scheme == "smtps",
            starttls=starttls,
            mail_from=mail_from,
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            timeout=timeout,
        )

    @property
    def label(self) -> str:
        """Where mail goes, for messages (no credentials)."""
        return f"{'smtps' if self.tls else 'smtp'}://{self.host}:{self.port}"


class DeliveryError(Exception):
    """A message was not delivered; `permanent` when retrying cannot help (5xx for every
    recipient), else it is retried later."""

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


class SmtpConnection:
    """One SMTP session; `send` delivers one message and returns the accepted recipients."""

    def __init__(self, client: smtplib.SMTP) -> None:
        self.client = client

    def send(self, message: EmailMessage, recipients: tuple[str, ...]) -> tuple[str, ...]:
        try:
            refused = self.client.send_message(message, to_addrs=list(recipients))
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            raise DeliveryError(
                "every recipient was refused: " + _describe_refusals(exc.recipients),
                permanent=all(code >= 500 for code in codes),
            ) from None
        except smtplib.SMTPResponseException as exc:
            raise DeliveryError(
                f"the server answered {exc.smtp_code} {_text(exc.smtp_error)}",
                permanent=exc.smtp_code >= 500 and isinstance(exc, smtplib.SMTPDataError),
            ) from None
        except (smtplib.SMTPException, OSError) as exc:
            raise DeliveryError(f"delivery failed: {exc}") from None
        return tuple(r for r in recipients if r not in refused)


def _text(value: bytes | str) -> str:
    return value.decode(errors="replace") if isinstance(value, bytes) else value


def _describe_refusals(refusals: Mapping[str, tuple[int, bytes]]) -> str:
    return "; ".join(f"{who}: {code} {_text(why)}" for who, (code, why) in refusals.items())


@contextmanager
def smtp_connection(settings: SmtpSettings) -> Iterator[SmtpConnection]:
    """Connect, greet, upgrade to TLS and log in as configured. Raises DeliveryError (never
    permanent: a server that is down now may be up later)."""
    try:
        client: smtplib.SMTP
        if settings.tls:
            client = smtplib.SMTP_SSL(
                settings.host,
                settings.port,
                timeout=settings.timeout,
                context=ssl.create_default_context(),
            )
        else:
            client = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout)
        client.ehlo_or_helo_if_needed()
        if settings.starttls:
            client.starttls(context=ssl.create_default_context())
            client.ehlo()
        if settings.username:
            client.login(settings.username, settings.password or "")
    except smtplib.SMTPResponseException as exc:
        raise DeliveryError(
            f"{settings.label} answered {exc.smtp_code} {_text(exc.smtp_error)}"
        ) from None
    except (smtplib.SMTPException, OSError) as exc:
        raise DeliveryError(f"cannot reach {settings.label}: {exc}") from None
    try:
        yield SmtpConnection(client)
    finally:
        try:
            client.quit()
        except (smtplib.SMTPException, OSError):
            client.close()


# -- the message -----------------------------------------------------------------------------

_environment = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
)
# the words of the vocabularies (licensesvc/presentation/labels.py); a value no vocabulary
# has (an old message's) is shown as it is
_environment.filters["kind_noun"] = lambda value: labels.KIND_NOUNS.get(value, value)
_environment.filters["plan_label"] = lambda value: labels.labels_of(Plan).get(value, value)
_environment.filters["revocation_label"] = lambda value: labels.labels_of(RevocationCode).get(
    value, value
)
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def _plain(value: Any) -> Any:
    """Customer- and analyst-supplied text as plain text: no control characters (a terminal
    escape in a case note must not reach a mail reader)."""
    if isinstance(value, str):
        return _CONTROL.sub("", value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def render(
    message: outreach.Claimed, mail_from: str, *, message_id_domain: str | None = None
) -> EmailMessage:
    """The email for an outbox message: subject and plain-text body from
    templates/mail/<event>.txt (its `subject` block), the HTML alternative from <event>.html
    (autoescaped)."""
    variables = {
        "customer_name": _plain(message.customer_name),
        "customer_id": message.customer_id,
        "m": _plain(message.context),
        "event": message.event.value,
    }
    text_template = _environment.get_template(f"{message.event.value}.txt")
    subject = "".join(text_template.blocks["subject"](text_template.new_context(variables)))
    subject = " ".join(subject.split())  # one line: no header injection
    email = EmailMessage()
    email["Subject"] = subject
    email["From"] = mail_from
    email["To"] = ", ".join(formataddr(("", r)) for r in message.recipients)
    domain = message_id_domain or parseaddr(mail_from)[1].rpartition("@")[2] or "licensesvc"
    # the same id on every attempt: a resend after a crash shows once in mail clients
    email["Message-ID"] = f"<outbox-{message.id}@{domain}>"
    email["X-Licensesvc-Event"] = message.event.value
    email["X-Licensesvc-Outbox-Id"] = str(message.id)
    email.set_content(text_template.render(variables))
    html = _environment.get_template(f"{message.event.value}.html").render(variables)
    email.add_alternative(html, subtype="html")
    return email


# -- the sender ------------------------------------------------------------------------------


@dataclass
class SendReport:
    """What one `send_due` run did."""

    sent: int = 0
    retrying: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)

    def add(self, other: SendReport) -> None:
        self.sent += other.sent
        self.retrying += other.retrying
        self.failed += other.failed
        self.errors += other.errors


def new_worker_id() -> str:
    return f"{socket.gethostname()[:20]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"[:40]


def send_due(
    runtime: Runtime,
    settings: SmtpSettings,
    *,
    limit: int = 100,
    batch: int = 50,
    worker: str | None = None,
) -> SendReport:
    """Deliver up to `limit` due messages, `batch` at a time, and return what happened."""
    worker = worker or new_worker_id()
    report = SendReport()
    remaining = limit
    while remaining > 0:
        with runtime.unit_of_work(Actor.system()) as ctx:
            claimed = outreach.claim_due(ctx, worker, min(batch, remaining))
            lease_end = ctx.now() + outreach.LEASE
        if not claimed:
            break
        remaining -= len(claimed)
        delivered = _deliver(runtime, settings, worker, claimed, lease_end)
        report.add(delivered)
        if delivered.retrying:
            break  # the server is refusing or down: try again on the next run
    return report


def _deliver(
    runtime: Runtime,
    settings: SmtpSettings,
    worker: str,
    claimed: list[outreach.Claimed],
    lease_end: datetime,
) -> SendReport:
    report = SendReport()
    pending = list(claimed)
    try:
        with smtp_connection(settings) as connection:
            while pending:
                message = pending[0]
                if (lease_end - runtime.clock()).total_seconds() < LEASE_MARGIN_SECONDS:
                    break  # the lease is running out: leave the rest to the next run
                pending.pop(0)
                try:
                    try:
                        email = render(message, settings.mail_from)
                    except (
                        Exception
                    ) as exc:  # a broken template: kept as failed until `notify retry`
                        raise DeliveryError(
                            f"cannot render the message: {exc}", permanent=True
                        ) from None
                    accepted = connection.send(email, message.recipients)
                except DeliveryError as exc:
                    _record_failure(runtime, worker, message, exc, report)
                    if not exc.permanent:
                        break  # the server is in trouble: stop this batch
                    continue
                with runtime.unit_of_work(Actor.system()) as ctx:
                    outreach.mark_sent(ctx, message.id, worker, accepted)
                report.sent += 1
    except DeliveryError as exc:
        for message in pending:
            _record_failure(runtime, worker, message, exc, report)
        pending = []
    for message in pending:  # not attempted: back in the queue with no attempt counted
        with runtime.unit_of_work(Actor.system()) as ctx:
            outreach.release(ctx, message.id, worker)
    return report


def _record_failure(
    runtime: Runtime,
    worker: str,
    message: outreach.Claimed,
    exc: DeliveryError,
    report: SendReport,
) -> None:
    with runtime.unit_of_work(Actor.system()) as ctx:
        outreach.mark_failed(ctx, message.id, worker, str(exc), permanent=exc.permanent)
    gave_up = exc.permanent or message.attempts + 1 >= outreach.MAX_ATTEMPTS
    if gave_up:
        report.failed += 1
    else:
        report.retrying += 1
    report.errors.append(f"message {message.id}: {exc}")
