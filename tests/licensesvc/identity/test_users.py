"""identity/users.py: listing portal users and disabling one (audited, once, analysts only)."""

from __future__ import annotations

import subprocess
import sys

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from licensesvc.domain.errors import Forbidden, InvalidState, NotFound, Unauthorized
from licensesvc.identity import users
from licensesvc.models import AuditRecord
from licensesvc.platform import audit
from licensesvc.platform.context import ServiceContext
from tests.conftest import Contexts, World

PASSWORD = "correct horse battery"


def test_page_users_is_newest_first_and_filters_by_customer(
    world: World, analyst: ServiceContext
) -> None:
    a = users.create_user(analyst, world.base_customer, "a@acme.example", PASSWORD)
    b = users.create_user(analyst, world.premium_customer, "b@globex.example", PASSWORD)
    c = users.create_user(analyst, world.base_customer, "c@acme.example", PASSWORD)
    assert [u.id for u in users.page_users(analyst).items] == [c.id, b.id, a.id]
    page = users.page_users(analyst, world.base_customer, page=2, page_size=1)
    assert [u.email for u in page.items] == ["a@acme.example"] and page.total == 2
    with pytest.raises(NotFound, match="customer 999 not found"):
        users.page_users(analyst, 999)


def test_disable_user_writes_its_audit_record_and_refuses_a_second_time(
    world: World, analyst: ServiceContext, session: Session
) -> None:
    user = users.create_user(analyst, world.base_customer, "a@acme.example", PASSWORD)
    users.sign_in_user(analyst, "a@acme.example", PASSWORD)
    before = audit.count_records(session)
    disabled = users.disable_user(analyst, user.id, "left the company")
    assert disabled.disabled_at == analyst.now()
    assert audit.count_records(session) == before + 1
    rec = session.scalars(select(AuditRecord).order_by(AuditRecord.id.desc()).limit(1)).one()
    assert (rec.action, rec.entity_type, rec.entity_id) == ("user.disabled", "user", str(user.id))
    assert rec.actor == "analyst:alice" and rec.reason == "left the company"
    assert rec.customer_id == world.base_customer
    assert audit.verify_chain(session).ok
    with pytest.raises(InvalidState, match=f"user {user.id} is already disabled"):
        users.disable_user(analyst, user.id)
    assert audit.count_records(session) == before + 1
    with pytest.raises(Unauthorized, match="wrong email or password"):
        users.sign_in_user(analyst, "a@acme.example", PASSWORD)


def test_disable_user_of_an_unknown_id_or_by_a_customer_changes_nothing(
    world: World, analyst: ServiceContext, contexts: Contexts, session: Session
) -> None:
    user = users.create_user(analyst, world.base_customer, "a@acme.example", PASSWORD)
    before = audit.count_records(session)
    with pytest.raises(NotFound, match="user 999 not found"):
        users.disable_user(analyst, 999)
    with pytest.raises(Forbidden):
        users.disable_user(contexts.customer(world.base_customer), user.id)
    with pytest.raises(Forbidden):
        users.page_users(contexts.customer(world.base_customer))
    assert audit.count_records(session) == before and user.disabled_at is None


#: run in a fresh interpreter, so no earlier test has imported the module already
HASHES_AT_IMPORT = """
import argon2

calls = []
real_hash = argon2.PasswordHasher.hash

def counting_hash(self, password, *, salt=None):
    calls.append(password)
    return real_hash(self, password, salt=salt)

argon2.PasswordHasher.hash = counting_hash
from licensesvc.identity import users
at_import = len(calls)
first = users._dummy_hash()
assert users._dummy_hash() == first
print(at_import, len(calls))
"""


def test_importing_users_hashes_nothing_and_the_dummy_hash_is_made_once() -> None:
    done = subprocess.run(
        [sys.executable, "-c", HASHES_AT_IMPORT], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["0", "1"]
