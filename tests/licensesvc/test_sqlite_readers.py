"""On SQLite, writers queue for the write lock but readers do not wait behind them."""

from __future__ import annotations

import os
import sqlite3
import time

import pytest

from licensesvc.app import create_app
from licensesvc.config import Settings
from licensesvc.db import make_engine
from licensesvc.migrate import upgrade

pytestmark = pytest.mark.skipif(
    bool(os.environ.get("LICENSESVC_TEST_DATABASE_URL")), reason="SQLite locking only"
)


def test_reads_answer_while_a_writer_holds_the_lock(tmp_path):
    db = tmp_path / "lock.db"
    url = f"sqlite:///{db}"
    upgrade(make_engine(url))
    settings = Settings(
        database_url=url, secret_key="s", signing_key_passphrase="p", data_dir=tmp_path
    )
    app = create_app(settings)
    writer = sqlite3.connect(db, isolation_level=None, timeout=0)
    writer.execute("BEGIN IMMEDIATE")
    try:
        started = time.monotonic()
        response = app.test_client().get("/readyz")
        assert response.status_code == 200
        assert time.monotonic() - started < 5  # a writer-style BEGIN would wait 30 s
    finally:
        writer.execute("ROLLBACK")
        writer.close()
