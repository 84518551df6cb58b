"""Fixtures of the reliability tests: a fresh database of the kind under test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import fresh_database_url


@pytest.fixture
def rel_database_url(tmp_path: Path) -> Iterator[str]:
    yield from fresh_database_url(tmp_path, "rel")
