"""Support contracts over time: creation (no two terms of a customer overlap), plan changes
from a date, renewal as a successor contract, early termination, and the maintenance payment
ledger with corrections. History is rows, never edited in place; every change is audited with
its reason in the same transaction."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select

from licensesvc.domain import PRIMARY_KINDS, Plan, values
from licensesvc.domain.errors import Conflict, InvalidState, ValidationFailed, require_reason
from licensesvc.models import Contract, ContractPayment, ContractPlanChange, IssuedKey
from licensesvc.platform import audit, outbox
from licensesvc.platform.context import ServiceContext
from licensesvc.platform.pagination import DEFAULT_PAGE_SIZE, Page, paginate
from licensesvc.readmodels import ContractDetail

from .lookups import get_contract, get_customer
from .report_queries import current_contract_of, paid_through


def list_contracts(ctx: ServiceContext, customer_id: int | None = None) -> list[Contract]:
    """The contracts (a customer actor: its own; analysts: every customer's, or
    `customer_id`'s), oldest first. Raises NotFound (an unknown customer)."""
    query = select(Contract).order_by(Contract.id)
    if ctx.actor.kind == "customer":
        customer_id = ctx.actor.customer_id
    if customer_id is not None:
        get_customer(ctx, customer_id)  # an unknown id is not_found, not an empty list
        query = query.where(Contract.customer_id == customer_id)
    return list(ctx.session.scalars(query))


def _check_plan(plan: str) -> None:
    if plan not in values(Plan):
        raise ValidationFailed(f"unknown plan {plan!r}; choose {' or '.join(values(Plan))}")


def _check_paid_through(paid_through: date, contract_end: date, *, renewal_hint: bool) -> None:
    if paid_through > contract_end:
        hint = (
            "; record the payment on its renewal (`licensesvc contract renew`)"
            if renewal_hint
            else ""
        )
        raise ValidationFailed(
            f"maintenance cannot be paid through {paid_through}: the contract ends on "
            f"{contract_end}{hint}"
        )


def _check_no_overlap(
    ctx: ServiceContext,
    customer_id: int,
    start: date,
    end: date,
    *,
    ignore: Contract | None = None,
) -> None:
    for other in list_contracts(ctx, customer_id):
        if other is ignore:
            continue
        if start <= other.effective_end and other.start_date <= end:
            raise Conflict(
                f"contract {other.id} ({other.start_date} .. {other.effective_end}) already "
                f"covers part of {start} .. {end}; change its plan (`contract change-plan`) "
                "or renew it (`contract renew`) instead of adding an overlapping contract"
            )


def _append_payment(
    ctx: ServiceContext,
    contract: Contract,
    paid_through: date,
    *,
    invoice: str | None = None,
    correction: bool = False,
    reason: str | None = None,
) -> ContractPayment:
    entry = ContractPayment(
        paid_through=paid_through,
        invoice=invoice,
        correction=correction,
        reason=reason,
        recorded_at=ctx.now(),
        recorded_by=ctx.actor.label,
    )
    contract.payments.append(entry)
    ctx.session.flush()
    return entry


def create_contract(
    ctx: ServiceContext,
    customer_id: int,
    plan: str,
    start: date,
    end: date,
    paid_through: date | None,
    grace_days: int | None = None,
    *,
    renews: Contract | None = None,
) -> Contract:
    """Create a support contract; a paid-through date becomes its first ledger entry.
    Raises NotFound, ValidationFailed (unknown plan, end before start, negative grace,
    paid-through past the end) or Conflict (the term overlaps another contract of the customer
    that it does not renew)."""
    ctx.actor.require_analyst()
    customer = get_customer(ctx, customer_id)
    _check_plan(plan)
    if end < start:
        raise ValidationFailed(f"the contract ends ({end}) before it starts ({start})")
    if grace_days is not None and grace_days < 0:
        raise ValidationFailed("grace days must not be negative")
    if paid_through is not None:
        _check_paid_through(paid_through, end, renewal_hint=False)
    _check_no_overlap(ctx, customer.id, start, end)
    contract = Contract(
        customer_id=customer.id,
        plan=plan,
        start_date=start,
        end_date=end,
        grace_days=grace_days,
        created_at=ctx.now(),
        renews_id=renews.id if renews else None,
    )
    ctx.session.add(contract)
    ctx.session.flush()
    if paid_through is not None:
        _append_payment(ctx, contract, paid_through)
    audit.append(
        ctx,
        "contract.renewed" if renews else "contract.created",
        "contract",
        contract.id,
        customer_id=customer.id,
        details={
            "plan": plan,
            "start": start,
            "end": end,
            "paid_through": paid_through,
            "grace_days": grace_days,
            "renews": renews.id if renews else None,
        },
    )
    return contract


def record_payment(
    ctx: ServiceContext,
    contract_id: int,
    paid_through: date,
    *,
    invoice: str | None = None,
    correction: bool = False,
    reason: str | None = None,
) -> ContractPayment:
    """Append a ledger entry: maintenance is paid through `paid_through`. A payment never moves
    the date back; a correction (with a reason) may. Raises NotFound, ValidationFailed (past
    the contract's end, backwards without --correction, a correction without a reason, a
    reason on a plain payment) or InvalidState (a terminated contract)."""
    ctx.actor.require_analyst()
    contract = get_contract(ctx, contract_id)
    invoice = invoice.strip() if invoice else None
    if correction:
        reason = require_reason(reason, "a correction of the payment ledger")
    elif reason is not None:
        raise ValidationFailed("a reason is for corrections; add --correction")
    if not correction and contract.terminated_on is not None:
        raise InvalidState(
            f"contract {contract.id} was terminated on {contract.terminated_on}; "
            "only a correction can be recorded"
        )
    _check_paid_through(paid_through, contract.effective_end, renewal_hint=True)
    previous = contract.ledger_paid_through
    if not correction and previous is not None and paid_through < previous:
        raise ValidationFailed(
            f"maintenance is already paid through {previous}; {paid_through} would move it "
            "back (a mistake is fixed with --correction --reason TEXT)"
        )
    entry = _append_payment(
        ctx, contract, paid_through, invoice=invoice, correction=correction, reason=reason
    )
    audit.append(
        ctx,
        "contract.payment_corrected" if correction else "contract.payment_recorded",
        "contract",
        contract.id,
        customer_id=contract.customer_id,
        reason=reason,
        details={
            "entry": entry.id,
            "paid_through": paid_through,
            "previous_paid_through": previous,
            "invoice": invoice,
        },
    )
    keys_out_of_date(ctx, contract.customer_id)
    return entry


def page_payments(
    ctx: ServiceContext, contract_id: int, *, page: int = 1, page_size: int = DEFAULT_PAGE_SIZE
) -> Page[ContractPayment]:
    """A page of the contract's payment ledger, newest first (the first entry of page 1 is
    what counts). Raises NotFound, ValidationFailed for a page outside the limits."""
    contract = get_contract(ctx, contract_id)
    query = select(ContractPayment).where(ContractPayment.contract_id == contract.id)
    return paginate(ctx.session, query, page, page_size)


def change_plan(
    ctx: ServiceContext, contract_id: int, plan: str, effective_from: date, reason: str
) -> ContractPlanChange:
    """Change the contract's plan from a day inside its term. The contract stays the same
    contract, so quota use in the contract year carries over. Raises NotFound,
    ValidationFailed (unknown plan, a day outside the term, the plan already in effect, no
    reason)."""
    ctx.actor.require_analyst()
    reason = require_reason(reason, "a plan change")
    _check_plan(plan)
    contract = get_contract(ctx, contract_id)
    if not contract.start_date <= effective_from <= contract.effective_end:
        raise ValidationFailed(
            f"a plan change takes effect inside the term ({contract.start_date} .. "
            f"{contract.effective_end}), not on {effective_from}"
        )
    before = contract.plan_on(effective_from)
    if before == plan:
        raise ValidationFailed(f"contract {contract.id} is already {plan} on {effective_from}")
    change = ContractPlanChange(
        plan=plan,
        effective_from=effective_from,
        reason=reason,
        created_at=ctx.now(),
        created_by=ctx.actor.label,
    )
    contract.plan_changes.append(change)
    ctx.session.flush()
    # keep the in-memory history in order (a backdated change sorts before later ones)
    contract.plan_changes.sort(key=lambda c: (c.effective_from, c.id))
    audit.append(
        ctx,
        "contract.plan_changed",
        "contract",
        contract.id,
        customer_id=contract.customer_id,
        reason=reason,
        details={"from_plan": before, "plan": plan, "effective_from": effective_from},
    )
    return change


def renew_contract(
    ctx: ServiceContext,
    contract_id: int,
    end: date,
    *,
    plan: str | None = None,
    paid_through: date | None = None,
) -> Contract:
    """Renew a contract: a successor contract from the day after its end to `end`, on `plan`
    (default: the plan in effect on the old contract's last day). Quotas restart with the new
    term; the old contract and its history stay. Raises NotFound, ValidationFailed, Conflict,
    or InvalidState (already renewed, or terminated)."""
    ctx.actor.require_analyst()
    old = get_contract(ctx, contract_id)
    if old.terminated_on is not None:
        raise InvalidState(
            f"contract {old.id} was terminated on {old.terminated_on}; a new term is a new "
            "contract (`licensesvc contract create`)"
        )
    successor = ctx.session.scalar(select(Contract).where(Contract.renews_id == old.id))
    if successor is not None:
        raise InvalidState(f"contract {old.id} is already renewed by contract {successor.id}")
    start = old.end_date + timedelta(days=1)
    if end < start:
        raise ValidationFailed(f"the renewal starts on {start}; its end {end} is before that")
    return create_contract(
        ctx,
        old.customer_id,
        plan or old.plan_on(old.end_date),
        start,
        end,
        paid_through,
        old.grace_days,
        renews=old,
    )


def renewal_of(ctx: ServiceContext, contract: Contract) -> Contract | None:
    """The contract that renews `contract`, if any."""
    return ctx.session.scalar(select(Contract).where(Contract.renews_id == contract.id))


def contract_detail(ctx: ServiceContext, contract: Contract) -> ContractDetail:
    """The contract over time as of today (the context's clock): plan today, plan history,
    termination, the contract it renews and the one renewing it."""
    renewed_by = ctx.session.scalar(select(Contract.id).where(Contract.renews_id == contract.id))
    return ContractDetail.of(contract, ctx.now().date(), renewed_by)


def terminate_contract(ctx: ServiceContext, contract_id: int, on: date, reason: str) -> Contract:
    """End a contract's term early: `on` is its last covered day; no keys after it. Raises
    NotFound, ValidationFailed (a day outside the term, no reason) or InvalidState (already
    terminated)."""
    ctx.actor.require_analyst()
    reason = require_reason(reason, "a termination")
    contract = get_contract(ctx, contract_id)
    if contract.terminated_on is not None:
        raise InvalidState(
            f"contract {contract.id} was already terminated on {contract.terminated_on}"
        )
    if not contract.start_date <= on <= contract.end_date:
        raise ValidationFailed(
            f"the last covered day must lie inside the term ({contract.start_date} .. "
            f"{contract.end_date}), not {on}"
        )
    contract.terminated_on = on
    contract.termination_reason = reason
    ctx.session.flush()
    audit.append(
        ctx,
        "contract.terminated",
        "contract",
        contract.id,
        customer_id=contract.customer_id,
        reason=reason,
        details={"terminated_on": on, "end": contract.end_date},
    )
    return contract


def keys_out_of_date(ctx: ServiceContext, customer_id: int) -> None:
    """After a payment: the customer's active standard or replacement keys that carry an older
    maintenance date than the contract now does, in one message with how to refresh them."""
    today = ctx.now().date()
    standing = current_contract_of(ctx, customer_id, today)
    if standing is None:
        return
    contract = standing.contract
    paid = paid_through(contract).isoformat()
    stale = [
        key
        for key in ctx.session.scalars(
            select(IssuedKey)
            .where(
                IssuedKey.customer_id == customer_id,
                IssuedKey.status == "active",
                IssuedKey.kind.in_(PRIMARY_KINDS),
            )
            .order_by(IssuedKey.id)
        )
        if str(key.claims.get("maintenance_until", paid)) < paid
        and (key.expires_at is None or key.expires_at > ctx.now())
    ]
    if not stale:
        return
    context = {
        "contract_id": contract.id,
        "paid_through": paid_through(contract),
        "keys": [
            outbox.key_context(k) | {"maintenance_until": k.claims.get("maintenance_until")}
            for k in stale
        ],
    }
    outbox.enqueue(
        ctx,
        outbox.Event.KEY_OUT_OF_DATE,
        customer_id,
        f"contract:{contract.id}",
        context,
        threshold=f"paid_through={paid}",
    )
