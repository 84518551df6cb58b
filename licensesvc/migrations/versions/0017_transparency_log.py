"""transparency log: leaves, complete-subtree nodes, checkpoints, log keys, the integrator's row

Revision ID: 0017
Revises: 0014
Create Date: 2026-12-07 00:10:00

Adds the `tlog_*` tables and the integrator's state row (tree size 0); no existing table
changes, so no data can be lost. Keys issued before this migration are not in the log: the log
starts empty. (The lead re-chains down_revision onto the newest migration at merge time.)
"""

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "tlog_leaves",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("idx", sa.Integer(), nullable=True),
        sa.Column("serial", sa.String(length=40), nullable=False),
        sa.Column("event", sa.String(length=20), nullable=False),
        sa.Column("commitment", sa.String(length=64), nullable=False),
        sa.Column("leaf", sa.LargeBinary(), nullable=False),
        sa.Column("leaf_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tlog_leaves")),
        sa.UniqueConstraint("idx", name=op.f("uq_tlog_leaves_idx")),
    )
    with op.batch_alter_table("tlog_leaves", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_tlog_leaves_serial"), ["serial"], unique=False)
        batch_op.create_index(batch_op.f("ix_tlog_leaves_commitment"), ["commitment"], unique=False)
        batch_op.create_index(
            "ix_tlog_leaves_pending",
            ["id"],
            unique=False,
            sqlite_where=sa.text("idx IS NULL"),
            postgresql_where=sa.text("idx IS NULL"),
        )
    op.create_table(
        "tlog_nodes",
        sa.Column("level", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("idx", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("hash", sa.LargeBinary(length=32), nullable=False),
        sa.PrimaryKeyConstraint("level", "idx", name=op.f("pk_tlog_nodes")),
    )
    op.create_table(
        "tlog_checkpoints",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tree_size", sa.Integer(), nullable=False),
        sa.Column("root_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("key_id", sa.String(length=8), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tlog_checkpoints")),
    )
    with op.batch_alter_table("tlog_checkpoints", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_tlog_checkpoints_tree_size"), ["tree_size"], unique=False
        )
    state = op.create_table(
        "tlog_state",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tree_size", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tlog_state")),
    )
    op.bulk_insert(state, [{"id": 1, "tree_size": 0, "updated_at": datetime.now(UTC)}])
    op.create_table(
        "tlog_keys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("vkey", sa.String(length=300), nullable=False),
        sa.Column("private_key_encrypted", sa.LargeBinary(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("retired_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("status IN ('active', 'retired')", name=op.f("ck_tlog_keys_status")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tlog_keys")),
        sa.UniqueConstraint("vkey", name=op.f("uq_tlog_keys_vkey")),
    )


def downgrade() -> None:
    op.drop_table("tlog_keys")
    op.drop_table("tlog_state")
    with op.batch_alter_table("tlog_checkpoints", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_tlog_checkpoints_tree_size"))
    op.drop_table("tlog_checkpoints")
    op.drop_table("tlog_nodes")
    with op.batch_alter_table("tlog_leaves", schema=None) as batch_op:
        batch_op.drop_index("ix_tlog_leaves_pending")
        batch_op.drop_index(batch_op.f("ix_tlog_leaves_commitment"))
        batch_op.drop_index(batch_op.f("ix_tlog_leaves_serial"))
    op.drop_table("tlog_leaves")
