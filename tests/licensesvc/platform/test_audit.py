"""platform/audit.py: the hash-chained trail notices edits, deletions, reordering and cut tails."""

from __future__ import annotations

import pytest
from sqlalchemy import select, text, update

from licensesvc.accounts import customers
from licensesvc.domain.errors import Conflict
from licensesvc.models import AuditRecord
from licensesvc.platform import audit


def test_audit_chain_verifies_and_names_an_edited_record(world, analyst, session):
    report = audit.verify_chain(session)
    assert report.ok and report.records >= 7
    session.execute(update(AuditRecord).where(AuditRecord.id == 3).values(actor="mallory"))
    report = audit.verify_chain(session)
    assert not report.ok and report.first_bad_id == 3
    assert "edited" in report.problem


def test_audit_chain_names_the_record_after_a_deletion(world, analyst, session):
    session.execute(text("DELETE FROM audit_records WHERE id = 4"))
    report = audit.verify_chain(session)
    assert not report.ok and report.first_bad_id == 5


def test_audit_chain_detects_reordering(world, analyst, session):
    a, b = session.scalars(select(AuditRecord).where(AuditRecord.id.in_((2, 3)))).all()
    fields = ("at", "actor", "action", "entity_type", "entity_id", "details", "hash")
    va, vb = ({f: getattr(r, f) for f in fields} for r in (a, b))
    session.execute(update(AuditRecord).where(AuditRecord.id == 2).values(prev_hash="x" * 64))
    session.execute(update(AuditRecord).where(AuditRecord.id == 2).values(**vb))
    session.execute(update(AuditRecord).where(AuditRecord.id == 3).values(**va))
    report = audit.verify_chain(session)
    assert not report.ok and report.first_bad_id == 2


def test_failed_change_leaves_no_audit_record(analyst, session):
    before = audit.count_records(session)
    customers.create_customer(analyst, "Initech")
    with pytest.raises(Conflict):
        customers.create_customer(analyst, "Initech")
    assert audit.count_records(session) == before + 1


def test_a_cut_tail_is_caught_against_a_noted_head(world, analyst, session):
    noted = audit.verify_chain(session)
    assert noted.ok and len(noted.head) == 64
    last = noted.records
    session.execute(text(f"DELETE FROM audit_records WHERE id >= {last - 1}"))
    assert audit.verify_chain(session).ok  # the chain alone cannot see a cut tail
    report = audit.verify_chain(session, expect_head=noted.head)
    assert not report.ok and report.first_bad_id == last - 1
    assert "cut off" in report.problem
