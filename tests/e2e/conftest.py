"""Fixtures of the end-to-end tests: a fresh database of the kind under test (SQLite, or
PostgreSQL when LICENSESVC_TEST_DATABASE_URL is set)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import fresh_database_url


@pytest.fixture
def e2e_database_url(tmp_path: Path) -> Iterator[str]:
    yield from fresh_database_url(tmp_path, "e2e")
