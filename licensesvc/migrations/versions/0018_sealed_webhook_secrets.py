"""webhook signing secrets encrypted at rest

Revision ID: 0018
Revises: 0016
Create Date: 2026-12-07 00:30:00

Seals every webhook endpoint's signing secret stored in the clear (`whsec_...`) under
LICENSESVC_SIGNING_KEY_PASSPHRASE (licensesvc/platform/sealed.py), row by row, keeping each
secret: receivers go on verifying with the secret they were shown. No column or table changes.
The passphrase comes from `licensesvc db upgrade` (licensesvc.migrate.Secrets); without it,
and with secrets to seal, the migration fails and nothing changes. The way back opens them
again. (Chained after 0016 of the same branch; the lead re-chains down_revision onto the
newest migration at merge time.)
"""

import base64
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from licensesvc.platform import sealed

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PREFIX = "whsec_"
endpoints = sa.table(
    "webhook_endpoints", sa.column("id", sa.Integer()), sa.column("secret", sa.String())
)


def _secrets(doing: str) -> tuple[str, int]:
    config = op.get_context().config
    given = config.attributes.get("secrets") if config is not None else None
    if given is None:
        raise RuntimeError(
            f"migration 0018 {doing} webhook secrets with LICENSESVC_SIGNING_KEY_PASSPHRASE: "
            "run it with `licensesvc db upgrade` (or pass licensesvc.migrate.Secrets)"
        )
    return given.passphrase, given.kdf_rounds


def upgrade() -> None:
    bind = op.get_bind()
    rows = bind.execute(sa.select(endpoints.c.id, endpoints.c.secret)).all()
    clear = [(i, s) for i, s in rows if not sealed.is_sealed(s)]
    if not clear:
        return
    passphrase, rounds = _secrets("encrypts")
    for endpoint_id, secret in clear:
        raw = base64.b64decode(secret.removeprefix(PREFIX))
        bind.execute(
            endpoints.update()
            .where(endpoints.c.id == endpoint_id)
            .values(secret=sealed.seal(raw, passphrase, rounds))
        )


def downgrade() -> None:
    bind = op.get_bind()
    rows = bind.execute(sa.select(endpoints.c.id, endpoints.c.secret)).all()
    closed = [(i, s) for i, s in rows if sealed.is_sealed(s)]
    if not closed:
        return
    passphrase, _ = _secrets("decrypts")
    for endpoint_id, secret in closed:
        raw = sealed.unseal(secret, passphrase)
        bind.execute(
            endpoints.update()
            .where(endpoints.c.id == endpoint_id)
            .values(secret=PREFIX + base64.b64encode(raw).decode())
        )
