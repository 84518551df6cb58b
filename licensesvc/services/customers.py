"""Customers, contracts, maintenance payments and licenses: the analysts' records."""

from __future__ import annotations

from datetime import date

from sqlalchemy import Select, select
from sqlalchemy.exc import IntegrityError

from licensesvc.domain import Region, values
from licensesvc.models import Contract, Customer, License

from . import audit, contracts, inputs
from .context import ServiceContext
from .errors import Conflict, ValidationFailed
from .hosts import normalize_host
from .lookups import get_contract as get_contract
from .lookups import get_customer as get_customer
from .lookups import get_license as get_license
from .pagination import DEFAULT_PAGE_SIZE, Page, paginate
from .views import CustomerOverview


def create_customer(
    ctx: ServiceContext, name: str, region: str = Region.NA, holidays: str | None = None
) -> Customer:
    """Create a customer; its holiday calendar defaults to the region's (GB-ENG, US, AU-NSW).
    Raises ValidationFailed (empty name, unknown region or calendar) or Conflict (the name is
    taken)."""
    from .licenses import normalize_holidays
    from .support_plan import REGIONS as SUPPORT_REGIONS

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
    calendar = (
        normalize_holidays(holidays) if holidays else SUPPORT_REGIONS[region].default_holidays
    )
    customer = Customer(name=name, region=region, holidays=calendar, created_at=ctx.now())
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
        details={"name": name, "region": region, "holidays": calendar},
    )
    return customer


def customer_overview(ctx: ServiceContext, customer_id: int) -> CustomerOverview:
    """The customer with its contracts and licenses. Raises NotFound."""
    return CustomerOverview.of(get_customer(ctx, customer_id))


def page_customers(
    ctx: ServiceContext, *, page: int = 1, page_size: int = DEFAULT_PAGE_SIZE
) -> Page[Customer]:
    """A page of the customers, newest first (by id). Analysts only. Raises Forbidden,
    ValidationFailed for a page outside the limits."""
    ctx.actor.require_analyst()
    return paginate(ctx.session, select(Customer), page, page_size)


def create_contract(
    ctx: ServiceContext,
    customer_id: int,
    plan: str,
    start: date,
    end: date,
    paid_through: date | None,
    grace_days: int | None = None,
) -> Contract:
    """Create a support contract (see services/contracts.py: create_contract)."""
    return contracts.create_contract(ctx, customer_id, plan, start, end, paid_through, grace_days)


def record_payment(ctx: ServiceContext, contract_id: int, paid_through: date) -> Contract:
    """Record a maintenance payment and return the contract (see services/contracts.py:
    record_payment, which also takes an invoice and corrections)."""
    contracts.record_payment(ctx, contract_id, paid_through)
    return contracts.get_contract(ctx, contract_id)


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


def _licenses_query(ctx: ServiceContext, customer_id: int | None) -> Select[License]:
    query = select(License)
    if ctx.actor.kind == "customer":
        customer_id = ctx.actor.customer_id
    if customer_id is not None:
        query = query.where(License.customer_id == customer_id)
    return query


def list_licenses(ctx: ServiceContext, customer_id: int | None = None) -> list[License]:
    """Every license (a customer actor: its own), or one customer's, oldest first: for one
    customer's report; a list a person pages through uses page_licenses."""
    return list(ctx.session.scalars(_licenses_query(ctx, customer_id).order_by(License.id)))


def page_licenses(
    ctx: ServiceContext,
    customer_id: int | None = None,
    *,
    page: int = 1,
    page_size: int = DEFAULT_PAGE_SIZE,
) -> Page[License]:
    """A page of the licenses (a customer actor: its own; analysts: every customer's, or
    `customer_id`'s), newest first (by id). Raises ValidationFailed for a bad page."""
    return paginate(ctx.session, _licenses_query(ctx, customer_id), page, page_size)
