"""Look-ups by id that every service shares: each raises NotFound for an unknown id and, for a
customer actor, for another customer's record (404, not 403). Kept apart from `customers` so
that `standing` and what it serves can use them without an import cycle."""

from __future__ import annotations

from licensesvc.domain.errors import NotFound
from licensesvc.models import Contract, Customer, License
from licensesvc.platform.context import ServiceContext


def get_customer(ctx: ServiceContext, customer_id: int) -> Customer:
    """Return the customer. Raises NotFound (also for another customer's id)."""
    ctx.actor.check_customer(customer_id, f"customer {customer_id}")
    customer = ctx.session.get(Customer, customer_id)
    if customer is None:
        raise NotFound(f"customer {customer_id} not found")
    return customer


def get_contract(ctx: ServiceContext, contract_id: int) -> Contract:
    """Return the contract. Raises NotFound (also for another customer's contract)."""
    contract = ctx.session.get(Contract, contract_id)
    if contract is None:
        raise NotFound(f"contract {contract_id} not found")
    ctx.actor.check_customer(contract.customer_id, f"contract {contract_id}")
    return contract


def get_license(ctx: ServiceContext, license_id: int) -> License:
    """Return the license. Raises NotFound (also for another customer's license)."""
    lic = ctx.session.get(License, license_id)
    if lic is None:
        raise NotFound(f"license {license_id} not found")
    ctx.actor.check_customer(lic.customer_id, f"license {license_id}")
    return lic
