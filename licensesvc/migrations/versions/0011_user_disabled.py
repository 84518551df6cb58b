"""users: disabled state and last sign-in

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01 14:10:00

Adds `users.disabled_at` (set by `licensesvc user disable`; a disabled user cannot sign in)
and `users.last_signed_in_at` (set at each portal sign-in), both nullable: existing users stay
enabled and have no recorded sign-in. No existing data changes. (The lead re-chains
down_revision onto the newest migration at merge time.)
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch_op:
        batch_op.add_column(sa.Column("disabled_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(
            sa.Column("last_signed_in_at", sa.DateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("users") as batch_op:
        batch_op.drop_column("last_signed_in_at")
        batch_op.drop_column("disabled_at")
