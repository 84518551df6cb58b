"""revocation code on keys, and the stored signed revocation list

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 10:30:00

Every revoked key gets a reason code (one of domain.RevocationCode). Keys revoked before this
migration were published as `key_compromise` (the only code the server wrote), so they keep
that code: installers see the same list before and after. The analyst's free-text reason stays
in `revoked_reason` and the audit trail; it never reaches the list.

`revocation_lists` holds the one signed copy of the list that GET /v1/revocations and
`licensesvc revocations export` serve: rebuilt when a revocation or supersession changes it,
or before it goes stale. `generation` counts the rebuilds and is part of the ETag.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_CODES = "'key_compromise', 'superseded', 'customer_request', 'contract_ended', 'issued_in_error'"


def upgrade() -> None:
    with op.batch_alter_table("keys", schema=None) as batch_op:
        batch_op.add_column(sa.Column("revocation_code", sa.String(length=20), nullable=True))
    op.execute("UPDATE keys SET revocation_code = 'key_compromise' WHERE status = 'revoked'")
    with op.batch_alter_table("keys", schema=None) as batch_op:
        batch_op.create_check_constraint(
            op.f("ck_keys_revocation_code"),
            f"revocation_code IS NULL OR revocation_code IN ({_CODES})",
        )
    op.create_table(
        "revocation_lists",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.Column("signed_text", sa.Text(), nullable=True),
        sa.Column("kid", sa.String(length=40), nullable=True),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("next_update", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_revocation_lists")),
    )
    # the one row every rebuild locks first (so two rebuilds never interleave)
    op.execute("INSERT INTO revocation_lists (id, generation) VALUES (1, 0)")


def downgrade() -> None:
    op.drop_table("revocation_lists")
    with op.batch_alter_table("keys", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_keys_revocation_code"), type_="check")
        batch_op.drop_column("revocation_code")
