"""The audit guard of the tests' session (tests/audit_guard.py) fails a commit that changed
state without an audit record, so no service function can do so unnoticed."""

from __future__ import annotations

import pytest
from sqlalchemy import select, update

from licensesvc.models import ApiToken, Customer
from licensesvc.platform import audit
from licensesvc.platform.context import ServiceContext
from tests.audit_guard import ServiceCallGuard, UnauditedChange, needs_audit


def test_a_change_of_state_without_an_audit_record_fails_at_commit(world, analyst, session):
    session.commit()  # the world, with its audit records
    session.info["audit_guard"].strict_commits = True
    customer = session.get(Customer, world.base_customer)
    customer.region = "apac"
    with pytest.raises(UnauditedChange, match="customers"):
        session.commit()


def test_a_core_update_without_an_audit_record_fails_too(world, analyst, session):
    session.commit()
    session.info["audit_guard"].strict_commits = True
    session.execute(
        update(Customer).where(Customer.id == world.base_customer).values(region="apac")
    )
    with pytest.raises(UnauditedChange, match="customers"):
        session.commit()


def test_the_same_change_with_its_audit_record_commits(world, analyst, session):
    session.commit()
    session.info["audit_guard"].strict_commits = True
    customer = session.get(Customer, world.base_customer)
    customer.region = "apac"
    audit.append(analyst, "customer.updated", "customer", customer.id, customer_id=customer.id)
    session.commit()
    assert session.scalar(select(Customer.region).where(Customer.id == customer.id)) == "apac"


def test_bookkeeping_needs_no_audit_record() -> None:
    assert needs_audit("UPDATE api_tokens SET last_used_at=? WHERE api_tokens.id = ?") is None
    assert needs_audit("UPDATE api_tokens SET revoked_at=? WHERE api_tokens.id = ?") == (
        "api_tokens"
    )
    assert needs_audit("INSERT INTO outbox (event) VALUES (?)") is None
    assert needs_audit('INSERT INTO "keys" (serial) VALUES (?)') == "keys"
    assert needs_audit("DELETE FROM quota_slots WHERE id = ?") is None
    assert needs_audit("SELECT * FROM customers") is None
    assert ApiToken.__tablename__ == "api_tokens"


def test_a_service_function_that_changes_state_without_a_record_fails(world, analyst, session):
    def rename_customer(ctx: ServiceContext, customer_id: int, name: str) -> None:
        ctx.session.get(Customer, customer_id).name = name  # no audit.append

    guard = ServiceCallGuard(session, session.info["audit_guard"])
    with pytest.raises(UnauditedChange, match="rename_customer changed customers"):
        guard.wrap(rename_customer)(analyst, world.base_customer, "Initech")


def test_a_service_function_that_appends_its_record_passes(world, analyst, session):
    def rename_customer(ctx: ServiceContext, customer_id: int, name: str) -> None:
        ctx.session.get(Customer, customer_id).name = name
        audit.append(ctx, "customer.renamed", "customer", customer_id, customer_id=customer_id)

    guard = ServiceCallGuard(session, session.info["audit_guard"])
    guard.wrap(rename_customer)(analyst, world.base_customer, "Initech")
