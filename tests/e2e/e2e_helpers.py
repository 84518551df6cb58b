"""Real gunicorn servers on 127.0.0.1 over a fresh database, data prepared through the service
layer, and small HTTP helpers."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
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

ROOT = Path(__file__).resolve().parents[2]
SECRET_KEY = "e2e-secret-key-0123456789"
PASSPHRASE = "e2e-signing-passphrase"
TIMEOUT = 30


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def e2e_settings(database_url: str, data_dir: Path) -> Settings:
    return Settings(
        database_url=database_url,
        secret_key=SECRET_KEY,
        signing_key_passphrase=PASSPHRASE,
        data_dir=data_dir,
    )


@dataclass
class Server:
    base_url: str
    process: subprocess.Popen[bytes]
    log: Path

    def url(self, path: str) -> str:
        return self.base_url + path


@contextmanager
def gunicorn(database_url: str, data_dir: Path, *, workers: int = 2) -> Iterator[Server]:
    """Run `gunicorn wsgi:app` on a free port of 127.0.0.1 until the block ends."""
    port = free_port()
    log = data_dir / f"gunicorn-{port}.log"
    env = {
        **os.environ,
        "LICENSESVC_DATABASE_URL": database_url,
        "LICENSESVC_SECRET_KEY": SECRET_KEY,
        "LICENSESVC_SIGNING_KEY_PASSPHRASE": PASSPHRASE,
        "LICENSESVC_DATA_DIR": str(data_dir),
        "PYTHONPATH": str(ROOT),
    }
    with log.open("wb") as out:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                str(workers),
                "--timeout",
                "120",
                "--graceful-timeout",
                "5",
                "wsgi:app",
            ],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    server = Server(f"http://127.0.0.1:{port}", process, log)
    try:
        _wait_until_ready(server)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


def _wait_until_ready(server: Server) -> None:
    # generous: on a busy machine a worker can take seconds to import the app
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"gunicorn exited:\n{server.log.read_text()}")
        try:
            if requests.get(server.url("/readyz"), timeout=5).status_code == 200:
                return
        except requests.RequestException:  # not listening yet, or workers still booting
            pass
        time.sleep(0.2)
    raise RuntimeError(f"gunicorn did not become ready:\n{server.log.read_text()}")


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
