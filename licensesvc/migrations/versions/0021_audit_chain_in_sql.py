"""audit chain: version-2 record hashes, chained by a database function on PostgreSQL

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-07 06:30:00

Adds `audit_records.hash_version` (NOT NULL, default 1: every record written before keeps its
hash over its canonical JSON, `record_hash`, and still verifies). Records written from now on
are version 2: SHA-256 over `prev_hash:id:content_digest` (licensesvc/platform/audit.py), so the
chain can be computed in SQL. On PostgreSQL it creates `licensesvc_audit_append(records json,
after bigint)`: it takes the chain's advisory lock, reads the head (each statement of a VOLATILE
function takes a fresh snapshot, so the head read after the lock is the newest committed) and
inserts the records, chained; its value is the new head's id. `after` only orders the call after
the values it depends on (the transaction's other writes, in the same statement).

The way back drops the function and rewrites the version-2 records' hashes under version 1 (from
the first version-2 record to the end, each chained onto the one before), then drops the column:
the trail still verifies, though a head hash noted since this migration no longer matches.
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: platform/audit.py `_AUDIT_LOCK_ID` ("LSVCAU"): the lock every appender takes
AUDIT_LOCK_ID = 0x4C_53_56_43_41_55

APPEND_FUNCTION = f"""
CREATE OR REPLACE FUNCTION licensesvc_audit_append(records json, after bigint)
RETURNS bigint
LANGUAGE plpgsql VOLATILE
AS $$
DECLARE
    head_id bigint;
    head_hash text;
    next_hash text;
    rec json;
BEGIN
    PERFORM pg_advisory_xact_lock({AUDIT_LOCK_ID});
    SELECT id, hash INTO head_id, head_hash FROM audit_records ORDER BY id DESC LIMIT 1;
    IF head_id IS NULL THEN
        head_id := 0;
        head_hash := repeat('0', 64);
    END IF;
    FOR rec IN SELECT value FROM json_array_elements(records) LOOP
        head_id := head_id + 1;
        next_hash := encode(
            sha256(convert_to(head_hash || ':' || head_id || ':' || (rec->>'digest'), 'UTF8')),
            'hex'
        );
        INSERT INTO audit_records (
            id, at, actor, action, entity_type, entity_id, customer_id, reason, details,
            prev_hash, hash, hash_version
        ) VALUES (
            head_id, (rec->>'at')::timestamptz, rec->>'actor', rec->>'action',
            rec->>'entity_type', rec->>'entity_id', (rec->>'customer_id')::integer,
            rec->>'reason', rec->'details', head_hash, next_hash, 2
        );
        head_hash := next_hash;
    END LOOP;
    RETURN head_id;
END
$$
"""


def upgrade() -> None:
    with op.batch_alter_table("audit_records") as batch_op:
        batch_op.add_column(
            sa.Column("hash_version", sa.Integer(), nullable=False, server_default="1")
        )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(APPEND_FUNCTION)


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS licensesvc_audit_append(json, bigint)")
    _rehash_as_version_1(bind)
    with op.batch_alter_table("audit_records") as batch_op:
        batch_op.drop_column("hash_version")


def _rehash_as_version_1(bind: Any) -> None:
    # the formula of version 1, as platform/audit.py `record_hash` has it (copied: a migration
    # keeps working whatever the code becomes)
    import hashlib
    import json
    from datetime import UTC

    records = sa.table(
        "audit_records",
        sa.column("id", sa.Integer()),
        sa.column("at", sa.DateTime(timezone=True)),
        sa.column("actor", sa.String()),
        sa.column("action", sa.String()),
        sa.column("entity_type", sa.String()),
        sa.column("entity_id", sa.String()),
        sa.column("customer_id", sa.Integer()),
        sa.column("reason", sa.Text()),
        sa.column("details", sa.JSON()),
        sa.column("prev_hash", sa.String()),
        sa.column("hash", sa.String()),
        sa.column("hash_version", sa.Integer()),
    )
    first = bind.execute(
        sa.select(sa.func.min(records.c.id)).where(records.c.hash_version != 1)
    ).scalar()
    if first is None:
        return
    prev = bind.execute(sa.select(records.c.hash).where(records.c.id == first - 1)).scalar()
    prev = prev or "0" * 64
    rows = bind.execute(sa.select(records).where(records.c.id >= first).order_by(records.c.id))
    for rec in list(rows):
        at = rec.at if rec.at.tzinfo is not None else rec.at.replace(tzinfo=UTC)
        body = json.dumps(
            {
                "id": rec.id,
                "prev_hash": prev,
                "at": at.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "actor": rec.actor,
                "action": rec.action,
                "entity_type": rec.entity_type,
                "entity_id": rec.entity_id,
                "customer_id": rec.customer_id,
                "reason": rec.reason,
                "details": rec.details,
            },
            sort_keys=True,
            separators=(",", ":"),
            ensure_ascii=False,
            default=str,
        )
        digest = hashlib.sha256(body.encode()).hexdigest()
        # in id order: each row's new prev_hash is the hash just written, which no other row
        # holds (prev_hash is unique)
        bind.execute(
            sa.update(records)
            .where(records.c.id == rec.id)
            .values(prev_hash=prev, hash=digest, hash_version=1)
        )
        prev = digest
