"""contract and license lifecycle, the support plan's case fields

- contract_payments: the maintenance ledger; each contract's paid_through becomes its first
  entry and the column is dropped (the current value is the latest entry)
- contract_plan_changes; contracts.renews_id, terminated_on, termination_reason
- licenses.retired_at; license_changes (each change with its reason)
- customers.holidays (GB-ENG, US or AU-NSW by region)
- key_requests: escalation_reason, next_update_due (an escalated case's first update is due at
  its respond-by), responded_at, original_refusal_code/message (kept for denied cases);
  case_updates

Revision ID: 0002
Revises: 0001
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MIGRATED_BY = "system:migration-0002"


def upgrade() -> None:
    # on SQLite, licensesvc.migrate runs this with foreign keys off (batch mode rebuilds the
    # tables that others reference) and checks them before commit

    # --- customers: holiday calendar ------------------------------------------------------
    with op.batch_alter_table("customers") as batch_op:
        batch_op.add_column(sa.Column("holidays", sa.String(length=20), nullable=True))
    customers = sa.table("customers", sa.column("region", sa.String), sa.column("holidays"))
    for region, calendar in (("emea", "GB-ENG"), ("na", "US"), ("apac", "AU-NSW")):
        op.execute(customers.update().where(customers.c.region == region).values(holidays=calendar))
    with op.batch_alter_table("customers") as batch_op:
        batch_op.alter_column("holidays", existing_type=sa.String(length=20), nullable=False)

    # --- the payment ledger ---------------------------------------------------------------
    op.create_table(
        "contract_payments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("contract_id", sa.Integer(), nullable=False),
        sa.Column("paid_through", sa.Date(), nullable=False),
        sa.Column("invoice", sa.String(length=100), nullable=True),
        sa.Column("correction", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_by", sa.String(length=200), nullable=False),
        sa.CheckConstraint(
            "NOT correction OR reason IS NOT NULL",
            name=op.f("ck_contract_payments_correction_reason"),
        ),
        sa.ForeignKeyConstraint(
            ["contract_id"],
            ["contracts.id"],
            name=op.f("fk_contract_payments_contract_id_contracts"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contract_payments")),
    )
    with op.batch_alter_table("contract_payments") as batch_op:
        batch_op.create_index(
            batch_op.f("ix_contract_payments_contract_id"), ["contract_id"], unique=False
        )
    contracts = sa.table(
        "contracts",
        sa.column("id", sa.Integer),
        sa.column("paid_through", sa.Date),
        sa.column("created_at", sa.DateTime(timezone=True)),
    )
    payments = sa.table(
        "contract_payments",
        sa.column("contract_id", sa.Integer),
        sa.column("paid_through", sa.Date),
        sa.column("correction", sa.Boolean),
        sa.column("reason", sa.Text),
        sa.column("recorded_at", sa.DateTime(timezone=True)),
        sa.column("recorded_by", sa.String),
    )
    op.execute(
        payments.insert().from_select(
            ["contract_id", "paid_through", "correction", "reason", "recorded_at", "recorded_by"],
            sa.select(
                contracts.c.id,
                contracts.c.paid_through,
                sa.false(),
                sa.literal("paid-through recorded before the payment ledger existed"),
                contracts.c.created_at,
                sa.literal(MIGRATED_BY),
            ).order_by(contracts.c.id),
        )
    )

    # --- contracts: renewal, termination; paid_through now lives in the ledger --------------
    with op.batch_alter_table("contracts") as batch_op:
        batch_op.add_column(sa.Column("renews_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("terminated_on", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("termination_reason", sa.Text(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_contracts_renews_id_contracts"), "contracts", ["renews_id"], ["id"]
        )
        batch_op.create_unique_constraint(batch_op.f("uq_contracts_renews_id"), ["renews_id"])
        batch_op.create_check_constraint(
            "termination_in_term", "terminated_on IS NULL OR terminated_on >= start_date"
        )
        batch_op.drop_column("paid_through")

    op.create_table(
        "contract_plan_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("contract_id", sa.Integer(), nullable=False),
        sa.Column("plan", sa.String(length=10), nullable=False),
        sa.Column("effective_from", sa.Date(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.CheckConstraint(
            "plan IN ('base', 'premium')", name=op.f("ck_contract_plan_changes_plan")
        ),
        sa.ForeignKeyConstraint(
            ["contract_id"],
            ["contracts.id"],
            name=op.f("fk_contract_plan_changes_contract_id_contracts"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contract_plan_changes")),
    )
    with op.batch_alter_table("contract_plan_changes") as batch_op:
        batch_op.create_index(
            batch_op.f("ix_contract_plan_changes_contract_id"), ["contract_id"], unique=False
        )

    # --- licenses: retirement and change history --------------------------------------------
    with op.batch_alter_table("licenses") as batch_op:
        batch_op.add_column(sa.Column("retired_at", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "license_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("license_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("changes", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["license_id"],
            ["licenses.id"],
            name=op.f("fk_license_changes_license_id_licenses"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_license_changes")),
    )
    with op.batch_alter_table("license_changes") as batch_op:
        batch_op.create_index(
            batch_op.f("ix_license_changes_license_id"), ["license_id"], unique=False
        )

    # --- cases: the support plan's fields and updates ---------------------------------------
    with op.batch_alter_table("key_requests") as batch_op:
        batch_op.add_column(sa.Column("escalation_reason", sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column("next_update_due", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("responded_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("original_refusal_code", sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column("original_refusal_message", sa.Text(), nullable=True))
    cases = sa.table(
        "key_requests",
        sa.column("status", sa.String),
        sa.column("respond_by", sa.DateTime(timezone=True)),
        sa.column("next_update_due", sa.DateTime(timezone=True)),
        sa.column("refusal_code", sa.String),
        sa.column("refusal_message", sa.Text),
        sa.column("original_refusal_code", sa.String),
        sa.column("original_refusal_message", sa.Text),
    )
    op.execute(
        cases.update()
        .where(cases.c.status == "escalated")
        .values(next_update_due=cases.c.respond_by)
    )
    op.execute(
        cases.update()
        .where(cases.c.status == "denied")
        .values(
            original_refusal_code=cases.c.refusal_code,
            original_refusal_message=cases.c.refusal_message,
        )
    )
    op.create_table(
        "case_updates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("author", sa.String(length=200), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["key_requests.id"], name=op.f("fk_case_updates_case_id_key_requests")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_updates")),
    )
    with op.batch_alter_table("case_updates") as batch_op:
        batch_op.create_index(batch_op.f("ix_case_updates_case_id"), ["case_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("case_updates") as batch_op:
        batch_op.drop_index(batch_op.f("ix_case_updates_case_id"))
    op.drop_table("case_updates")
    with op.batch_alter_table("key_requests") as batch_op:
        for column in (
            "original_refusal_message",
            "original_refusal_code",
            "responded_at",
            "next_update_due",
            "escalation_reason",
        ):
            batch_op.drop_column(column)
    with op.batch_alter_table("license_changes") as batch_op:
        batch_op.drop_index(batch_op.f("ix_license_changes_license_id"))
    op.drop_table("license_changes")
    with op.batch_alter_table("licenses") as batch_op:
        batch_op.drop_column("retired_at")
    with op.batch_alter_table("contract_plan_changes") as batch_op:
        batch_op.drop_index(batch_op.f("ix_contract_plan_changes_contract_id"))
    op.drop_table("contract_plan_changes")

    # the latest ledger entry goes back into contracts.paid_through
    with op.batch_alter_table("contracts") as batch_op:
        batch_op.add_column(sa.Column("paid_through", sa.Date(), nullable=True))
    contracts = sa.table("contracts", sa.column("id", sa.Integer), sa.column("paid_through"))
    payments = sa.table(
        "contract_payments",
        sa.column("id", sa.Integer),
        sa.column("contract_id", sa.Integer),
        sa.column("paid_through", sa.Date),
    )
    latest = (
        sa.select(payments.c.paid_through)
        .where(payments.c.contract_id == contracts.c.id)
        .order_by(payments.c.id.desc())
        .limit(1)
        .scalar_subquery()
    )
    op.execute(contracts.update().values(paid_through=latest))
    with op.batch_alter_table("contracts") as batch_op:
        batch_op.alter_column("paid_through", existing_type=sa.Date(), nullable=False)
        batch_op.drop_constraint(batch_op.f("ck_contracts_termination_in_term"), type_="check")
        batch_op.drop_constraint(batch_op.f("uq_contracts_renews_id"), type_="unique")
        batch_op.drop_constraint(batch_op.f("fk_contracts_renews_id_contracts"), type_="foreignkey")
        batch_op.drop_column("termination_reason")
        batch_op.drop_column("terminated_on")
        batch_op.drop_column("renews_id")
    with op.batch_alter_table("contract_payments") as batch_op:
        batch_op.drop_index(batch_op.f("ix_contract_payments_contract_id"))
    op.drop_table("contract_payments")
    with op.batch_alter_table("customers") as batch_op:
        batch_op.drop_column("holidays")
