"""Customers, contracts, maintenance payments and licenses: the analysts' records."""

from __future__ import annotations

from datetime import date

from sqlalchemy import Select, case, func, literal, select, union_all
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from licensesvc.domain import CaseStatus, KeyKind, Plan, Region, values
from licensesvc.domain.errors import Conflict, ValidationFailed
from licensesvc.domain.hosts import normalize_host
from licensesvc.models import Contract, Customer, IssuedKey, KeyRequest, License
from licensesvc.platform import audit, inputs
from licensesvc.platform.context import ServiceContext
from licensesvc.platform.pagination import DEFAULT_PAGE_SIZE, Page, paginate
from licensesvc.readmodels import (
    CaseLine,
    ContractLedger,
    CustomerMatch,
    CustomerOverview,
    CustomerView,
    KeyLine,
    LicenseLine,
    PaymentView,
    StandingView,
    effective_status,
)

from . import contracts
from .lookups import get_contract, get_customer
from .premium_services import service_statuses


def create_customer(
    ctx: ServiceContext, name: str, region: str = Region.NA, holidays: str | None = None
) -> Customer:
    """Create a customer; its holiday calendar defaults to the region's (GB-ENG, US, AU-NSW).
    Raises ValidationFailed (empty name, unknown region or calendar) or Conflict (the name is
    taken)."""
    from licensesvc.domain.support_plan import REGIONS as SUPPORT_REGIONS

    from .licenses import normalize_holidays

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


#: how many keys and decided cases `customer_overview` lists (newest first); open cases: all
#: up to OPEN_CASES
RECENT_KEYS = 20
RECENT_CASES = 10
OPEN_CASES = 50


def customer_overview(ctx: ServiceContext, customer_id: int) -> CustomerOverview:
    """The customer on one screen: standing today, contracts with their payment ledgers,
    licenses, the newest RECENT_KEYS keys (and how many there are), open cases (refused or
    escalated, by respond-by) and the newest RECENT_CASES decided or granted ones. A fixed
    number of queries whatever the customer holds. Raises NotFound."""
    from licensesvc.domain.standing import Standing, pick_current
    from licensesvc.domain.support_plan import overdue_reason

    from .standing import customer_today

    customer = get_customer(ctx, customer_id)
    now = ctx.now()
    today = customer_today(customer, now)
    contract_rows = list(
        ctx.session.scalars(
            select(Contract)
            .where(Contract.customer_id == customer.id)
            .options(selectinload(Contract.payments), selectinload(Contract.plan_changes))
            .order_by(Contract.start_date, Contract.id)
        )
    )
    st = Standing(customer, pick_current(contract_rows, today), today)
    license_rows = list(
        ctx.session.scalars(
            select(License).where(License.customer_id == customer.id).order_by(License.id)
        )
    )
    products = {lic.id: lic.product for lic in license_rows}
    key_rows = list(
        ctx.session.scalars(
            select(IssuedKey)
            .where(IssuedKey.customer_id == customer.id)
            .order_by(IssuedKey.id.desc())
            .limit(RECENT_KEYS)
        )
    )
    keys_total = ctx.session.scalar(
        select(func.count()).select_from(IssuedKey).where(IssuedKey.customer_id == customer.id)
    )
    open_statuses = (CaseStatus.REFUSED, CaseStatus.ESCALATED)
    open_rows = list(
        ctx.session.scalars(
            select(KeyRequest)
            .where(KeyRequest.customer_id == customer.id, KeyRequest.status.in_(open_statuses))
            .order_by(KeyRequest.respond_by.is_(None), KeyRequest.respond_by, KeyRequest.id)
            .limit(OPEN_CASES)
        )
    )
    recent_rows = list(
        ctx.session.scalars(
            select(KeyRequest)
            .where(KeyRequest.customer_id == customer.id, KeyRequest.status.not_in(open_statuses))
            .order_by(KeyRequest.id.desc())
            .limit(RECENT_CASES)
        )
    )

    def case_line(c: KeyRequest) -> CaseLine:
        return CaseLine(
            case_number=c.case_number,
            status=CaseStatus(c.status),
            kind=KeyKind(c.kind),
            severity=c.severity,
            product=products.get(c.license_id, f"license {c.license_id}"),
            created_at=c.created_at,
            refusal_code=c.refusal_code,
            respond_by=c.respond_by,
            next_update_due=c.next_update_due,
            overdue=overdue_reason(c, now) is not None,
            owner=c.owner,
        )

    grace = ctx.policy.grace_days
    c = st.contract
    entitled = st.contract_active and st.maintenance_current(grace)
    standing_view = StandingView(
        as_of=today,
        plan=st.plan,
        contract_id=c.id if c else None,
        contract_start=c.start_date if c else None,
        contract_end=c.effective_end if c else None,
        contract_active=st.contract_active,
        maintenance_paid_through=c.paid_through if c else None,
        maintenance_days_left=(c.paid_through - today).days if c else None,
        grace_days=st.grace_days(grace) if c else None,
        grace_until=st.grace_until(grace),
        in_grace_period=st.in_grace(grace),
        maintenance_current=st.maintenance_current(grace),
        refusal_code=None
        if entitled
        else ("contract_expired" if not st.contract_active else "maintenance_lapsed"),
        refusal_message=None
        if entitled
        else (
            st.contract_problem() or f"maintenance was paid through {c.paid_through if c else '-'}"
        ),
    )
    return CustomerOverview(
        customer=CustomerView.of(customer),
        standing=standing_view,
        contracts=tuple(
            ContractLedger(
                id=k.id,
                plan=Plan(k.plan),
                plan_today=Plan(k.plan_on(today)),
                start=k.start_date,
                end=k.end_date,
                effective_end=k.effective_end,
                terminated_on=k.terminated_on,
                renews=k.renews_id,
                paid_through=k.paid_through,
                grace_days=k.grace_days,
                payments=tuple(
                    PaymentView(
                        p.paid_through,
                        p.invoice,
                        p.correction,
                        p.reason,
                        p.recorded_at,
                        p.recorded_by,
                    )
                    for p in k.payments
                ),
            )
            for k in contract_rows
        ),
        licenses=tuple(
            LicenseLine(
                lic.id,
                lic.product,
                lic.agents,
                lic.jobs,
                lic.host,
                lic.failover_host,
                lic.expires_on,
                lic.retired_at is not None,
            )
            for lic in license_rows
        ),
        keys=tuple(
            KeyLine(
                serial=k.serial,
                kind=KeyKind(k.kind),
                status=effective_status(k, now),
                product=products.get(k.license_id, f"license {k.license_id}"),
                license_id=k.license_id,
                host=(k.claims or {}).get("host"),
                failover_host=(k.claims or {}).get("failover_host"),
                issued_at=k.issued_at,
                expires_at=k.expires_at,
            )
            for k in key_rows
        ),
        keys_total=keys_total or 0,
        open_cases=tuple(case_line(r) for r in open_rows),
        recent_cases=tuple(case_line(r) for r in recent_rows),
        premium_services=tuple(service_statuses(ctx, st)),
    )


def page_customers(
    ctx: ServiceContext, *, page: int = 1, page_size: int = DEFAULT_PAGE_SIZE
) -> Page[Customer]:
    """A page of the customers, newest first (by id). Analysts only. Raises Forbidden,
    ValidationFailed for a page outside the limits."""
    ctx.actor.require_analyst()
    return paginate(ctx.session, select(Customer), page, page_size)


#: the longest search text taken (a name is at most 200 characters)
MAX_SEARCH = 200


def _like_pattern(text: str) -> str:
    """text with LIKE's wildcards (and the escape character itself) escaped by a backslash."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def search_customers(ctx: ServiceContext, text: str) -> list[CustomerMatch]:
    """Customers whose name contains text (case-insensitive; names that start with it first,
    then by name), and, when text is a whole number, the customers owning the contract and
    the license of that id (first of all). Each match says what matched: `contract 12`,
    `license 12`, `name starts with`, `name contains` (several, comma-separated, when a
    customer is found more than one way). One query; `%` and `_` in text match
    themselves. Raises ValidationFailed for empty or control-character text."""
    ctx.actor.require_analyst()
    text = inputs.check_text(text, "search").strip()
    if not text:
        raise ValidationFailed("give some text to search for")
    if len(text) > MAX_SEARCH:
        raise ValidationFailed(f"search text is longer than {MAX_SEARCH} characters")
    needle = text.lower()
    pattern = _like_pattern(needle)
    name = func.lower(Customer.name)
    by_name = select(
        Customer.id.label("customer_id"),
        case((name.like(pattern + "%", escape="\\"), 2), else_=3).label("rank"),
        case(
            (name.like(pattern + "%", escape="\\"), literal("name starts with")),
            else_=literal("name contains"),
        ).label("matched"),
    ).where(name.like("%" + pattern + "%", escape="\\"))
    parts = [by_name]
    if text.isdigit() and inputs.int_problem(int(text)) is None:
        number = int(text)
        parts.append(
            select(
                Contract.customer_id.label("customer_id"),
                literal(0).label("rank"),
                literal(f"contract {number}").label("matched"),
            ).where(Contract.id == number)
        )
        parts.append(
            select(
                License.customer_id.label("customer_id"),
                literal(1).label("rank"),
                literal(f"license {number}").label("matched"),
            ).where(License.id == number)
        )
    found = union_all(*parts).subquery()
    rows = ctx.session.execute(
        select(Customer, found.c.matched)
        .join(found, found.c.customer_id == Customer.id)
        .order_by(found.c.rank, func.lower(Customer.name), Customer.id)
    ).all()
    found_by: dict[int, tuple[Customer, list[str]]] = {}
    for c, matched in rows:  # a customer found twice keeps its best place and says both
        found_by.setdefault(c.id, (c, []))[1].append(str(matched))
    return [CustomerMatch(CustomerView.of(c), ", ".join(why)) for c, why in found_by.values()]


def create_contract(
    ctx: ServiceContext,
    customer_id: int,
    plan: str,
    start: date,
    end: date,
    paid_through: date | None,
    grace_days: int | None = None,
) -> Contract:
    """Create a support contract (see licensesvc/accounts/contracts.py: create_contract)."""
    return contracts.create_contract(ctx, customer_id, plan, start, end, paid_through, grace_days)


def record_payment(ctx: ServiceContext, contract_id: int, paid_through: date) -> Contract:
    """Record a maintenance payment and return the contract (see licensesvc/accounts/contracts.py:
    record_payment, which also takes an invoice and corrections)."""
    contracts.record_payment(ctx, contract_id, paid_through)
    return get_contract(ctx, contract_id)


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
        get_customer(ctx, customer_id)  # an unknown id is not_found, not an empty list
        query = query.where(License.customer_id == customer_id)
    return query


def list_licenses(ctx: ServiceContext, customer_id: int | None = None) -> list[License]:
    """Every license (a customer actor: its own), or one customer's, oldest first: for one
    customer's report; a list a person pages through uses page_licenses. Raises NotFound
    (an unknown customer)."""
    return list(ctx.session.scalars(_licenses_query(ctx, customer_id).order_by(License.id)))


def page_licenses(
    ctx: ServiceContext,
    customer_id: int | None = None,
    *,
    page: int = 1,
    page_size: int = DEFAULT_PAGE_SIZE,
) -> Page[License]:
    """A page of the licenses (a customer actor: its own; analysts: every customer's, or
    `customer_id`'s), newest first (by id). Raises NotFound (an unknown customer),
    ValidationFailed for a bad page."""
    return paginate(ctx.session, _licenses_query(ctx, customer_id), page, page_size)
