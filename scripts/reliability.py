"""Run the reliability tests in full size and write their figures into docs/reliability.md.

    .venv/bin/python scripts/reliability.py            # PostgreSQL at 127.0.0.1:5432 and SQLite
    .venv/bin/python scripts/reliability.py --pg-only

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


def run(database: str | None, figures: Path) -> int:
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
        "tests/reliability",
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


def previous_rows(text: str, database: str) -> list[dict[str, object]]:
    """The rows of `database` in the table docs/reliability.md holds now (a --pg-only run keeps
    the SQLite rows of the last full run)."""
    block = text.partition(BEGIN)[2].partition(END)[0]
    lines = [line for line in block.splitlines() if line.startswith("|")]
    if len(lines) < 2:
        return []
    keys = {title: key for key, title in COLUMNS}
    header = [cell.strip() for cell in lines[0].strip("|").split("|")]
    rows = []
    for line in lines[2:]:
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        row = {keys[t]: c for t, c in zip(header, cells, strict=False) if t in keys}
        if row.get("database") == database:
            rows.append(row)
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--pg-only",
        action="store_true",
        help="skip the SQLite run (the table keeps the SQLite rows it has)",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        figures = Path(tmp) / "figures.jsonl"
        status = run(PG_URL, figures)
        if not args.pg_only:
            status = run(None, figures) or status
        rows = (
            [json.loads(line) for line in figures.read_text().splitlines()]
            if figures.exists()
            else []
        )
    text = DOC.read_text()
    command = "`.venv/bin/python scripts/reliability.py" + (" --pg-only`" if args.pg_only else "`")
    note = ""
    if args.pg_only:
        kept = previous_rows(text, "SQLite")
        rows += kept
        if kept:
            note = " The SQLite rows are from the last run without --pg-only."
    block = (
        f"{BEGIN}\nWritten by {command} (tests/reliability/ in full size; exit "
        f"{status}).{note}\n\n{table(rows)}\n{END}"
    )
    head, _, rest = text.partition(BEGIN)
    _, _, tail = rest.partition(END)
    DOC.write_text(head + block + tail)
    print(table(rows))
    return status


if __name__ == "__main__":
    raise SystemExit(main())
