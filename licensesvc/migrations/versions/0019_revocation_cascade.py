"""the stored signed revocation cascade

Revision ID: 0019
Revises: 0014
Create Date: 2026-12-07 00:00:00

`revocation_cascades` holds the one signed base of the compact revocation list that
GET /v1/revocations/cascade and `licensesvc revocations export --format cascade` serve
(docs/key-format.md section 14): a filter cascade over every unexpired key the server issued,
rebuilt when missing, signed by a retired key or too old. Deltas are signed on request against
it, so the table holds no more than the base. One row (id 1), locked by every rebuild.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "revocation_cascades",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("generation", sa.BigInteger(), nullable=False),
        sa.Column("signed", sa.LargeBinary(), nullable=True),
        sa.Column("kid", sa.String(length=40), nullable=True),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("next_update", sa.DateTime(timezone=True), nullable=True),
        sa.Column("covered_through", sa.DateTime(timezone=True), nullable=True),
        sa.Column("covered_count", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_revocation_cascades")),
    )
    op.execute("INSERT INTO revocation_cascades (id, generation) VALUES (1, 0)")


def downgrade() -> None:
    op.drop_table("revocation_cascades")
