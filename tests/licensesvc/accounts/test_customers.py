"""licensesvc/accounts/customers.py: customers, contracts, payments and who sees what."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from licensesvc import accounts
from licensesvc.accounts import customers
from licensesvc.domain.errors import ValidationFailed
from licensesvc.models import Customer


def test_contract_ending_before_it_starts_is_refused(analyst):
    c = customers.create_customer(analyst, "Hooli")
    with pytest.raises(ValidationFailed, match="before it starts"):
        customers.create_contract(
            analyst, c.id, "base", date(2026, 5, 1), date(2026, 4, 1), date(2026, 4, 1)
        )
    with pytest.raises(ValidationFailed, match="unknown plan"):
        customers.create_contract(
            analyst, c.id, "gold", date(2026, 1, 1), date(2026, 12, 31), date(2026, 12, 31)
        )


def test_payment_cannot_move_paid_through_back(world, analyst):
    with pytest.raises(ValidationFailed, match="move it back"):
        customers.record_payment(analyst, world.base_contract, date(2020, 1, 1))


def test_customer_sees_only_itself(world, contexts):
    from licensesvc.domain.errors import NotFound

    with pytest.raises(NotFound):
        accounts.get_customer(contexts.customer(world.base_customer), world.premium_customer)
    assert (
        accounts.get_customer(contexts.customer(world.base_customer), world.base_customer).name
        == "Acme"
    )
    assert contexts.session.scalar(select(Customer.name).where(Customer.id == world.base_customer))
