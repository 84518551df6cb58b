"""Helpers of the CLI stories: run the CLI in-process, and the shop most stories start from."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from click.testing import CliRunner, Result
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from cli.main import cli
from cli.state import CliState
from licensesvc.config import Settings
from licensesvc.runtime import Runtime


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
