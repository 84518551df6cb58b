"""indexes for paginated lists

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 13:10:00

Lists are pages ordered newest first (id DESC) within their filter: a customer's keys and
cases, cases in one status, a customer's or one entity's audit records. Each gets an index on
(filter, id), which both databases read backwards for id DESC, so page 1 reads page_size rows
however many there are. Only indexes are added; no row changes, so no data can be lost.
(The lead re-chains down_revision onto the newest migration at merge time.)
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: (table, index name, columns); the same as the models' __table_args__
INDEXES = [
    ("keys", "ix_keys_customer_id_id", ["customer_id", "id"]),
    ("key_requests", "ix_key_requests_customer_id_id", ["customer_id", "id"]),
    ("key_requests", "ix_key_requests_status_id", ["status", "id"]),
    ("audit_records", "ix_audit_records_customer_id_id", ["customer_id", "id"]),
    ("audit_records", "ix_audit_records_entity_id", ["entity_type", "entity_id", "id"]),
]


def upgrade() -> None:
    for table, name, columns in INDEXES:
        op.create_index(name, table, columns, unique=False)


def downgrade() -> None:
    for table, name, _columns in reversed(INDEXES):
        op.drop_index(name, table_name=table)
