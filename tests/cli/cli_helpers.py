"""Helpers of the CLI stories: run the CLI in-process, the shop most stories start from, the
arguments of the commands that make records, and a count of rows."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from click.testing import CliRunner, Result
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from cli.main import cli
from cli.state import CliState
from licensesvc.config import Settings
from licensesvc.runtime import Runtime

#: an id no row of the suite reaches, for "not found" cases (the PostgreSQL suite shares one
#: database across tests, so a small id such as 77 or 999 can exist)
NO_ID = 2_000_000_000


@dataclass
class Cli:
    """Runs `licensesvc ARGS...` in-process against one runtime; never lets a traceback by."""

    runtime: Runtime

    def __call__(self, *args: object, input: str | None = None, analyst: str = "alice") -> Result:
        result = CliRunner().invoke(
            cli,
            [str(a) for a in args],
            obj=CliState(runtime=self.runtime, analyst=analyst),
            input=input,
        )
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            raise result.exception
        assert "Traceback" not in result.output
        return result

    def ok(self, *args: object, **kwargs: Any) -> Result:
        result = self(*args, **kwargs)
        assert result.exit_code == 0, result.output
        return result

    def json(self, *args: object, **kwargs: Any) -> Any:
        """Run with the root --json and return the parsed stdout."""
        return json.loads(self.ok("--json", *args, **kwargs).stdout)

    def fails(self, *args: object, exit_code: int = 1, **kwargs: Any) -> Result:
        result = self(*args, **kwargs)
        assert result.exit_code == exit_code, result.output
        return result


def rolled_back_runtime(engine: Engine, settings: Settings, clock: Any) -> Iterator[Runtime]:
    connection = engine.connect()
    outer = connection.begin()
    sessions = sessionmaker(
        bind=connection,
        class_=Session,
        join_transaction_mode="create_savepoint",
        expire_on_commit=False,
    )
    try:
        yield Runtime(settings, engine, sessions, clock)
    finally:
        outer.rollback()
        connection.close()


@dataclass
class Shop:
    """What most CLI stories start from, made through the CLI: a signing key, a Base customer
    (Acme) and a Premium customer (Globex), each with a contract for 2026 and a license."""

    acme: int
    acme_contract: int
    acme_license: int
    globex: int
    globex_contract: int
    globex_license: int


def count(run: Cli, model: type) -> int:
    """How many rows of model the runtime's database holds."""
    with run.runtime.sessions() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def command(*words: object, **options: object) -> list[object]:
    """The arguments words, then each option in order (its _ as -): `--name value`, the flag
    `--name` alone for True, nothing for None or False. command("key", "issue",
    dr_test_date=d) gives ["key", "issue", "--dr-test-date", d]."""
    args = list(words)
    for name, value in options.items():
        if value is not None and value is not False:
            flag = f"--{name.replace('_', '-')}"
            args += [flag] if value is True else [flag, value]
    return args


#: what contract_create makes unless told otherwise: a Base contract for 2026 paid through its end
CONTRACT_2026 = {
    "plan": "base",
    "start": "2026-01-01",
    "end": "2026-12-31",
    "paid_through": "2026-12-31",
}
#: what license_create makes unless told otherwise: a perpetual license for 1 agent and 1 job
SMALL_LICENSE = {"product": "P", "agents": 1, "jobs": 1, "host": "h.example"}


def contract_create(customer: object, **options: object) -> list[object]:
    """The arguments of `licensesvc contract create`: CONTRACT_2026 with options' changes."""
    return command("contract", "create", customer=customer, **{**CONTRACT_2026, **options})


def license_create(customer: object, **options: object) -> list[object]:
    """The arguments of `licensesvc license create`: SMALL_LICENSE with options' changes."""
    return command("license", "create", customer=customer, **{**SMALL_LICENSE, **options})


def key_issue(license_id: object, kind: str, **options: object) -> list[object]:
    """The arguments of `licensesvc key issue` (options: reason, dr_test_date, host,
    override_reason, out)."""
    return command("key", "issue", license=license_id, kind=kind, **options)


def record_payment(contract: object, paid_through: str) -> list[object]:
    """The arguments of `licensesvc contract record-payment`."""
    return command("contract", "record-payment", contract=contract, paid_through=paid_through)


def user_create(customer: object, email: str, *, password_stdin: bool = False) -> list[object]:
    """The arguments of `licensesvc user create` (the password prompted, or read from stdin)."""
    return command("user", "create", customer=customer, email=email, password_stdin=password_stdin)
