"""Run the Alembic migrations that ship inside the package (`licensesvc db upgrade`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine

from licensesvc.config import SIGNING_KEY_KDF_ROUNDS

MIGRATIONS = Path(__file__).with_name("migrations")


def alembic_config(engine: Engine) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False))
    return cfg


@dataclass(frozen=True)
class Secrets:
    """What a migration that encrypts stored secrets needs (0018 seals webhook secrets): the
    passphrase (LICENSESVC_SIGNING_KEY_PASSPHRASE) and the PBKDF2 rounds of new seals."""

    passphrase: str = field(repr=False)
    kdf_rounds: int = SIGNING_KEY_KDF_ROUNDS


def upgrade(engine: Engine, revision: str = "head", *, secrets: Secrets | None = None) -> None:
    """Bring the database schema up to `revision` (default: the newest). `secrets` is needed
    where a migration encrypts stored secrets (`licensesvc db upgrade` passes the settings');
    without it such a migration fails, changing nothing, when there are secrets to encrypt."""
    _run(engine, command.upgrade, revision, secrets)


def downgrade(engine: Engine, revision: str, *, secrets: Secrets | None = None) -> None:
    """Take the database schema back to `revision` (`secrets`: as for upgrade)."""
    _run(engine, command.downgrade, revision, secrets)


def _run(
    engine: Engine,
    step: Callable[[Config, str], None],
    revision: str,
    secrets: Secrets | None = None,
) -> None:
    cfg = alembic_config(engine)
    cfg.attributes["secrets"] = secrets
    with engine.connect() as connection:
        sqlite = engine.dialect.name == "sqlite"
        if sqlite:
            # SQLite migrations rebuild tables (copy, drop, rename); a drop would fail while
            # other tables' rows reference the table. The pragma only takes effect outside a
            # transaction, so it goes to the driver before SQLAlchemy begins one; the foreign
            # keys are checked before commit instead.
            connection.connection.driver_connection.execute("PRAGMA foreign_keys=OFF")  # type: ignore[union-attr]
        try:
            with connection.begin():
                cfg.attributes["connection"] = connection
                step(cfg, revision)
                if sqlite:
                    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").all()
                    if broken:
                        raise RuntimeError(f"the migration broke foreign keys: {broken[:5]}")
        finally:
            if sqlite:
                connection.connection.driver_connection.execute("PRAGMA foreign_keys=ON")  # type: ignore[union-attr]


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()
