"""api tokens: who made each one

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06 21:00:00

Adds `api_tokens.created_by` (the maker as the audit trail names it: `user:<email>` for a
portal user, `analyst:<name>` for the CLI) and `api_tokens.created_by_user_id` (the portal user
who made the token; disabling that user revokes it), both nullable. Existing tokens get both
from their `token.created` audit record where it names a portal user that still exists, so a
user disabled after the upgrade loses the tokens they made before it too; a token without such
a record keeps NULL (made by an analyst, or before the audit trail). The way back drops the two
columns and their index. (The lead re-chains down_revision onto the newest migration at merge
time.)
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FOREIGN_KEY = "fk_api_tokens_created_by_user_id_users"
INDEX = "ix_api_tokens_created_by_user_id"


def upgrade() -> None:
    with op.batch_alter_table("api_tokens") as batch_op:
        batch_op.add_column(sa.Column("created_by", sa.String(200), nullable=True))
        batch_op.add_column(sa.Column("created_by_user_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(FOREIGN_KEY, "users", ["created_by_user_id"], ["id"])
        batch_op.create_index(INDEX, ["created_by_user_id"])
    op.execute(
        "UPDATE api_tokens SET created_by = ("
        " SELECT a.actor FROM audit_records a"
        " WHERE a.action = 'token.created' AND a.entity_type = 'token'"
        " AND a.entity_id = CAST(api_tokens.id AS VARCHAR(60))"
        " ORDER BY a.id LIMIT 1)"
    )
    op.execute(
        "UPDATE api_tokens SET created_by_user_id = ("
        " SELECT u.id FROM users u WHERE 'user:' || u.email = api_tokens.created_by"
        " AND u.customer_id = api_tokens.customer_id)"
        " WHERE created_by LIKE 'user:%'"
    )


def downgrade() -> None:
    with op.batch_alter_table("api_tokens") as batch_op:
        batch_op.drop_index(INDEX)
        batch_op.drop_constraint(FOREIGN_KEY, type_="foreignkey")
        batch_op.drop_column("created_by_user_id")
        batch_op.drop_column("created_by")
