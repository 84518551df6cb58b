"""Run the reliability tests in full size and write their figures into docs/reliability.md.

    .venv/bin/python scripts/reliability.py            # PostgreSQL at 127.0.0.1:5432 and SQLite
    .venv/bin/python scripts/reliability.py --pg-only
    .venv/bin/python scripts/reliability.py --only tests/reliability/test_database_faults.py

Each scenario is a test of tests/reliability/ (CI runs the same tests reduced); with
LICENSESVC_FULL_TESTS=1 (the suite's full run) they run in full and append one row each to
a figures file, which this script renders as the table between the markers of
docs/reliability.md.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "reliability.md"
BEGIN, END = "<!-- figures:begin -->", "<!-- figures:end -->"
PG_URL = os.environ.get(
    "LICENSESVC_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
COLUMNS = [
    ("scenario", "Scenario"),
    ("database", "Database"),
    ("fired", "Requests fired"),
    ("granted", "Granted (2xx)"),
    ("refused", "Refused (4xx)"),
    ("unavailable", "503 service_unavailable"),
    ("other_5xx", "Other 5xx"),
    ("lost", "Unanswered"),
    ("duplicates", "Duplicates"),
    ("kills", "Kills / SIGTERMs"),
    ("faults", "Faults injected"),
    ("records_lost", "Records lost"),
    ("stored_unanswered", "Stored, never answered"),
    ("notes", "Notes"),
    ("command", "Command"),
]


def run(database: str | None, figures: Path, tests: list[str]) -> int:
    env = {
        **os.environ,
        "LICENSESVC_FULL_TESTS": "1",
        "LICENSESVC_RELIABILITY_FIGURES": str(figures),
    }
    env.pop("LICENSESVC_TEST_DATABASE_URL", None)
    if database:
        env["LICENSESVC_TEST_DATABASE_URL"] = database
    command = [
        sys.executable,
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:cacheprovider",
        "-o",
        "timeout=1800",
        *tests,
    ]
    return subprocess.run(command, cwd=ROOT, env=env).returncode


def table(rows: list[dict[str, object]]) -> str:
    lines = [
        "| " + " | ".join(title for _, title in COLUMNS) + " |",
        "|" + "---|" * len(COLUMNS),
    ]
    for row in rows:
        lines.append("| " + " | ".join(str(row.get(key, "")) for key, _ in COLUMNS) + " |")
    return "\n".join(lines)


def previous_rows(
    text: str, remeasured: Callable[[dict[str, str]], bool]
) -> list[dict[str, object]]:
    """The rows of the table docs/reliability.md holds now that this run did not measure again
    (a --pg-only run keeps the SQLite rows, an --only run the other tests' rows)."""
    block = text.partition(BEGIN)[2].partition(END)[0]
    lines = [line for line in block.splitlines() if line.startswith("|")]
    if len(lines) < 2:
        return []
    keys = {title: key for key, title in COLUMNS}
    header = [cell.strip() for cell in lines[0].strip("|").split("|")]
    rows: list[dict[str, object]] = []
    for line in lines[2:]:
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        row = {keys[t]: c for t, c in zip(header, cells, strict=False) if t in keys}
        if not remeasured(row):
            rows.append({key: value for key, value in row.items()})
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--pg-only",
        action="store_true",
        help="skip the SQLite run (the table keeps the SQLite rows it has)",
    )
    parser.add_argument(
        "--only",
        action="append",
        metavar="TEST",
        help="run only this file or test of tests/reliability (repeatable); the table keeps "
        "the other tests' rows",
    )
    args = parser.parse_args()
    tests = args.only or ["tests/reliability"]
    with tempfile.TemporaryDirectory() as tmp:
        figures = Path(tmp) / "figures.jsonl"
        status = run(PG_URL, figures, tests)
        if not args.pg_only:
            status = run(None, figures, tests) or status
        rows = (
            [json.loads(line) for line in figures.read_text().splitlines()]
            if figures.exists()
            else []
        )
    text = DOC.read_text()
    flags = (" --pg-only" if args.pg_only else "") + "".join(
        f" --only {t}" for t in args.only or []
    )
    command = f"`.venv/bin/python scripts/reliability.py{flags}`"

    def remeasured(row: dict[str, str]) -> bool:
        if args.pg_only and row.get("database") != "PostgreSQL":
            return False
        return not args.only or any(t in row.get("command", "") for t in args.only)

    kept = previous_rows(text, remeasured) if args.pg_only or args.only else []
    note = ""
    if kept:
        note = (
            f" {len(kept)} rows were kept from an earlier run (each row's command runs its "
            "test alone)."
        )
    rows = sorted(rows + kept, key=lambda row: row.get("database") != "PostgreSQL")
    block = (
        f"{BEGIN}\nWritten by {command} ({', '.join(tests)} in full size; exit "
        f"{status}).{note}\n\n{table(rows)}\n{END}"
    )
    head, _, rest = text.partition(BEGIN)
    _, _, tail = rest.partition(END)
    DOC.write_text(head + block + tail)
    print(table(rows))
    return status


if __name__ == "__main__":
    raise SystemExit(main())
