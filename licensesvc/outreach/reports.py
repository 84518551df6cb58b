"""The analysts' reports: maintenance lapsing, customers in grace, contracts ending, quota use,
keys expiring and overdue cases. Each returns a tuple of frozen rows, in the order an analyst
works them; the CLI prints them as a table, JSON or CSV. The queries live in report_queries."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from licensesvc import accounts, issuance
from licensesvc.domain.errors import ValidationFailed
from licensesvc.domain.standing import Standing
from licensesvc.models import License
from licensesvc.platform.context import ServiceContext

#: the furthest a report looks ahead
MAX_DAYS = 3660


def _check_days(days: int) -> None:
    if not 0 <= days <= MAX_DAYS:
        raise ValidationFailed(f"days is 0 to {MAX_DAYS}, not {days}")


@dataclass(frozen=True)
class MaintenanceLapsingRow:
    customer_id: int
    customer: str
    contract_id: int
    plan: str
    paid_through: date
    days_left: int
    contract_end: date


def maintenance_lapsing(ctx: ServiceContext, days: int) -> tuple[MaintenanceLapsingRow, ...]:
    """Active contracts whose maintenance is paid through a day within `days` days from
    today (and before the contract ends), soonest first. Raises ValidationFailed."""
    ctx.actor.require_analyst()
    _check_days(days)
    today = ctx.now().date()
    return tuple(
        MaintenanceLapsingRow(
            customer_id=r.customer.id,
            customer=r.customer.name,
            contract_id=r.contract.id,
            plan=r.contract.plan,
            paid_through=accounts.paid_through(r.contract),
            days_left=(accounts.paid_through(r.contract) - today).days,
            contract_end=r.contract.end_date,
        )
        for r in accounts.maintenance_lapsing(ctx, today, days)
    )


@dataclass(frozen=True)
class InGraceRow:
    customer_id: int
    customer: str
    contract_id: int
    plan: str
    paid_through: date
    grace_until: date
    grace_days_left: int


def in_grace(ctx: ServiceContext) -> tuple[InGraceRow, ...]:
    """Customers whose maintenance is past its paid-through date but still inside the grace
    period (keys are still issued), the nearest end of grace first."""
    ctx.actor.require_analyst()
    today = ctx.now().date()
    rows = []
    for r in accounts.active_contracts(ctx, today):
        st = Standing(r.customer, r.contract, today)
        if not st.in_grace(ctx.policy.grace_days):
            continue
        until = st.grace_until(ctx.policy.grace_days)
        assert until is not None
        rows.append(
            InGraceRow(
                customer_id=r.customer.id,
                customer=r.customer.name,
                contract_id=r.contract.id,
                plan=r.contract.plan,
                paid_through=accounts.paid_through(r.contract),
                grace_until=until,
                grace_days_left=(until - today).days,
            )
        )
    return tuple(sorted(rows, key=lambda row: (row.grace_until, row.customer)))


@dataclass(frozen=True)
class ContractEndingRow:
    customer_id: int
    customer: str
    contract_id: int
    plan: str
    end: date
    days_left: int
    paid_through: date
    renewed: bool


def contracts_ending(ctx: ServiceContext, days: int) -> tuple[ContractEndingRow, ...]:
    """Contracts whose last day is within `days` days from today, soonest first, with whether a
    later contract already follows. Raises ValidationFailed."""
    ctx.actor.require_analyst()
    _check_days(days)
    today = ctx.now().date()
    return tuple(
        ContractEndingRow(
            customer_id=c.customer_id,
            customer=c.customer.name,
            contract_id=c.id,
            plan=c.plan,
            end=c.end_date,
            days_left=(c.end_date - today).days,
            paid_through=accounts.paid_through(c),
            renewed=renewed,
        )
        for c, renewed in accounts.contracts_ending(ctx, today, days)
    )


@dataclass(frozen=True)
class QuotaUseRow:
    customer_id: int
    customer: str
    contract_id: int
    plan: str
    year_start: date | None
    dr_test_used: int
    dr_test_limit: int
    temporary_active: int
    temporary_limit: int


def quota_use(ctx: ServiceContext) -> tuple[QuotaUseRow, ...]:
    """Per active contract: DR-test keys used this contract year against the yearly limit,
    and temporary keys active now against the limit (per license, summed over the customer's
    licenses; Base plans have no temporary keys). By customer name."""
    ctx.actor.require_analyst()
    today = ctx.now().date()
    rows = []
    for r in accounts.active_contracts(ctx, today):
        st = Standing(r.customer, r.contract, today)
        dr = issuance.dr_test_quota(ctx, st)
        licenses: list[License] = list(r.customer.licenses)
        premium = r.contract.plan == "premium"
        rows.append(
            QuotaUseRow(
                customer_id=r.customer.id,
                customer=r.customer.name,
                contract_id=r.contract.id,
                plan=r.contract.plan,
                year_start=st.contract_year_start(),
                dr_test_used=issuance.used(ctx, dr) if dr else 0,
                dr_test_limit=dr.limit if dr else 0,
                temporary_active=sum(
                    issuance.used(ctx, issuance.temporary_quota(ctx, lic)) for lic in licenses
                ),
                temporary_limit=(
                    ctx.policy.max_active_temporary_keys * len(licenses) if premium else 0
                ),
            )
        )
    return tuple(rows)


@dataclass(frozen=True)
class KeyExpiringRow:
    serial: str
    kind: str
    customer_id: int
    customer: str  # the customer's name, as the analyst calls them
    license_id: int
    product: str
    host: str
    expires_at: datetime
    days_left: int


def keys_expiring(ctx: ServiceContext, days: int) -> tuple[KeyExpiringRow, ...]:
    """Active keys that expire within `days` days from now, soonest first (keys past their
    expiry are not listed). Raises ValidationFailed."""
    ctx.actor.require_analyst()
    _check_days(days)
    now = ctx.now()
    expiring = accounts.keys_expiring(ctx, now, now + timedelta(days=days))
    names = accounts.customer_names(ctx, {k.customer_id for k in expiring})
    return tuple(
        KeyExpiringRow(
            serial=k.serial,
            kind=k.kind,
            customer_id=k.customer_id,
            customer=names[k.customer_id],
            license_id=k.license_id,
            product=k.license.product,
            host=str(k.claims.get("host", k.license.host)),
            expires_at=k.expires_at,
            days_left=(k.expires_at - now) // timedelta(days=1),
        )
        for k in expiring
        if k.expires_at is not None
    )


UNASSIGNED = "unassigned"


@dataclass(frozen=True)
class OverdueCaseRow:
    owner: str
    case_number: str
    customer_id: int
    customer: str
    severity: int
    kind: str
    escalated_at: datetime | None
    respond_by: datetime | None
    hours_overdue: float


def overdue_cases(ctx: ServiceContext) -> tuple[OverdueCaseRow, ...]:
    """Escalated cases past their respond-by, grouped by the analyst who owns them
    ("unassigned" when none does), most overdue first within each owner."""
    ctx.actor.require_analyst()
    now = ctx.now()
    rows = [
        OverdueCaseRow(
            owner=accounts.case_owner(case) or UNASSIGNED,
            case_number=case.case_number,
            customer_id=case.customer_id,
            customer=case.customer.name,
            severity=case.severity,
            kind=case.kind,
            escalated_at=case.escalated_at,
            respond_by=case.respond_by,
            hours_overdue=round((now - (case.respond_by or now)).total_seconds() / 3600, 1),
        )
        for case in accounts.overdue_cases(ctx, now)
    ]
    return tuple(sorted(rows, key=lambda r: (r.owner == UNASSIGNED, r.owner, -r.hours_overdue)))
