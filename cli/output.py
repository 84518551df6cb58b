"""How commands print: one JSON document with --json, aligned tables and key/value blocks
otherwise. Standard library and click only (the offline verify path uses these)."""

from __future__ import annotations

import dataclasses
import json
import os
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])


def _set_json(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if value:
        from cli.state import CliState

        ctx.find_root().ensure_object(CliState).json = True


def json_option(f: F) -> F:
    """`--json` on a subcommand, the same as `licensesvc --json ...`."""
    return click.option(
        "--json",
        "_json",
        is_flag=True,
        expose_value=False,
        is_eager=True,
        callback=_set_json,
        help="Print one JSON document (object or list) to stdout, nothing else.",
    )(f)


def out_option(help: str) -> Callable[[F], F]:
    """`--out FILE`: write there instead of to stdout (see write_or_print)."""
    return click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help=help)


def iso(value: date | datetime) -> str:
    """ISO 8601; timestamps in UTC with a Z."""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return value.isoformat()


def jsonable(value: Any) -> Any:
    """value with dates and timestamps as ISO strings, tuples as lists."""
    if isinstance(value, date | datetime):
        return iso(value)
    if dataclasses.is_dataclass(value) and hasattr(value, "as_dict"):
        # a read model (licensesvc.readmodels): its schema's JSON, the API's. Imported here, on
        # the first read model printed, so that `licensesvc verify` and --help stay light
        from licensesvc.presentation import dump

        return jsonable(dump(value))
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return value


def print_json(value: Any) -> None:
    click.echo(json.dumps(jsonable(value), indent=2, ensure_ascii=False))


#: what never reaches a terminal raw: C0 and C1 controls and DEL (escape sequences, bells,
#: carriage returns that overwrite a line), bidirectional overrides that reorder what is
#: shown, and lone surrogates (which no terminal encoding can write)
_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    named = {"\n": "\\n", "\t": "\\t", "\r": "\\r"}.get(char)
    if named is not None:
        return named
    code = ord(char)
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def printable(text: str) -> str:
    """text with every control character escaped (`\\x1b`, `\\n`, `\\u202e`), so that text
    from outside (customers' notes, names, hosts) cannot move the cursor, retitle or clear the
    analyst's terminal, or hide what follows. Every human rendering of the CLI passes through
    this (tables and key/value blocks via `cell`); JSON output is escaped by json.dumps."""
    return _UNPRINTABLE.sub(_escape, text)


def cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, date | datetime):
        return iso(value)
    if isinstance(value, list | tuple):
        return ", ".join(cell(v) for v in value) or "-"
    return printable(str(value))


def table(rows: Iterable[Mapping[str, Any]], columns: Sequence[tuple[str, str]]) -> str:
    """An aligned table: a header row of column titles, then one padded line per row.
    columns are (title, key) pairs."""
    lines = [[title for title, _ in columns]]
    lines += [[cell(row.get(key)) for _, key in columns] for row in rows]
    widths = [max(len(line[i]) for line in lines) for i in range(len(columns))]
    return "\n".join(
        "  ".join(text.ljust(width) for text, width in zip(line, widths, strict=True)).rstrip()
        for line in lines
    )


def fields(pairs: Sequence[tuple[str, Any]]) -> str:
    """A key/value block with the values aligned."""
    width = max((len(label) for label, _ in pairs), default=0)
    return "\n".join(f"{label.ljust(width)}  {cell(value)}".rstrip() for label, value in pairs)


def emit(as_json: bool, document: Any, human: str | Callable[[], str]) -> None:
    """Print document as JSON, or the human rendering."""
    if as_json:
        print_json(document)
    else:
        click.echo(human() if callable(human) else human)


def write_private(path: Path, content: str) -> None:
    """Write content (UTF-8) to path, readable and writable by its owner alone (0600, like
    the database): license files and key texts are secrets. The file is created 0600 whatever
    the umask, and an existing file is narrowed to 0600 before anything is written to it.
    Raises OSError when it cannot be written."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        os.fchmod(fd, 0o600)
        fh.write(content)


def write_or_print(
    as_json: bool, out: Path | None, content: str, *, document: Any, wrote: str
) -> None:
    """content to the file out, or to stdout when there is none. With --json stdout gets the
    document instead; otherwise a written file is announced by the line wrote. A written file
    is 0600 (write_private)."""
    if out is not None:
        write_private(out, content)
    if as_json:
        print_json(document)
    elif out is not None:
        click.echo(wrote)
    else:
        click.echo(content, nl=False)
