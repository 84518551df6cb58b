"""A real SMTP server on 127.0.0.1 (aiosmtpd, on a free port) that keeps what arrives, and can
be told to refuse (a 451 or 550 answer) or be stopped (connection refused) and started again
on the same port."""

from __future__ import annotations

import email
import email.policy
import threading
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

import pytest

try:
    from aiosmtpd.controller import Controller
except ImportError:  # pragma: no cover - dev dependency missing
    Controller = None  # type: ignore[misc,assignment]


@dataclass
class Arrival:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage

    @property
    def subject(self) -> str:
        return str(self.message["Subject"])

    @property
    def outbox_id(self) -> int:
        return int(str(self.message["X-Licensesvc-Outbox-Id"]))

    def part(self, subtype: str) -> str:
        body = self.message.get_body(preferencelist=(subtype,))
        assert body is not None, f"no text/{subtype} part"
        return str(body.get_content())


@dataclass
class Mailbox:
    """What the server received, and how it answers: `refuse` is None (accept), or an SMTP
    reply such as "451 4.3.0 try again later" given to every RCPT TO."""

    arrivals: list[Arrival] = field(default_factory=list)
    refuse: str | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_RCPT(  # noqa: N802 - aiosmtpd's hook name
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: Any
    ) -> str:
        if self.refuse:
            return self.refuse
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self.lock:
            self.arrivals.append(Arrival(envelope.mail_from, list(envelope.rcpt_tos), message))
        return "250 Message accepted for delivery"

    def by_outbox_id(self) -> dict[int, int]:
        counts: dict[int, int] = {}
        for arrival in self.arrivals:
            counts[arrival.outbox_id] = counts.get(arrival.outbox_id, 0) + 1
        return counts


class _Controller(Controller):
    """aiosmtpd's Controller, on a port the system picks (port 0)."""

    def _trigger_server(self) -> None:
        if self.port == 0:
            self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()


class SmtpServer:
    def __init__(self) -> None:
        self.mailbox = Mailbox()
        self.port = 0
        self._controller: Any = None
        self.start()

    def start(self) -> None:
        self._controller = _Controller(self.mailbox, hostname="127.0.0.1", port=self.port)
        self._controller.start()
        self.port = self._controller.port

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    @property
    def env(self) -> dict[str, str]:
        return {
            "LICENSESVC_SMTP_URL": self.url,
            "LICENSESVC_MAIL_FROM": "Support <support@vendor.example>",
            "LICENSESVC_SMTP_TIMEOUT": "10",
        }


def smtp_server_or_skip() -> SmtpServer:
    if Controller is None:
        import os

        message = "aiosmtpd is not installed (pip install -e '.[dev]')"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return SmtpServer()
