"""What every command is handed: who acts, whether to print JSON, and the runtime (database,
settings, clock), built lazily so that commands which need no database never touch one.

This module imports only the standard library and click at import time: the offline
`licensesvc verify` path goes through it and must not pull in flask or sqlalchemy.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, TypeVar

import click

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from licensesvc.platform.context import Actor, ServiceContext
    from licensesvc.runtime import Runtime

T = TypeVar("T")

ANALYST_ENV = "LICENSESVC_ANALYST"
UPGRADE_HINT = "run `licensesvc db upgrade` first"


class CliState:
    """The root context object. Tests pass one in (`cli.main(args, obj=CliState(runtime=...))`)
    to run commands against their own database and clock."""

    def __init__(
        self, runtime: Runtime | None = None, analyst: str | None = None, json: bool = False
    ) -> None:
        self.runtime_override: Runtime | None = runtime
        self.analyst = analyst
        self.json = json

    @property
    def runtime(self) -> Runtime:
        """The runtime given at construction, else one built from LICENSESVC_* variables."""
        if self.runtime_override is None:
            from licensesvc.config import Settings
            from licensesvc.runtime import Runtime

            self.runtime_override = Runtime.from_settings(Settings.from_env())
        return self.runtime_override

    @property
    def analyst_name(self) -> str:
        """--as NAME, else $LICENSESVC_ANALYST, else the operating-system user."""
        import getpass  # only now: it loads termios

        return self.analyst or os.environ.get(ANALYST_ENV) or getpass.getuser()

    @property
    def actor(self) -> Actor:
        from licensesvc.platform.context import Actor

        return Actor.analyst(self.analyst_name)

    @contextmanager
    def unit_of_work(self) -> Iterator[ServiceContext]:
        """A service context whose work is committed when the block ends normally and rolled
        back when it raises. Fails with one line when the schema is missing or outdated."""
        with self.runtime.unit_of_work(self.actor) as ctx:
            require_schema(ctx.session)
            yield ctx

    def retried(self, work: Callable[[ServiceContext], T]) -> T:
        """Return work(ctx) once it is committed: one unit of work, committed once, rolled back
        and run again after a deadlock, serialization failure or lock timeout
        (platform/transactions.py `unit_of_work`, 3 attempts in all), as the API runs its
        writing calls. Every command that changes a case or a key goes through here
        (tests/cli/test_cli_retries.py checks)."""
        from licensesvc.platform import transactions

        with self.unit_of_work() as ctx:
            return transactions.unit_of_work(ctx.session, lambda: work(ctx))


def require_schema(session: Session) -> None:
    """Raise a one-line ClickException unless the database is migrated to the newest revision."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    from licensesvc.migrate import MIGRATIONS

    current = MigrationContext.configure(session.connection()).get_current_revision()
    if current is None:
        raise click.ClickException(f"the database has no licensesvc schema; {UPGRADE_HINT}")
    head = ScriptDirectory(str(MIGRATIONS)).get_current_head()
    if current != head:
        raise click.ClickException(
            f"the database schema is at revision {current}, this licensesvc needs {head}; "
            f"{UPGRADE_HINT}"
        )


pass_state = click.make_pass_decorator(CliState, ensure=True)


def current_state() -> CliState:
    """The root CliState of the running command."""
    return click.get_current_context().find_root().ensure_object(CliState)
