"""indexes for a license's live keys

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01 16:30:00

A key request reads the license's keys that are usable now or later: its active keys and its
superseded keys still inside their overlap. Every replacement leaves a superseded key behind,
so a license's history grows without end while its live keys stay a handful; with only the
index on license_id each request read the whole history. Two partial indexes find the live
keys alone: active keys by license, superseded keys by license and end of overlap. Only
indexes are added; no row changes, so no data can be lost. (The lead re-chains down_revision
onto the newest migration at merge time.)
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: (index name, columns, predicate); the same as the models' __table_args__
INDEXES = [
    ("ix_keys_active_license_id", ["license_id"], "status = 'active'"),
    ("ix_keys_superseded_license_id", ["license_id", "usable_until"], "status = 'superseded'"),
]


def upgrade() -> None:
    for name, columns, where in INDEXES:
        op.create_index(
            name,
            "keys",
            columns,
            unique=False,
            sqlite_where=sa.text(where),
            postgresql_where=sa.text(where),
        )


def downgrade() -> None:
    for name, _columns, _where in reversed(INDEXES):
        op.drop_index(name, table_name="keys")
