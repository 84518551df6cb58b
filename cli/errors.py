"""Exceptions become one line on stderr and exit 1 at the CLI's boundary, never a traceback.

Imports nothing heavy: a library's exception classes are consulted only when that library is
already loaded (an exception of a module that was never imported cannot have been raised).
"""

from __future__ import annotations

import sys
from typing import IO, Any

import click


class Refused(click.ClickException):
    """A key request policy refused: `refused: <code> (case <CASE>): <message>`."""

    def __init__(self, code: str, case_number: str | None, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.case_number = case_number

    def format_message(self) -> str:
        case = f" (case {self.case_number})" if self.case_number else ""
        return f"refused: {self.code}{case}: {self.message}"

    def show(self, file: IO[Any] | None = None) -> None:
        click.echo(self.format_message(), file=file or sys.stderr)


class CannotCheck(click.ClickException):
    """`licensesvc verify` could not decide (unreadable public key, ...): exit 2, so that
    exit 1 always means "the key is not valid"."""

    exit_code = 2


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else text


def translate(exc: BaseException) -> click.ClickException | None:
    """The one-line ClickException for exc, or None when it is not an expected failure."""
    refusals = sys.modules.get("licensesvc.issuance.errors")  # KeyRequestRefused lives there
    if refusals is not None and isinstance(exc, refusals.KeyRequestRefused):
        return Refused(exc.code, exc.case_number, exc.message)
    errors = sys.modules.get("licensesvc.domain.errors")
    if errors is not None:
        if isinstance(exc, errors.ServiceError):
            return click.ClickException(f"{exc.code}: {exc.message}")
    db = sys.modules.get("licensesvc.db")
    if db is not None and isinstance(exc, db.DeadlineExceeded):
        return click.ClickException(f"cannot use the database: {exc}")
    config = sys.modules.get("licensesvc.config")
    if config is not None and isinstance(exc, config.ConfigurationError):
        return click.ClickException(f"configuration: {exc}")
    if "sqlalchemy" in sys.modules:
        from sqlalchemy.exc import ArgumentError, DBAPIError, InterfaceError, OperationalError
        from sqlalchemy.exc import TimeoutError as PoolTimeout

        if isinstance(exc, PoolTimeout):
            return click.ClickException(f"cannot use the database: {_first_line(str(exc))}")
        if isinstance(exc, OperationalError | InterfaceError):
            detail = _first_line(str(exc.orig)) if exc.orig is not None else _first_line(str(exc))
            return click.ClickException(f"cannot use the database: {detail}")
        if isinstance(exc, DBAPIError):
            detail = _first_line(str(exc.orig)) if exc.orig is not None else _first_line(str(exc))
            return click.ClickException(f"database error: {detail}")
        if isinstance(exc, ArgumentError):
            return click.ClickException(f"configuration: LICENSESVC_DATABASE_URL: {exc}")
    if isinstance(exc, ModuleNotFoundError) and exc.name and "sqlalchemy" in sys.modules:
        # e.g. a database URL naming a driver that is not installed
        return click.ClickException(f"configuration: missing module {exc.name}")
    return None
