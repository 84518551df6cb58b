"""The entitlement report is kept per process while nothing changes (platform/freshness.py):
what a user sees is still the report of the moment, right after any change of state, on this
app server as on another, and when the clock crosses a boundary."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from licensesvc.accounts import contracts, customers
from licensesvc.api.entitlement_views import report_json
from licensesvc.app import create_app
from licensesvc.config import Policy, Settings
from licensesvc.db import make_engine, make_sessionmaker
from licensesvc.identity import tokens
from licensesvc.issuance import entitlements
from licensesvc.issuance.signing import generate_signing_key
from licensesvc.migrate import upgrade
from licensesvc.platform.context import Actor, ServiceContext
from licensesvc.runtime import Runtime
from tests.conftest import FakeClock, World, fresh_database_url
from tests.licensesvc.api.api_helpers import Caller, assert_problem, bearer


@pytest.fixture
def renders(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The customer of every report actually built (a cached answer builds none)."""
    built: list[int] = []
    build = entitlements.entitlement_report

    def counted(ctx: ServiceContext, customer_id: int) -> Any:
        built.append(customer_id)
        return build(ctx, customer_id)

    monkeypatch.setattr(entitlements, "entitlement_report", counted)
    return built


def test_the_cached_answer_is_the_report_of_the_moment_byte_for_byte(
    app: Flask, as_premium: Caller, world: World, analyst: ServiceContext, renders: list[int]
) -> None:
    first = as_premium.get("/v1/entitlements")
    again = as_premium.get("/v1/entitlements")
    assert renders == [world.premium_customer]  # the second answer came from the cache
    with app.test_request_context():
        fresh = report_json(entitlements.entitlement_report(analyst, world.premium_customer))
    assert first.status_code == again.status_code == 200
    assert first.data == again.data == fresh
    assert again.content_type == "application/json"
    assert again.get_json()["plan"] == "premium"


def test_a_report_changes_right_after_a_payment_a_key_and_a_plan_change(
    as_base: Caller,
    as_analyst: Caller,
    world: World,
    analyst: ServiceContext,
    session: Session,
    clock: FakeClock,
    renders: list[int],
) -> None:
    # the clock never moves here: only the audit trail tells the cache that the data changed
    before = as_base.read("/v1/entitlements")
    assert before["maintenance_paid_through"] == "2027-01-31"
    contracts.record_payment(
        analyst, world.base_contract, clock.today, correction=True, reason="invoice 7 bounced"
    )
    session.commit()
    paid = as_base.read("/v1/entitlements")
    assert paid["maintenance_paid_through"] == str(clock.today)

    assert paid["licenses"][0]["usable_hosts"] == []
    as_analyst.issue("standard", license_id=world.base_license)
    keyed = as_base.read("/v1/entitlements")
    assert keyed["licenses"][0]["usable_hosts"] == ["dr.acme.example", "sched.acme.example"]

    contracts.change_plan(
        analyst, world.base_contract, "premium", clock.today, "upgraded at the customer's request"
    )
    session.commit()
    upgraded = as_base.read("/v1/entitlements")
    assert (before["plan"], upgraded["plan"]) == ("base", "premium")
    assert len(renders) == 4  # each change rendered the report again, and nothing else did
    assert as_base.read("/v1/entitlements") == upgraded
    assert len(renders) == 4


def test_a_report_changes_the_second_the_contract_ends(
    as_base: Caller, world: World, clock: FakeClock
) -> None:
    # the base contract's last day is today + 335, in New York (Acme's region)
    last_day = clock.today + timedelta(days=335)
    end = datetime.combine(last_day, time(23, 59, 59), ZoneInfo("America/New_York"))
    clock.set(end.astimezone(UTC))
    on_the_last_second = as_base.read("/v1/entitlements")
    assert on_the_last_second["contract_active"] is True
    assert as_base.read("/v1/entitlements") == on_the_last_second
    clock.advance(seconds=1)
    after = as_base.read("/v1/entitlements")
    assert after["contract_active"] is False
    assert after["refusal"]["code"] == "contract_expired"
    assert after["allowed_key_kinds"] == []


def test_a_customer_never_gets_the_report_an_analyst_read_of_another_customer(
    as_base: Caller, as_analyst: Caller, world: World
) -> None:
    other = f"/v1/entitlements?customer_id={world.premium_customer}"
    assert as_analyst.read(other)["plan"] == "premium"
    assert_problem(as_base.get(other), 404, "not_found")
    assert as_base.read("/v1/entitlements")["plan"] == "base"


# --- two app servers on one database ---------------------------------------------------------


@dataclass
class Servers:
    """Two app servers (apps with their own Runtime and engine) on one database, and what the
    story needs of it."""

    first: FlaskClient
    second: FlaskClient
    second_runtime: Runtime
    customer_token: str
    analyst_token: str
    contract_id: int
    license_id: int

    def report(self, client: FlaskClient) -> Any:
        r = client.get("/v1/entitlements", headers=bearer(self.customer_token))
        assert r.status_code == 200, r.get_data(as_text=True)
        return r.get_json()


@pytest.fixture
def servers(tmp_path: Path, clock: FakeClock) -> Iterator[Servers]:
    for url in fresh_database_url(tmp_path, "two_servers"):
        settings = Settings(
            database_url=url,
            secret_key="two-servers-secret",
            signing_key_passphrase="test-passphrase",
            data_dir=tmp_path,
            policy=Policy(),
            signing_key_kdf_rounds=1_000,
        )
        engines = [make_engine(url), make_engine(url)]
        upgrade(engines[0])
        runtimes = [Runtime(settings, e, make_sessionmaker(e), clock) for e in engines]
        today = clock.today
        with runtimes[0].unit_of_work(Actor.analyst("alice")) as ctx:
            generate_signing_key(ctx)
            customer = customers.create_customer(ctx, "Initech", "na")
            contract = customers.create_contract(
                ctx,
                customer.id,
                "base",
                today - timedelta(days=30),
                today + timedelta(days=335),
                today + timedelta(days=100),
            )
            lic = customers.create_license(ctx, customer.id, "JAMS Scheduler", 5, 50, "a.example")
            _, customer_token = tokens.create_token(ctx, customer_id=customer.id)
            _, analyst_token = tokens.create_token(ctx, analyst="bob")
            ids = (contract.id, lic.id)
        apps: list[Flask] = [create_app(runtime=rt) for rt in runtimes]
        try:
            yield Servers(
                apps[0].test_client(),
                apps[1].test_client(),
                runtimes[1],
                customer_token,
                analyst_token,
                *ids,
            )
        finally:
            for e in engines:
                e.dispose()


def test_a_change_made_on_another_app_server_shows_at_once(
    servers: Servers, clock: FakeClock
) -> None:
    before = servers.report(servers.first)
    assert servers.report(servers.first) == before  # kept
    with servers.second_runtime.unit_of_work(Actor.analyst("carol")) as ctx:
        contracts.record_payment(ctx, servers.contract_id, clock.today + timedelta(days=200))
    paid = servers.report(servers.first)
    assert (before["maintenance_paid_through"], paid["maintenance_paid_through"]) == (
        str(clock.today + timedelta(days=100)),
        str(clock.today + timedelta(days=200)),
    )

    issued = servers.second.post(
        "/v1/key-requests",
        json={"kind": "standard", "license_id": servers.license_id},
        headers=bearer(servers.analyst_token),
    )
    assert issued.status_code == 201, issued.get_data(as_text=True)
    keyed = servers.report(servers.first)
    assert paid["licenses"][0]["usable_hosts"] == []
    assert keyed["licenses"][0]["usable_hosts"] == ["a.example"]
    assert servers.report(servers.second) == keyed
