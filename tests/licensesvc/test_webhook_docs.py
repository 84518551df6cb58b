"""docs/webhooks.md matches the code: its events, bodies and retry schedule are what
scripts/webhook-docs.py writes from a story run against the service, and its Python receiver,
run as a real HTTP server on 127.0.0.1, accepts a real delivery once and refuses a forged
one."""

from __future__ import annotations

import importlib.util
import re
import threading
from http.server import HTTPServer
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from licensesvc import outreach
from licensesvc.webhook_delivery import AttemptFailed, attempt

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "webhooks.md"


def script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("webhook_docs", ROOT / "scripts/webhook-docs.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_events_bodies_and_schedule_in_the_page_are_what_the_code_sends() -> None:
    page = PAGE.read_text()
    assert script().updated(page) == page, (
        "docs/webhooks.md is out of date: run .venv/bin/python scripts/webhook-docs.py"
    )


def receiver_code() -> str:
    blocks = re.findall(r"```python\n(.*?)```", PAGE.read_text(), re.S)
    assert len(blocks) == 1
    return str(blocks[0])


@pytest.fixture
def docs_receiver() -> Any:
    namespace: dict[str, Any] = {"__name__": "docs_receiver"}
    exec(compile(receiver_code(), "docs/webhooks.md", "exec"), namespace)
    namespace["SECRET"] = secret = outreach.new_secret()
    server = HTTPServer(("127.0.0.1", 0), namespace["Receiver"])
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server, secret, namespace
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


def delivery(port: int, secret: str) -> outreach.ClaimedDelivery:
    return outreach.ClaimedDelivery(
        id=1,
        endpoint_id=1,
        url=f"http://127.0.0.1:{port}/licensesvc",
        secret=secret,
        message_id="msg_docs1",
        event="key.revoked",
        payload={
            "type": "key.revoked",
            "timestamp": "2026-03-02T15:00:00Z",
            "data": {"serial": "SN-A6U4-UJGN-FX8M-RBF2", "code": "superseded", "customer_id": 1},
        },
        attempts=0,
    )


def test_the_pages_python_receiver_verifies_a_real_delivery_once(docs_receiver, capsys) -> None:
    server, secret, namespace = docs_receiver
    port = server.server_address[1]
    import time

    now = int(time.time())
    assert attempt(delivery(port, secret), ("127.0.0.1/32",), now) == 204
    assert namespace["handled"] == {"msg_docs1"}
    assert "key.revoked" in capsys.readouterr().out
    # a retry of the same delivery is accepted, and not acted on again
    assert attempt(delivery(port, secret), ("127.0.0.1/32",), now + 5) == 204
    assert capsys.readouterr().out == ""
    # signed with another secret, or too old: refused
    with pytest.raises(AttemptFailed, match="400"):
        attempt(delivery(port, outreach.new_secret()), ("127.0.0.1/32",), now)
    with pytest.raises(AttemptFailed, match="400"):
        attempt(delivery(port, secret), ("127.0.0.1/32",), now - 3600)
