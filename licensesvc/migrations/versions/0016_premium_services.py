"""premium service records

Revision ID: 0016
Revises: 0014
Create Date: 2026-12-07 00:10:00

Adds the `premium_service_records` table only (the Premium services on record: upgrades,
health checks, support reviews); no existing table changes, so no data can be lost. (The lead
re-chains down_revision onto the newest migration at merge time.)
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "premium_service_records",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("contract_id", sa.Integer(), nullable=False),
        sa.Column("service", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("planned_on", sa.Date(), nullable=True),
        sa.Column("held_on", sa.Date(), nullable=True),
        sa.Column("contract_year_start", sa.Date(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("recorded_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "service IN ('upgrade', 'health_check', 'support_review')",
            name=op.f("ck_premium_service_records_service"),
        ),
        sa.CheckConstraint(
            "status IN ('requested', 'held')", name=op.f("ck_premium_service_records_status")
        ),
        sa.CheckConstraint(
            "(status = 'held' AND held_on IS NOT NULL) OR "
            "(status = 'requested' AND planned_on IS NOT NULL AND held_on IS NULL)",
            name=op.f("ck_premium_service_records_dates"),
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_premium_service_records_customer_id_customers"),
        ),
        sa.ForeignKeyConstraint(
            ["contract_id"],
            ["contracts.id"],
            name=op.f("fk_premium_service_records_contract_id_contracts"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_premium_service_records")),
    )
    with op.batch_alter_table("premium_service_records", schema=None) as batch_op:
        batch_op.create_index(
            "ix_premium_service_records_customer_service",
            ["customer_id", "service"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("premium_service_records", schema=None) as batch_op:
        batch_op.drop_index("ix_premium_service_records_customer_service")
    op.drop_table("premium_service_records")
