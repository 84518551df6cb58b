"""1,000 records in a few statements: keys, cases and audit records inserted through the
models (not 1,000 API calls; keys and cases as one executemany of the model's table, without
making 1,000 ORM objects), for the stories that page through long lists."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from licensesvc.domain import CaseStatus, KeyKind, KeyStatus
from licensesvc.models import AuditRecord, IssuedKey, KeyRequest


def add_cases(
    session: Session, customer_id: int, license_id: int, n: int, at: datetime, tag: str = "B"
) -> list[str]:
    """n refused temporary-key cases of the customer; their case numbers, oldest first."""
    numbers = [f"CS-BULK{tag}-{i:05d}" for i in range(n)]
    session.execute(
        insert(KeyRequest),
        [
            dict(
                case_number=number,
                customer_id=customer_id,
                license_id=license_id,
                kind=KeyKind.TEMPORARY,
                reason="usage_spike",
                requested_by=f"customer:{customer_id}",
                status=CaseStatus.REFUSED,
                refusal_code="plan_not_eligible",
                refusal_message="bulk",
                created_at=at + timedelta(seconds=i),
            )
            for i, number in enumerate(numbers)
        ],
    )
    return numbers


def add_keys(
    session: Session, customer_id: int, license_id: int, n: int, at: datetime, tag: str = "B"
) -> list[str]:
    """n revoked temporary keys of the customer's license; their serials, oldest first."""
    serials = [f"SN-BULK-{tag}{i:04d}" for i in range(n)]
    session.execute(
        insert(IssuedKey),
        [
            dict(
                serial=serial,
                license_id=license_id,
                customer_id=customer_id,
                kind=KeyKind.TEMPORARY,
                reason="usage_spike",
                status=KeyStatus.REVOKED,
                key_text=f"LK1.bulk{i}",
                claims={},
                signing_kid="bulk",
                issued_at=at + timedelta(seconds=i),
                not_before=at,
                expires_at=at + timedelta(days=30),
                revoked_at=at + timedelta(days=1),
                revoked_reason="bulk",
                revocation_code="superseded",
            )
            for i, serial in enumerate(serials)
        ],
    )
    return serials


def add_audit_records(session: Session, customer_id: int, n: int, at: datetime) -> list[int]:
    """n audit records about the customer appended after the chain's head (the hashes are
    placeholders: these stories read the trail, they do not verify it); their ids. Ids follow
    the head as audit.append numbers them (explicitly: the trail does not use the sequence)."""
    head = session.scalar(select(func.max(AuditRecord.id))) or 0
    rows = [
        AuditRecord(
            id=head + 1 + i,
            at=at,
            actor="analyst:bulk",
            action="customer.updated",
            entity_type="customer",
            entity_id=str(customer_id),
            customer_id=customer_id,
            details={"n": i},
            prev_hash=f"bulk{customer_id:08d}{i:052d}",
            # 64 characters whatever the id (PostgreSQL's sequences outlive the rolled-back
            # tests, so a late test's customer id has five digits or more)
            hash=hashlib.sha256(f"bulk {customer_id} {i}".encode()).hexdigest(),
        )
        for i in range(n)
    ]
    session.add_all(rows)
    session.flush()
    return [r.id for r in rows]
