"""case queue: owners and internal notes

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01 13:10:00

Adds `key_requests.owner` (nullable: existing cases have no owner), the `case_notes` table
(analysts' internal notes) and an index on (status, respond_by) for the escalation queue. No
existing data changes. (The lead re-chains down_revision onto the newest migration at merge
time.)
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("key_requests") as batch_op:
        batch_op.add_column(sa.Column("owner", sa.String(length=200), nullable=True))
        batch_op.create_index(
            "ix_key_requests_status_respond_by", ["status", "respond_by"], unique=False
        )
    op.create_table(
        "case_notes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("author", sa.String(length=200), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["key_requests.id"], name=op.f("fk_case_notes_case_id_key_requests")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_notes")),
    )
    with op.batch_alter_table("case_notes") as batch_op:
        batch_op.create_index(batch_op.f("ix_case_notes_case_id"), ["case_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("case_notes") as batch_op:
        batch_op.drop_index(batch_op.f("ix_case_notes_case_id"))
    op.drop_table("case_notes")
    with op.batch_alter_table("key_requests") as batch_op:
        batch_op.drop_index("ix_key_requests_status_respond_by")
        batch_op.drop_column("owner")
