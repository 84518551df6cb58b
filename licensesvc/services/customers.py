"""Customers, contracts, maintenance payments and licenses: the analysts' records."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from licensesvc.domain import Plan, Region, values
from licensesvc.models import Contract, Customer, License

from . import audit, inputs, notifications
from .context import ServiceContext
from .errors import Conflict, ValidationFailed
from .hosts import normalize_host
from .lookups import get_contract as get_contract
from .lookups import get_customer as get_customer
from .lookups import get_license as get_license
from .views import CustomerOverview


def create_customer(ctx: ServiceContext, name: str, region: str = Region.NA) -> Customer:
    """Create a customer. Raises ValidationFailed (empty name, unknown region) or Conflict
    (the name is taken)."""
    ctx.actor.require_analyst()
    name = inputs.check_text(name.strip(), "name")
    if not name:
        raise ValidationFailed("a customer needs a name")
    if region not in values(Region):
        raise ValidationFailed(
            f"unknown region {region!r}; choose one of {', '.join(values(Region))}"
        )
    if ctx.session.scalar(select(Customer.id).where(Customer.name == name)) is not None:
        raise Conflict(f"a customer named {name!r} already exists")
    customer = Customer(name=name, region=region, created_at=ctx.now())
    ctx.session.add(customer)
    try:
        ctx.session.flush()
    except IntegrityError:
        raise Conflict(f"a customer named {name!r} already exists") from None
    audit.append(
        ctx,
        "customer.created",
        "customer",
        customer.id,
        customer_id=customer.id,
        details={"name": name, "region": region},
    )
    return customer


def customer_overview(ctx: ServiceContext, customer_id: int) -> CustomerOverview:
    """The customer with its contracts and licenses. Raises NotFound."""
    return CustomerOverview.of(get_customer(ctx, customer_id))


def list_customers(ctx: ServiceContext) -> list[Customer]:
    ctx.actor.require_analyst()
    return list(ctx.session.scalars(select(Customer).order_by(Customer.id)))


def create_contract(
    ctx: ServiceContext,
    customer_id: int,
    plan: str,
    start: date,
    end: date,
    paid_through: date,
    grace_days: int | None = None,
) -> Contract:
    """Create a support contract. Raises NotFound or ValidationFailed (unknown plan, end before
    start, negative grace)."""
    ctx.actor.require_analyst()
    customer = get_customer(ctx, customer_id)
    if plan not in values(Plan):
        raise ValidationFailed(f"unknown plan {plan!r}; choose {' or '.join(values(Plan))}")
    if end < start:
        raise ValidationFailed(f"the contract ends ({end}) before it starts ({start})")
    if grace_days is not None and grace_days < 0:
        raise ValidationFailed("grace days must not be negative")
    contract = Contract(
        customer_id=customer.id,
        plan=plan,
        start_date=start,
        end_date=end,
        paid_through=paid_through,
        grace_days=grace_days,
        created_at=ctx.now(),
    )
    ctx.session.add(contract)
    ctx.session.flush()
    audit.append(
        ctx,
        "contract.created",
        "contract",
        contract.id,
        customer_id=customer.id,
        details={
            "plan": plan,
            "start": start,
            "end": end,
            "paid_through": paid_through,
            "grace_days": grace_days,
        },
    )
    return contract


def record_payment(ctx: ServiceContext, contract_id: int, paid_through: date) -> Contract:
    """Record a maintenance payment: maintenance is now paid through the given date.
    Raises NotFound or ValidationFailed (a date before the current paid-through)."""
    ctx.actor.require_analyst()
    contract = get_contract(ctx, contract_id)
    if paid_through < contract.paid_through:
        raise ValidationFailed(
            f"maintenance is already paid through {contract.paid_through}; "
            f"{paid_through} would move it back"
        )
    previous = contract.paid_through
    contract.paid_through = paid_through
    ctx.session.flush()
    audit.append(
        ctx,
        "contract.payment_recorded",
        "contract",
        contract.id,
        customer_id=contract.customer_id,
        details={"paid_through": paid_through, "previous_paid_through": previous},
    )
    notifications.keys_out_of_date(ctx, contract.customer_id)
    return contract


def create_license(
    ctx: ServiceContext,
    customer_id: int,
    product: str,
    agents: int,
    jobs: int,
    host: str,
    failover_host: str | None = None,
    expires_on: date | None = None,
) -> License:
    """Create a license. Raises NotFound or ValidationFailed (negative limits, empty product or
    host, failover equal to host)."""
    ctx.actor.require_analyst()
    customer = get_customer(ctx, customer_id)
    inputs.check_text(product, "product")
    product = product.strip()
    if not product:
        raise ValidationFailed("a license needs a product")
    if not host:
        raise ValidationFailed("a license needs a host")
    host = normalize_host(host)
    failover_host = normalize_host(failover_host, "failover host") if failover_host else None
    if agents < 0 or jobs < 0:
        raise ValidationFailed("agent and job limits must not be negative")
    if failover_host == host:
        raise ValidationFailed("the failover host must differ from the host")
    lic = License(
        customer_id=customer.id,
        product=product,
        agents=agents,
        jobs=jobs,
        host=host,
        failover_host=failover_host,
        expires_on=expires_on,
        created_at=ctx.now(),
    )
    ctx.session.add(lic)
    ctx.session.flush()
    audit.append(
        ctx,
        "license.created",
        "license",
        lic.id,
        customer_id=customer.id,
        details={
            "product": product,
            "agents": agents,
            "jobs": jobs,
            "host": host,
            "failover_host": failover_host,
            "expires_on": expires_on,
        },
    )
    return lic


def list_licenses(ctx: ServiceContext, customer_id: int | None = None) -> list[License]:
    query = select(License).order_by(License.id)
    if ctx.actor.kind == "customer":
        customer_id = ctx.actor.customer_id
    if customer_id is not None:
        query = query.where(License.customer_id == customer_id)
    return list(ctx.session.scalars(query))
