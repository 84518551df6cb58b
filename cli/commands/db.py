"""`licensesvc db`: the database schema."""

from __future__ import annotations

import click

from cli.output import emit, json_option
from cli.state import CliState, pass_state


@click.group()
def db() -> None:
    """Manage the database schema.

    \b
    Example:
      licensesvc db upgrade
    """


@db.command("upgrade")
@json_option
@pass_state
def upgrade(state: CliState) -> None:
    """Create or migrate the schema to the newest revision (Alembic).

    Safe to run again: an up-to-date database is left as it is. Webhook secrets stored in
    the clear before revision 0018 are encrypted with LICENSESVC_SIGNING_KEY_PASSPHRASE.

    \b
    Example:
      LICENSESVC_DATABASE_URL=postgresql://lsvc@db/lsvc licensesvc db upgrade
    """
    from licensesvc.migrate import Secrets, current_revision
    from licensesvc.migrate import upgrade as run_upgrade

    engine = state.runtime.engine
    settings = state.runtime.settings
    before = current_revision(engine)
    run_upgrade(
        engine,
        secrets=Secrets(settings.signing_key_passphrase, settings.signing_key_kdf_rounds),
    )
    after = current_revision(engine)
    url = engine.url.render_as_string(hide_password=True)
    emit(
        state.json,
        {"database": url, "from_revision": before, "revision": after},
        f"schema at revision {after} (was {before or 'empty'}) in {url}",
    )
