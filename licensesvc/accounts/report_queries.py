"""The queries behind the reports and the notification scan, in one place.

They read the schema: a contract's payment ledger (`paid_through()`), escalated cases'
`respond_by`, keys' `expires_at`; reports.py and notifications.py only consume what they
return."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import joinedload, selectinload

from licensesvc.domain.standing import pick_current
from licensesvc.models import Contract, Customer, IssuedKey, KeyRequest
from licensesvc.platform.context import ServiceContext


@dataclass(frozen=True)
class CustomerContract:
    customer: Customer
    contract: Contract


def current_contracts(ctx: ServiceContext, today: date) -> list[CustomerContract]:
    """Every customer with a contract, with the contract governing today (two queries),
    ordered by customer name."""
    by_customer: dict[int, list[Contract]] = defaultdict(list)
    for contract in ctx.session.scalars(
        select(Contract).options(
            selectinload(Contract.payments), selectinload(Contract.plan_changes)
        )
    ):
        by_customer[contract.customer_id].append(contract)
    customers = ctx.session.scalars(
        select(Customer).where(Customer.id.in_(by_customer)).order_by(Customer.name)
    )
    rows = []
    for customer in customers:
        picked = pick_current(by_customer[customer.id], today)
        if picked is not None:
            rows.append(CustomerContract(customer, picked))
    return rows


def current_contract_of(
    ctx: ServiceContext, customer_id: int, today: date
) -> CustomerContract | None:
    # imported here: standing is imported lazily, like every caller of the payment hook
    from .standing import current_contract

    contract = current_contract(ctx, customer_id, today)
    if contract is None:
        return None
    return CustomerContract(contract.customer, contract)


def active_contracts(ctx: ServiceContext, today: date) -> list[CustomerContract]:
    """Current contracts whose term covers today."""
    return [
        row
        for row in current_contracts(ctx, today)
        if row.contract.start_date <= today <= row.contract.effective_end
    ]


def paid_through(contract: Contract) -> date:
    """The date maintenance is paid through: the latest entry of the contract's payment
    ledger, never past its effective end (nothing paid: the day before its start)."""
    return contract.paid_through


def maintenance_lapsing(ctx: ServiceContext, today: date, days: int) -> list[CustomerContract]:
    """Active contracts whose maintenance is paid through a day from today to today + days,
    before the contract's own end (a contract paid to its end is ending, not lapsing);
    soonest first."""
    rows = [
        row
        for row in active_contracts(ctx, today)
        if 0 <= (paid_through(row.contract) - today).days <= days
        and paid_through(row.contract) < row.contract.effective_end
    ]
    return sorted(rows, key=lambda r: (paid_through(r.contract), r.customer.name))


def contracts_ending(ctx: ServiceContext, today: date, days: int) -> list[tuple[Contract, bool]]:
    """Contracts whose last day lies from today to today + days, soonest first, each with
    whether the customer already has a contract starting after it (a renewal)."""
    ending = list(
        ctx.session.scalars(
            select(Contract)
            .options(joinedload(Contract.customer))
            .where(Contract.end_date >= today, Contract.end_date <= today + timedelta(days=days))
            .order_by(Contract.end_date, Contract.id)
        )
    )
    later = {
        (c.customer_id, c.start_date)
        for c in ctx.session.scalars(
            select(Contract).where(Contract.customer_id.in_({c.customer_id for c in ending}))
        )
    }
    return [
        (c, any(cid == c.customer_id and start > c.end_date for cid, start in later))
        for c in ending
    ]


def keys_expiring(ctx: ServiceContext, after: datetime, until: datetime) -> list[IssuedKey]:
    """Active keys (not revoked or superseded) that expire after `after` and by `until`,
    soonest first."""
    return list(
        ctx.session.scalars(
            select(IssuedKey)
            .options(joinedload(IssuedKey.license))
            .where(
                IssuedKey.status == "active",
                IssuedKey.expires_at > after,
                IssuedKey.expires_at <= until,
            )
            .order_by(IssuedKey.expires_at, IssuedKey.id)
        )
    )


def customer_names(ctx: ServiceContext, ids: set[int]) -> dict[int, str]:
    """The names of the customers `ids`, by id (one query)."""
    if not ids:
        return {}
    rows = ctx.session.execute(select(Customer.id, Customer.name).where(Customer.id.in_(ids)))
    return {row.id: row.name for row in rows}


def case_owner(case: KeyRequest) -> str | None:
    """Who works the case: its owner where cases have one, else the analyst who decided it."""
    owner = getattr(case, "owner", None)
    return owner if isinstance(owner, str) else case.decided_by


def overdue_cases(ctx: ServiceContext, now: datetime) -> list[KeyRequest]:
    """Escalated cases whose respond-by (or, where cases carry one, next update due) has
    passed, by respond-by."""
    next_update_due = getattr(KeyRequest, "next_update_due", None)
    late = KeyRequest.respond_by < now
    if next_update_due is not None:
        late = or_(late, next_update_due < now)
    return list(
        ctx.session.scalars(
            select(KeyRequest)
            .options(joinedload(KeyRequest.customer))
            .where(KeyRequest.status == "escalated", late)
            .order_by(KeyRequest.respond_by, KeyRequest.id)
        )
    )
