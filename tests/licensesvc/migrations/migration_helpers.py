"""What every migration test starts from: a fresh database (SQLite, or PostgreSQL under
LICENSESVC_TEST_DATABASE_URL) migrated to the revision just before the one under test."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic.script import ScriptDirectory
from sqlalchemy import Engine

from licensesvc.db import make_engine
from licensesvc.migrate import MIGRATIONS, upgrade
from tests.conftest import fresh_database_url


def previous_revision(revision: str) -> str:
    """The revision `revision` follows (whatever it was chained onto at merge time)."""
    return str(ScriptDirectory(str(MIGRATIONS)).get_revision(revision).down_revision)


@contextmanager
def database_at(tmp_path: Path, revision: str, name: str) -> Iterator[Engine]:
    """An engine on a fresh database migrated to `revision`; disposed afterwards."""
    for url in fresh_database_url(tmp_path, name):
        engine = make_engine(url)
        upgrade(engine, revision)
        try:
            yield engine
        finally:
            engine.dispose()
