"""api tokens: a name for each one

Revision ID: 0020
Revises: 0014
Create Date: 2026-12-07 00:10:00

Adds `api_tokens.name` (nullable, at most 100 characters): what its maker calls the token
("nightly deploy"), so the portal's list tells tokens apart and a revocation names the one it
ends. Existing tokens keep NULL (the portal shows their prefix alone). The way back drops the
column. (The lead re-chains down_revision onto the newest migration at merge time.)
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("api_tokens") as batch_op:
        batch_op.add_column(sa.Column("name", sa.String(100), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("api_tokens") as batch_op:
        batch_op.drop_column("name")
