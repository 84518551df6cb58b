"""Fixtures for the CLI stories: the CLI run in-process (CliRunner) against the test database
(each test inside an outer transaction that is rolled back) with the suite's fake clock."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine

from licensesvc.config import Settings
from licensesvc.runtime import Runtime
from tests.cli.cli_helpers import Cli, Shop, contract_create, license_create, rolled_back_runtime


@pytest.fixture
def runtime(engine: Engine, settings: Settings, clock: Any) -> Iterator[Runtime]:
    yield from rolled_back_runtime(engine, settings, clock)


@pytest.fixture
def run(runtime: Runtime) -> Cli:
    return Cli(runtime)


@pytest.fixture
def shop(run: Cli) -> Shop:
    run.ok("signing-key", "generate")
    ids: list[int] = []
    for name, plan, region in (("Acme", "base", "na"), ("Globex", "premium", "emea")):
        customer = run.json("customer", "create", "--name", name, "--region", region)["id"]
        contract = run.json(*contract_create(customer, plan=plan))["id"]
        lic = run.json(
            *license_create(
                customer,
                product="JAMS Scheduler",
                agents=10,
                jobs=1000,
                host=f"sched.{name.lower()}.example",
                failover_host=f"dr.{name.lower()}.example",
            )
        )["id"]
        ids += [customer, contract, lic]
    return Shop(*ids)
