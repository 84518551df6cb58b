"""`licensesvc webhook`: an analyst registers an endpoint (its secret shown once), lists,
rotates and disables it, and `notify send` delivers its events, listed by `webhook
deliveries`; a refused URL or an unknown event is one plain line and changes nothing."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pytest
from sqlalchemy import update
from standardwebhooks import Webhook

from licensesvc.models import WebhookDelivery
from tests.cli.cli_helpers import Cli, Shop, key_issue
from tests.webhook_helpers import Receiver


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    yield server
    server.stop()


@pytest.fixture
def allow_loopback(run: Cli) -> None:
    run.runtime.settings = replace(run.runtime.settings, webhook_allow=("127.0.0.1/32",))


def test_add_list_send_deliveries_rotate_disable(
    run: Cli, shop: Shop, receiver: Receiver, allow_loopback: None, monkeypatch
) -> None:
    monkeypatch.delenv("LICENSESVC_SMTP_URL", raising=False)
    made = run.json("webhook", "add", "--url", receiver.url, "--events", "key.issued,key.revoked")
    assert made["secret"].startswith("whsec_") and made["events"] == ["key.issued", "key.revoked"]
    assert made["customer_id"] is None
    human = run.ok("webhook", "list").stdout
    assert receiver.url in human and "secret" not in human and made["secret"] not in human
    [listed] = run.json("webhook", "list")
    assert "secret" not in listed and listed["status"] == "active"
    serial = run.json(*key_issue(shop.acme_license, "standard"))["serial"]
    report = run.json("notify", "send")
    assert report["webhooks"] == {"sent": 1, "retrying": 0, "failed": 0}
    [arrival] = receiver.arrivals
    body = Webhook(made["secret"]).verify(arrival.body, arrival.headers)
    assert body["type"] == "key.issued" and body["data"]["serial"] == serial
    [delivery] = run.json("webhook", "deliveries", made["id"])
    assert delivery["status"] == "sent" and delivery["message_id"] == arrival.headers["webhook-id"]
    rotated = run.json("webhook", "rotate-secret", made["id"])
    assert rotated["secret"] != made["secret"]
    assert run.ok("webhook", "disable", made["id"]).stdout == f"webhook {made['id']} is disabled\n"
    assert run.json("webhook", "list")[0]["status"] == "disabled"
    assert "already disabled" in run.fails("webhook", "disable", made["id"]).output


@pytest.mark.parametrize(
    "url, events, says",
    [
        ("http://169.254.169.254/", "key.issued", "only public addresses"),
        ("http://10.0.0.1/", "key.issued", "only public addresses"),
        ("http://localhost/", "key.issued", "only public addresses"),
        ("https://1.1.1.1/", "key.made", "unknown webhook event 'key.made'"),
    ],
)
def test_a_refused_endpoint_is_one_line_and_nothing_is_stored(
    run: Cli, url: str, events: str, says: str
) -> None:
    result = run.fails("webhook", "add", "--url", url, "--events", events)
    assert says in result.output and len(result.output.strip().splitlines()) == 1
    assert run.json("webhook", "list") == []


def test_a_failed_delivery_is_retried_by_hand_with_its_webhook_id(
    run: Cli, shop: Shop, receiver: Receiver, allow_loopback: None
) -> None:
    made = run.json("webhook", "add", "--url", receiver.url, "--events", "key.issued")
    run.json(*key_issue(shop.acme_license, "standard"))
    [delivery] = run.json("webhook", "deliveries")
    refused = run.fails("webhook", "retry", delivery["id"])
    assert refused.output == (
        f"Error: invalid_state: delivery {delivery['id']} is pending; only a failed one is "
        "retried\n"
    )
    with run.runtime.sessions() as session:  # as if every try in 24 hours had failed
        session.execute(
            update(WebhookDelivery)
            .where(WebhookDelivery.id == delivery["id"])
            .values(status="failed", attempts=8, last_error="answered 500")
        )
        session.commit()
    [failed] = run.json("webhook", "deliveries", made["id"], "--status", "failed")
    assert failed["last_error"] == "answered 500"
    again = run.json("webhook", "retry", delivery["id"])
    assert again["status"] == "pending" and again["message_id"] == delivery["message_id"]
