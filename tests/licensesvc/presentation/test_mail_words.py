"""Mails say the vocabulary's words (licensesvc/presentation/labels.py), not its values: a
DR-test key, a Premium plan, a key revoked for "key compromise"."""

from __future__ import annotations

from typing import Any

from licensesvc import mail, outreach
from licensesvc.platform.outbox import Event


def rendered(event: Event, context: dict[str, Any]) -> tuple[str, str]:
    claimed = outreach.Claimed(
        id=1,
        event=event,
        customer_id=1,
        customer_name="Acme",
        subject_ref="x",
        context=context,
        recipients=("admin@acme.example",),
        attempts=0,
    )
    email = mail.render(claimed, "licensesvc@vendor.example")
    body = email.get_body(preferencelist=("plain",))
    assert body is not None
    return str(email["Subject"]), body.get_content()


KEY = {
    "serial": "SN-1",
    "license_id": 1,
    "product": "scheduler",
    "host": "h.example",
    "expires_at": "2026-03-09T00:00:00Z",
    "key": "LK1.x",
    "case_number": "CS-1",
    "dr_test_date": "2026-03-05",
}


def test_an_issued_dr_test_key_is_a_dr_test_key() -> None:
    subject, text = rendered(Event.KEY_ISSUED, {**KEY, "kind": "dr_test"})
    assert subject == "Your DR-test key SN-1 is ready"
    assert "(DR-test)" in text and "dr_test" not in subject


def test_a_revocation_names_its_cause_in_words() -> None:
    _, text = rendered(
        Event.KEY_REVOKED,
        {**KEY, "kind": "standard", "code": "customer_request", "revoked_at": "2026-03-02"},
    )
    assert "Reason: customer request" in text
