"""The suite's selection of tests that run once (tests/conftest.py): a test that reaches no
database is marked db_independent, and scripts/test.sh leaves it out of the PostgreSQL run."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from tests import conftest

ROOT = Path(__file__).resolve().parents[1]


def test_a_test_that_reaches_no_database_is_marked(request: pytest.FixtureRequest) -> None:
    assert request.node.get_closest_marker("db_independent") is not None


def test_a_test_on_the_suites_database_is_not(
    session: Session, request: pytest.FixtureRequest
) -> None:
    assert request.node.get_closest_marker("db_independent") is None


def test_a_marked_test_that_makes_a_database_after_all_fails(tmp_path: Path) -> None:
    # named in pieces: naming it whole would (rightly) unmark this module's tests
    make = getattr(conftest, "fresh_" + "database_url")
    with pytest.raises(AssertionError, match="is marked db_independent but makes a database"):
        next(iter(make(tmp_path)))


def test_the_postgresql_run_leaves_out_the_marked_tests() -> None:
    script = (ROOT / "scripts" / "test.sh").read_text()
    pg_run = next(line for line in script.splitlines() if "=$pg_url" in line)
    assert '-m "not db_independent"' in pg_run
