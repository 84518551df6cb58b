"""the SHA-256 of each issued key's text, unique

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07 00:00:00

Online verification recognises a key this server issued by the SHA-256 of its text (lower-case
hex of the UTF-8 text): a text found by its hash is byte for byte one the server signed, so its
signature need not be checked again. The column is filled for every existing key (PostgreSQL:
one UPDATE with sha256(); SQLite: in batches from Python), then made NOT NULL and unique. Only
the column and its index are added; no other row changes, so no data can be lost. (The lead
re-chains down_revision onto the newest migration at merge time.)
"""

import hashlib
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEX = "uq_keys_key_hash"
BATCH = 5000


def upgrade() -> None:
    bind = op.get_bind()
    op.add_column("keys", sa.Column("key_hash", sa.String(64), nullable=True))
    if bind.dialect.name == "postgresql":
        op.execute("UPDATE keys SET key_hash = encode(sha256(convert_to(key_text, 'UTF8')), 'hex')")
    else:
        keys = sa.table(
            "keys", sa.column("id", sa.Integer), sa.column("key_text"), sa.column("key_hash")
        )
        last = 0
        while True:
            rows = bind.execute(
                sa.select(keys.c.id, keys.c.key_text)
                .where(keys.c.id > last)
                .order_by(keys.c.id)
                .limit(BATCH)
            ).all()
            if not rows:
                break
            bind.execute(
                keys.update()
                .where(keys.c.id == sa.bindparam("row_id"))
                .values(key_hash=sa.bindparam("digest")),
                [
                    {"row_id": r.id, "digest": hashlib.sha256(r.key_text.encode()).hexdigest()}
                    for r in rows
                ],
            )
            last = rows[-1].id
    with op.batch_alter_table("keys") as batch:
        batch.alter_column("key_hash", existing_type=sa.String(64), nullable=False)
    op.create_index(INDEX, "keys", ["key_hash"], unique=True)


def downgrade() -> None:
    op.drop_index(INDEX, table_name="keys")
    with op.batch_alter_table("keys") as batch:
        batch.drop_column("key_hash")
