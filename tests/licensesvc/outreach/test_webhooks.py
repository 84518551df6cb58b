"""Webhooks out: every event type reaches a real HTTP receiver on 127.0.0.1 signed per the
Standard Webhooks specification (verified with the `standardwebhooks` library), once per event
however many app servers escalate at once; a failing receiver gets the event on a later try
with the same webhook-id, for more than 24 hours; a customer's endpoint hears only of that
customer; and no URL reaches a private, loopback, link-local or metadata address unless
LICENSESVC_WEBHOOK_ALLOW opens it."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from standardwebhooks import Webhook

from licensesvc import outreach
from licensesvc.accounts import customers
from licensesvc.cases import add_case_note, post_case_update
from licensesvc.config import Policy, Settings
from licensesvc.db import make_engine, make_sessionmaker
from licensesvc.domain.errors import InvalidState, ValidationFailed
from licensesvc.issuance import issued_keys, signing
from licensesvc.issuance.key_requests import (
    KeyRequestInput,
    deny_case,
    escalate_case,
    request_key,
)
from licensesvc.migrate import upgrade
from licensesvc.models import WebhookDelivery
from licensesvc.platform.context import Actor, ServiceContext
from licensesvc.platform.outbox import WebhookEvent
from licensesvc.runtime import Runtime
from licensesvc.webhook_delivery import deliver_due
from tests.conftest import FakeClock, fresh_database_url
from tests.webhook_helpers import Receiver

LOOPBACK = ("127.0.0.1/32",)
ALL_EVENTS = [e.value for e in WebhookEvent]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    yield server
    server.stop()


@pytest.fixture
def db_url(tmp_path: Path) -> Iterator[str]:
    yield from fresh_database_url(tmp_path, "hooks")


def make_runtime(url: str, tmp_path: Path, clock: FakeClock) -> Runtime:
    settings = Settings(
        database_url=url,
        secret_key="test-secret",
        signing_key_passphrase="test-passphrase",
        data_dir=tmp_path,
        policy=Policy(),
        webhook_allow=LOOPBACK,
        signing_key_kdf_rounds=1_000,
    )
    engine = make_engine(url)
    return Runtime(settings, engine, make_sessionmaker(engine), clock)


@pytest.fixture
def shop(db_url: str, tmp_path: Path, clock: FakeClock) -> Iterator[tuple[Runtime, dict[str, Any]]]:
    """Two premium customers, each with a license, committed for real."""
    runtime = make_runtime(db_url, tmp_path, clock)
    upgrade(runtime.engine)
    ids: dict[str, Any] = {}
    with runtime.unit_of_work(Actor.analyst("alice")) as ctx:
        signing.generate_signing_key(ctx)
        today = clock.today
        for name in ("acme", "globex"):
            c = customers.create_customer(ctx, name.title(), "na")
            customers.create_contract(
                ctx,
                c.id,
                "premium",
                today - timedelta(30),
                today + timedelta(335),
                today + timedelta(335),
            )
            lic = customers.create_license(ctx, c.id, "JAMS", 10, 100, f"s.{name}.example")
            ids[name] = c.id
            ids[f"{name}_license"] = lic.id
    yield runtime, ids
    runtime.engine.dispose()


def add_endpoint(
    runtime: Runtime, url: str, events: list[str], customer_id: int | None = None
) -> outreach.EndpointWithSecret:
    with runtime.unit_of_work(Actor.analyst("alice")) as ctx:
        return outreach.add_endpoint(ctx, url, events, customer_id)


def as_customer(ctx: ServiceContext, customer_id: int) -> ServiceContext:
    return ServiceContext(ctx.session, ctx.settings, Actor.customer(customer_id), ctx.clock)


def refused_case(runtime: Runtime, customer_id: int, license_id: int) -> str:
    with runtime.unit_of_work(Actor.customer(customer_id)) as ctx:
        out = request_key(ctx, KeyRequestInput(license_id, "replacement", host="bad host!"))
        return out.case.case_number


def verified(secret: str, arrivals: list[Any]) -> list[dict[str, Any]]:
    """Each arrival's body, verified with the standardwebhooks library (raises if not)."""
    hook = Webhook(secret)
    return [hook.verify(a.body, a.headers) for a in arrivals]


def deliveries(runtime: Runtime) -> list[WebhookDelivery]:
    with runtime.sessions() as session:
        return list(session.scalars(select(WebhookDelivery).order_by(WebhookDelivery.id)))


# -- every event, signed ---------------------------------------------------------------------


def test_every_event_type_arrives_signed_per_standard_webhooks(shop, receiver, clock):
    runtime, ids = shop
    endpoint = add_endpoint(runtime, receiver.url, ALL_EVENTS)
    assert endpoint.secret.startswith("whsec_")
    with runtime.unit_of_work(Actor.analyst("alice")) as ctx:
        first = request_key(ctx, KeyRequestInput(ids["acme_license"], "standard")).key
        request_key(
            as_customer(ctx, ids["acme"]), KeyRequestInput(ids["acme_license"], "replacement")
        )
        issued_keys.revoke_key(ctx, first.serial, "our mistake", "issued_in_error")
    number = refused_case(runtime, ids["acme"], ids["acme_license"])
    with runtime.unit_of_work(Actor.customer(ids["acme"])) as ctx:
        escalate_case(ctx, number, "down since 02:00", severity=1)
    with runtime.unit_of_work(Actor.analyst("alice")) as ctx:
        post_case_update(ctx, number, "looking at it")
        add_case_note(ctx, number, "INTERNAL: customer is grumpy")
    clock.advance(days=5)
    with runtime.unit_of_work(Actor.analyst("cron")) as ctx:
        outreach.scan(ctx)
    with runtime.unit_of_work(Actor.analyst("alice")) as ctx:
        deny_case(ctx, number, "a host name has no spaces")
    # nothing left the building inside those transactions: deliveries wait for the sender
    assert receiver.arrivals == []
    report = deliver_due(runtime)
    assert (report.sent, report.retrying, report.failed) == (len(receiver.arrivals), 0, 0)
    bodies = verified(endpoint.secret, receiver.arrivals)
    assert sorted({b["type"] for b in bodies}) == sorted(ALL_EVENTS)
    for arrival, body in zip(receiver.arrivals, bodies, strict=True):
        assert set(body) == {"type", "timestamp", "data"}
        assert arrival.headers["webhook-id"].startswith("msg_")
        assert arrival.headers["content-type"] == "application/json"
        assert arrival.path == "/hooks/licensesvc"
        assert body["data"]["customer_id"] == ids["acme"]
    revoked = next(b for b in bodies if b["type"] == "key.revoked")
    assert revoked["data"]["code"] == "issued_in_error"
    assert "our mistake" not in json.dumps(bodies)  # the analyst's words stay in the audit
    assert "INTERNAL" not in json.dumps(bodies)  # an internal note is never an event
    escalated = next(b for b in bodies if b["type"] == "case.escalated")
    assert escalated["data"]["severity"] == 1 and escalated["data"]["note"] == "down since 02:00"
    # a signature made with another secret does not verify
    with pytest.raises(Exception, match="signature"):
        Webhook(outreach.new_secret()).verify(
            receiver.arrivals[0].body, receiver.arrivals[0].headers
        )
    assert deliver_due(runtime).sent == 0  # each once


def test_a_customers_endpoint_hears_only_its_own_events(shop, receiver):
    runtime, ids = shop
    mine = add_endpoint(runtime, receiver.url, ["key.issued"], ids["acme"])
    with runtime.unit_of_work(Actor.analyst("alice")) as ctx:
        request_key(ctx, KeyRequestInput(ids["globex_license"], "standard"))
        acme_key = request_key(ctx, KeyRequestInput(ids["acme_license"], "standard")).key
    deliver_due(runtime)
    bodies = verified(mine.secret, receiver.arrivals)
    assert [b["data"]["serial"] for b in bodies] == [acme_key.serial]


def test_a_customer_registers_endpoints_for_itself_only(shop, receiver):
    runtime, ids = shop
    with runtime.unit_of_work(Actor.customer(ids["acme"])) as ctx:
        made = outreach.add_endpoint(ctx, receiver.url, ["case.refused"])
        assert made.endpoint.customer_id == ids["acme"]
        with pytest.raises(Exception, match="not found"):
            outreach.add_endpoint(ctx, receiver.url, ["case.refused"], ids["globex"])
    with runtime.unit_of_work(Actor.customer(ids["globex"])) as ctx:
        assert outreach.list_endpoints(ctx) == []
        with pytest.raises(Exception, match="not found"):
            outreach.disable_endpoint(ctx, made.endpoint.id)


# -- retries ---------------------------------------------------------------------------------


def test_a_receiver_failing_3_times_gets_it_on_the_4th_try_with_the_same_id(shop, receiver, clock):
    runtime, ids = shop
    endpoint = add_endpoint(runtime, receiver.url, ["case.refused"])
    refused_case(runtime, ids["acme"], ids["acme_license"])
    receiver.behaviour.fail_next = 3
    for wait in outreach.RETRY_SCHEDULE[:3]:
        report = deliver_due(runtime)
        assert (report.sent, report.retrying) == (0, 1)
        assert deliver_due(runtime).sent == 0  # not due again yet: backing off
        clock.advance(seconds=wait.total_seconds())
    assert deliver_due(runtime).sent == 1
    arrivals = receiver.arrivals
    assert len(arrivals) == 4
    assert len({a.headers["webhook-id"] for a in arrivals}) == 1
    assert len({a.body for a in arrivals}) == 1  # the same body on every try
    assert verified(endpoint.secret, arrivals[3:])[0]["type"] == "case.refused"
    (row,) = deliveries(runtime)
    assert (row.status, row.attempts, row.last_status_code) == ("sent", 4, 204)


def test_retries_last_more_than_24_hours_then_the_delivery_is_failed_and_retried_by_hand(
    shop, receiver, clock
):
    runtime, ids = shop
    add_endpoint(runtime, receiver.url, ["case.refused"])
    refused_case(runtime, ids["acme"], ids["acme_license"])
    receiver.behaviour.fail_next = 1000
    started = clock()
    tries = 0
    while tries < 20:  # bounded: the schedule has 8 tries
        report = deliver_due(runtime)
        tries += report.retrying + report.failed
        if report.failed:
            break
        (row,) = deliveries(runtime)
        clock.set(row.next_attempt_at)
    assert tries == outreach.MAX_DELIVERY_ATTEMPTS
    assert clock() - started >= timedelta(hours=24)
    (row,) = deliveries(runtime)
    assert row.status == "failed" and "500" in (row.last_error or "")
    with runtime.unit_of_work(Actor.analyst("alice")) as ctx:
        page = outreach.list_deliveries(ctx, status="failed")
        assert [d.id for d in page.items] == [row.id]
        outreach.retry_delivery(ctx, row.id)
    receiver.behaviour.fail_next = 0
    assert deliver_due(runtime).sent == 1
    assert len({a.headers["webhook-id"] for a in receiver.arrivals}) == 1


def test_a_disabled_endpoint_gets_nothing_more(shop, receiver):
    runtime, ids = shop
    made = add_endpoint(runtime, receiver.url, ["case.refused"])
    refused_case(runtime, ids["acme"], ids["acme_license"])
    with runtime.unit_of_work(Actor.analyst("alice")) as ctx:
        outreach.disable_endpoint(ctx, made.endpoint.id)
        with pytest.raises(InvalidState):
            outreach.disable_endpoint(ctx, made.endpoint.id)
    refused_case(runtime, ids["acme"], ids["acme_license"])
    assert deliver_due(runtime).sent == 0 and receiver.arrivals == []
    assert [d.status for d in deliveries(runtime)] == ["failed"]


def test_a_rotated_secret_signs_the_next_attempt(shop, receiver):
    runtime, ids = shop
    made = add_endpoint(runtime, receiver.url, ["case.refused"])
    refused_case(runtime, ids["acme"], ids["acme_license"])
    with runtime.unit_of_work(Actor.analyst("alice")) as ctx:
        rotated = outreach.rotate_secret(ctx, made.endpoint.id)
    assert rotated.secret != made.secret
    deliver_due(runtime)
    verified(rotated.secret, receiver.arrivals)
    with pytest.raises(Exception, match="signature"):
        verified(made.secret, receiver.arrivals)


# -- once, under concurrency -----------------------------------------------------------------


def test_one_delivery_per_event_under_concurrent_escalations_from_two_app_servers(
    shop, receiver, db_url, tmp_path, clock
):
    runtime, ids = shop
    endpoint = add_endpoint(runtime, receiver.url, ["case.escalated"])
    number = refused_case(runtime, ids["acme"], ids["acme_license"])
    servers = [make_runtime(db_url, tmp_path, clock) for _ in range(2)]
    barrier = threading.Barrier(2, timeout=30)
    outcomes: list[str] = []

    def escalate(server: Runtime) -> None:
        barrier.wait()
        try:
            with server.unit_of_work(Actor.customer(ids["acme"])) as ctx:
                escalate_case(ctx, number, "urgent", severity=1)
            outcomes.append("escalated")
        except InvalidState:
            outcomes.append("refused")

    threads = [threading.Thread(target=escalate, args=(s,)) for s in servers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(outcomes) == ["escalated", "refused"]
    # two senders at once, too
    senders = [threading.Thread(target=deliver_due, args=(s,)) for s in servers]
    for t in senders:
        t.start()
    for t in senders:
        t.join(timeout=60)
    deliver_due(runtime)
    bodies = verified(endpoint.secret, receiver.arrivals)
    assert [b["type"] for b in bodies] == ["case.escalated"]
    for server in servers:
        server.engine.dispose()


def test_the_same_event_reported_twice_is_one_delivery(shop, receiver):
    runtime, ids = shop
    add_endpoint(runtime, receiver.url, ["key.issued"])
    with runtime.unit_of_work(Actor.analyst("alice")) as ctx:
        key = request_key(ctx, KeyRequestInput(ids["acme_license"], "standard")).key
        assert key is not None
        from licensesvc.platform import outbox

        outbox.key_issued_webhook(ctx, key)
    assert len(deliveries(runtime)) == 1


# -- a slow or failing receiver slows only itself --------------------------------------------


def test_a_slow_receiver_does_not_delay_another(shop, clock):
    runtime, ids = shop
    slow, quick = Receiver(), Receiver()
    try:
        slow.behaviour.delay = 3.0
        add_endpoint(runtime, slow.url, ["case.refused"])
        add_endpoint(runtime, quick.url, ["case.refused"])
        refused_case(runtime, ids["acme"], ids["acme_license"])
        started = time.monotonic()
        report = deliver_due(runtime, timeout=1.0)
        elapsed = time.monotonic() - started
        assert (report.sent, report.retrying) == (1, 1)
        assert len(quick.arrivals) == 1
        assert elapsed < 2.8  # bounded by the 1 s timeout, not the receiver's 3 s
    finally:
        slow.stop()
        quick.stop()


def test_a_redirect_is_not_followed(shop, receiver):
    runtime, ids = shop
    add_endpoint(runtime, receiver.url, ["case.refused"])
    receiver.behaviour.redirect_to = "http://169.254.169.254/latest/meta-data/"
    refused_case(runtime, ids["acme"], ids["acme_license"])
    report = deliver_due(runtime)
    assert report.retrying == 1 and len(receiver.arrivals) == 1
    (row,) = deliveries(runtime)
    assert row.last_status_code == 302 and "redirects are not followed" in (row.last_error or "")


# -- SSRF ------------------------------------------------------------------------------------


def resolves_to(address: str) -> outreach.Resolver:
    return lambda host, port: [address]


@pytest.mark.parametrize(
    "url, resolver",
    [
        ("http://169.254.169.254/", None),
        ("https://169.254.169.254/latest/meta-data/", None),
        ("http://10.0.0.1/", None),
        ("https://10.0.0.1/", None),
        ("http://localhost/", None),
        ("https://localhost/", None),
        ("https://hooks.example.com/", resolves_to("127.0.0.1")),
        ("https://hooks.example.com/", resolves_to("192.168.1.10")),
        ("https://hooks.example.com/", resolves_to("fd00:ec2::254")),
        ("https://hooks.example.com/", resolves_to("::ffff:127.0.0.1")),
        ("https://[::1]/", None),
        ("https://0.0.0.0/", None),
    ],
)
def test_a_url_to_a_private_loopback_or_metadata_address_is_refused(url, resolver):
    kwargs = {"resolve": resolver} if resolver else {}
    with pytest.raises(ValidationFailed):
        outreach.check_url(url, (), **kwargs)


def test_an_http_url_to_a_public_address_is_refused_and_https_passes():
    public = resolves_to("93.184.215.14")
    with pytest.raises(ValidationFailed, match="https"):
        outreach.check_url("http://hooks.example.com/", (), public)
    target = outreach.check_url("https://hooks.example.com/in?x=1", (), public)
    assert (target.address, target.port, target.path) == ("93.184.215.14", 443, "/in?x=1")


def test_the_allowlist_opens_loopback_and_http_there():
    target = outreach.check_url("http://127.0.0.1:8080/h", LOOPBACK)
    assert target.address == "127.0.0.1"
    with pytest.raises(ValidationFailed):
        outreach.check_url("http://10.0.0.1/", LOOPBACK)


def test_registration_refuses_what_the_checks_refuse(shop):
    runtime, _ids = shop
    closed = replace(runtime, settings=replace(runtime.settings, webhook_allow=()))
    for url in ("http://169.254.169.254/", "http://10.0.0.1/", "http://localhost/"):
        with closed.unit_of_work(Actor.analyst("alice")) as ctx:
            with pytest.raises(ValidationFailed):
                outreach.add_endpoint(ctx, url, ["key.issued"])
    with closed.unit_of_work(Actor.analyst("alice")) as ctx:
        with pytest.raises(ValidationFailed, match="unknown webhook event"):
            outreach.add_endpoint(ctx, "https://1.1.1.1/", ["key.made"])
        assert outreach.list_endpoints(ctx) == []


def test_a_host_that_turns_private_after_registration_is_refused_at_delivery(shop, receiver):
    runtime, ids = shop
    with runtime.unit_of_work(Actor.analyst("alice")) as ctx:
        outreach.add_endpoint(
            ctx,
            f"http://hooks.vendor.test:{receiver.port}/",
            ["case.refused"],
            resolve=resolves_to("127.0.0.1"),
        )
    refused_case(runtime, ids["acme"], ids["acme_license"])
    closed = replace(runtime, settings=replace(runtime.settings, webhook_allow=()))
    report = deliver_due(closed, resolve=resolves_to("127.0.0.1"))
    assert report.retrying == 1 and receiver.arrivals == []
    (row,) = deliveries(runtime)
    assert "refused" in (row.last_error or "") and "127.0.0.1" in (row.last_error or "")
