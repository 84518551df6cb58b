"""Real gunicorn servers on 127.0.0.1 over a fresh database, data prepared through the service
layer, and small HTTP helpers."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import requests

from licensesvc.accounts import customers
from licensesvc.config import Settings
from licensesvc.identity import tokens
from licensesvc.issuance.key_requests import KeyRequestInput, KeyRequestOutcome, request_key
from licensesvc.issuance.signing import generate_signing_key
from licensesvc.migrate import upgrade
from licensesvc.platform.context import Actor
from licensesvc.runtime import Runtime
from tests.support.servers import ROOT as ROOT
from tests.support.servers import Server as Server
from tests.support.servers import free_port as free_port
from tests.support.servers import gunicorn as support_gunicorn

SECRET_KEY = "e2e-secret-key-0123456789"
PASSPHRASE = "e2e-signing-passphrase"
TIMEOUT = 30


def e2e_settings(database_url: str, data_dir: Path) -> Settings:
    return Settings(
        database_url=database_url,
        secret_key=SECRET_KEY,
        signing_key_passphrase=PASSPHRASE,
        data_dir=data_dir,
    )


def server_env(database_url: str, data_dir: Path) -> dict[str, str]:
    """The LICENSESVC_* variables of a server on database_url, keeping its files in data_dir."""
    return {
        "LICENSESVC_DATABASE_URL": database_url,
        "LICENSESVC_SECRET_KEY": SECRET_KEY,
        "LICENSESVC_SIGNING_KEY_PASSPHRASE": PASSPHRASE,
        "LICENSESVC_DATA_DIR": str(data_dir),
    }


@contextmanager
def gunicorn(database_url: str, data_dir: Path, *, workers: int = 2) -> Iterator[Server]:
    """Run `gunicorn wsgi:app` (stock settings) on a free port of 127.0.0.1 until the block
    ends (tests/support/servers.py)."""
    with support_gunicorn(
        server_env(database_url, data_dir),
        data_dir,
        workers=workers,
        options=("--timeout", "120", "--graceful-timeout", "5"),
        stop_within=15,
    ) as server:
        yield server


@contextmanager
def servers(database_url: str, data_dir: Path, count: int) -> Iterator[list[Server]]:
    with ExitStack() as stack:
        yield [stack.enter_context(gunicorn(database_url, data_dir)) for _ in range(count)]


@dataclass
class Prepared:
    """What the prepared database holds: ids by name, and tokens by name."""

    today: date
    customer: dict[str, int] = field(default_factory=dict)
    license: dict[str, int] = field(default_factory=dict)
    contract: dict[str, int] = field(default_factory=dict)
    token: dict[str, str] = field(default_factory=dict)


def prepare(settings: Settings, plan: list[tuple[str, str, str, int, int, int]]) -> Prepared:
    """Upgrade the schema and create, through the services, a signing key, an analyst token,
    and for each (name, plan, region, start, end, paid_through) — offsets in days from today —
    a customer with a contract, a license and a token."""
    runtime = Runtime.from_settings(settings)
    try:
        upgrade(runtime.engine)
        with runtime.unit_of_work(Actor.system()) as ctx:
            today = ctx.now().date()
            made = Prepared(today)
            generate_signing_key(ctx)
            made.token["analyst"] = tokens.create_token(ctx, analyst="e2e-analyst")[1]
            for name, plan_name, region, start, end, paid in plan:
                customer = customers.create_customer(ctx, name, region)
                contract = customers.create_contract(
                    ctx,
                    customer.id,
                    plan_name,
                    today + timedelta(days=start),
                    today + timedelta(days=end),
                    today + timedelta(days=paid),
                )
                lic = customers.create_license(
                    ctx,
                    customer.id,
                    "JAMS Scheduler",
                    10,
                    1000,
                    f"sched.{name.lower()}.example",
                    failover_host=f"dr.{name.lower()}.example",
                )
                made.customer[name] = customer.id
                made.contract[name] = contract.id
                made.license[name] = lic.id
                made.token[name] = tokens.create_token(ctx, customer_id=customer.id)[1]
        return made
    finally:
        runtime.engine.dispose()


def issue_standard_key(settings: Settings, license_id: int) -> str:
    runtime = Runtime.from_settings(settings)
    try:
        with runtime.unit_of_work(Actor.system()) as ctx:
            outcome = request_key(ctx, KeyRequestInput(license_id=license_id, kind="standard"))
            assert isinstance(outcome, KeyRequestOutcome) and outcome.key is not None
            return outcome.key.serial
    finally:
        runtime.engine.dispose()


def call(
    server: Server, method: str, path: str, token: str | None = None, **kwargs: Any
) -> requests.Response:
    headers = dict(kwargs.pop("headers", {}))
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return requests.request(method, server.url(path), headers=headers, timeout=TIMEOUT, **kwargs)
