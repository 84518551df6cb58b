"""A customer's contract standing on one day: the contract, maintenance and plan part of every
decision. Read by the policy, the quotas and the entitlement report (none of which import each
other through it)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import select

from licensesvc.domain import support_plan
from licensesvc.domain.standing import Standing, pick_current
from licensesvc.models import Contract, Customer
from licensesvc.platform.context import ServiceContext

from .lookups import get_customer


def current_contract(ctx: ServiceContext, customer_id: int, today: date) -> Contract | None:
    """The contract in force on `today` (see pick_current)."""
    return pick_current(
        ctx.session.scalars(
            select(Contract).where(Contract.customer_id == customer_id).order_by(Contract.id)
        ),
        today,
    )


def customer_today(customer: Customer, now: datetime) -> date:
    """The calendar date at `now` in the customer's region's time zone."""
    return support_plan.local_today(support_plan.REGIONS[customer.region], now)


def standing(ctx: ServiceContext, customer_id: int) -> Standing:
    """The customer's standing on its own today. Raises NotFound (unknown or another
    customer's id)."""
    customer = get_customer(ctx, customer_id)
    today = customer_today(customer, ctx.now())
    return Standing(customer, current_contract(ctx, customer_id, today), today)
