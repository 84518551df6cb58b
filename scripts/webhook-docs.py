"""Write the generated part of docs/webhooks.md: every event type with what it means and a body
as the service sends it, and the retry schedule, between the page's markers.

The bodies are real: one story (a key issued, replaced and revoked, a request refused,
escalated, updated, overdue and denied) runs against a fresh SQLite database in a temporary
folder with a fixed clock (2026-03-02 15:00Z) and serials and case numbers from a seeded
generator, and each event type's first delivery is shown as its endpoint receives it.

    .venv/bin/python scripts/webhook-docs.py          # rewrite docs/webhooks.md
    .venv/bin/python scripts/webhook-docs.py --check  # exit 1 if docs/webhooks.md is stale

tests/licensesvc/test_webhook_docs.py fails when docs/webhooks.md differs from what this
writes.
"""

from __future__ import annotations

import json
import random
import secrets
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

# the domain packages' façades only, as a front end uses them (docs/architecture.md)
from licensesvc import accounts, cases, issuance, outreach  # noqa: E402
from licensesvc.config import Policy, Settings  # noqa: E402
from licensesvc.domain.policy import KeyRequestInput  # noqa: E402
from licensesvc.migrate import upgrade  # noqa: E402
from licensesvc.platform.context import Actor  # noqa: E402
from licensesvc.platform.outbox import WEBHOOK_EVENT_DESCRIPTIONS, WebhookEvent  # noqa: E402
from licensesvc.runtime import Runtime  # noqa: E402

PAGE = ROOT / "docs" / "webhooks.md"
BEGIN = "<!-- webhook-docs:begin (written by scripts/webhook-docs.py; do not edit by hand) -->"
END = "<!-- webhook-docs:end -->"
START = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now


@contextmanager
def seeded_choice() -> Iterator[None]:
    """Serials and case numbers from a seeded generator, so the page reads the same each run."""
    rng = random.Random(20260302)
    saved = secrets.choice
    secrets.choice = rng.choice  # type: ignore[assignment]
    try:
        yield
    finally:
        secrets.choice = saved


def story(folder: Path) -> dict[str, dict[str, Any]]:
    """Run the story; the first body of each event type, by type."""
    clock = Clock()
    settings = Settings(
        database_url=f"sqlite:///{folder / 'hooks.db'}",
        secret_key="docs-secret",
        signing_key_passphrase="docs-passphrase",
        data_dir=folder,
        policy=Policy(),
        webhook_allow=("10.20.0.0/16",),
        signing_key_kdf_rounds=1_000,
    )
    runtime = Runtime.from_settings(settings, clock=clock)
    upgrade(runtime.engine)
    analyst = Actor.analyst("alice")
    with runtime.unit_of_work(analyst) as ctx:
        issuance.generate_signing_key(ctx)
        acme = accounts.create_customer(ctx, "Acme Logistics", "na")
        accounts.create_contract(
            ctx,
            acme.id,
            "premium",
            clock.now.date() - timedelta(30),
            clock.now.date() + timedelta(335),
            clock.now.date() + timedelta(335),
        )
        lic = accounts.create_license(ctx, acme.id, "JAMS Scheduler", 10, 100, "sched.acme.example")
        outreach.add_endpoint(ctx, "https://10.20.0.5/licensesvc", [e.value for e in WebhookEvent])
    customer = Actor.customer(acme.id)
    with runtime.unit_of_work(analyst) as ctx:
        first = issuance.request_key(ctx, KeyRequestInput(lic.id, "standard")).key
        assert first is not None
    with runtime.unit_of_work(customer) as ctx:
        issuance.request_key(ctx, KeyRequestInput(lic.id, "replacement"))
    with runtime.unit_of_work(analyst) as ctx:
        issuance.revoke_key(ctx, first.serial, "replaced; the old server is gone", "superseded")
    with runtime.unit_of_work(customer) as ctx:
        refused = issuance.request_key(
            ctx, KeyRequestInput(lic.id, "replacement", host="bad host!")
        )
        number = refused.case.case_number
    clock.now += timedelta(minutes=10)
    with runtime.unit_of_work(customer) as ctx:
        issuance.escalate_case(ctx, number, "The new server goes live on Friday.", severity=2)
    clock.now += timedelta(hours=1)
    with runtime.unit_of_work(analyst) as ctx:
        cases.post_case_update(ctx, number, "We are checking the host name with you by phone.")
    clock.now += timedelta(days=3)
    with runtime.unit_of_work(Actor.system()) as ctx:
        outreach.scan(ctx)
    clock.now += timedelta(hours=2)
    with runtime.unit_of_work(analyst) as ctx:
        issuance.deny_case(
            ctx, number, "A host name has no spaces; ask again with the server's name."
        )
    bodies: dict[str, dict[str, Any]] = {}
    # every delivery is due by now: leased oldest first, as the sender takes them, each with
    # the body its endpoint receives
    with runtime.unit_of_work(analyst) as ctx:
        for sent in outreach.claim_due_deliveries(ctx, "webhook-docs", limit=1_000):
            bodies.setdefault(sent.event, dict(sent.payload))
    runtime.engine.dispose()
    return bodies


def render() -> str:
    """The generated part of the page, markers included."""
    with tempfile.TemporaryDirectory() as folder, seeded_choice():
        bodies = story(Path(folder))
    lines = [BEGIN, "", "| event | sent when |", "|---|---|"]
    for event in WebhookEvent:
        lines.append(
            f"| [`{event.value}`](#{event.value.replace('.', '')}) | "
            f"{WEBHOOK_EVENT_DESCRIPTIONS[event]} |"
        )
    lines.append("")
    for event in WebhookEvent:
        body = bodies.get(event.value)
        if body is None:
            raise RuntimeError(f"the story sent no {event.value}")
        lines += [
            f"### `{event.value}`",
            "",
            WEBHOOK_EVENT_DESCRIPTIONS[event][0].upper()
            + WEBHOOK_EVENT_DESCRIPTIONS[event][1:]
            + ".",
            "",
            "```json",
            json.dumps(body, indent=2, sort_keys=True),
            "```",
            "",
        ]
    lines += [
        "### Retries",
        "",
        "| after failed try | next try in |",
        "|---|---|",
    ]
    total = timedelta()
    for n, wait in enumerate(outreach.RETRY_SCHEDULE, start=1):
        total += wait
        lines.append(f"| {n} | {_duration(wait)} (at {_duration(total)} after the first) |")
    lines += [
        "",
        f"Try {outreach.MAX_DELIVERY_ATTEMPTS}, the last, comes {_duration(total)} after the "
        "first; when it fails too, the delivery is marked `failed`.",
        "",
        END,
    ]
    return "\n".join(lines)


def _duration(value: timedelta) -> str:
    seconds = int(value.total_seconds())
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    parts = [f"{hours} h" if hours else "", f"{minutes} min" if minutes else ""]
    parts.append(f"{seconds} s" if seconds else "")
    return " ".join(p for p in parts if p)


def updated(page: str) -> str:
    head, _, rest = page.partition(BEGIN)
    _, _, tail = rest.partition(END)
    return head + render() + tail


def main(argv: list[str]) -> int:
    page = PAGE.read_text()
    if BEGIN not in page or END not in page:
        print(f"{PAGE} lacks the markers {BEGIN!r} ... {END!r}", file=sys.stderr)
        return 1
    fresh = updated(page)
    if "--check" in argv:
        if fresh != page:
            print("docs/webhooks.md is out of date: run scripts/webhook-docs.py", file=sys.stderr)
            return 1
        return 0
    PAGE.write_text(fresh)
    print(f"wrote {PAGE.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
