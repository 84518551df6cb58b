"""Is this customer entitled, right now? The contract, maintenance and plan part of every
decision, and the entitlement report built from it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select

from licensesvc.models import Contract, Customer

from . import quotas, support_plan
from .context import ServiceContext
from .customers import get_customer

PLAN_KEY_KINDS = {
    "base": ("replacement", "dr_test"),
    "premium": ("replacement", "dr_test", "temporary"),
}


@dataclass(frozen=True)
class Standing:
    """A customer's contract standing on one day: `today` is the calendar date in the
    customer's region's time zone, `contract` the one in force that day (see
    current_contract), its plan the one in effect that day after any plan change, and its
    paid-through the latest entry of its payment ledger (never past its end)."""

    customer: Customer
    contract: Contract | None
    today: date

    @property
    def plan(self) -> str | None:
        return self.contract.plan_on(self.today) if self.contract else None

    @property
    def contract_active(self) -> bool:
        c = self.contract
        return c is not None and c.start_date <= self.today <= c.effective_end

    def grace_days(self, default: int) -> int:
        if self.contract is None or self.contract.grace_days is None:
            return default
        return self.contract.grace_days

    def grace_until(self, default: int) -> date | None:
        if self.contract is None:
            return None
        return self.contract.paid_through + timedelta(days=self.grace_days(default))

    def maintenance_current(self, default_grace: int) -> bool:
        until = self.grace_until(default_grace)
        return until is not None and self.today <= until

    def in_grace(self, default_grace: int) -> bool:
        c = self.contract
        return (
            c is not None
            and c.paid_through < self.today
            and self.maintenance_current(default_grace)
        )

    def contract_problem(self) -> str | None:
        """The words of a contract_expired refusal, or None when the contract is active."""
        c = self.contract
        if c is None:
            return "there is no support contract on record for this customer"
        if self.today < c.start_date:
            return f"the support contract starts on {c.start_date}"
        if c.terminated_on is not None and self.today > c.effective_end:
            return (
                f"the support contract was terminated; its last covered day was {c.terminated_on}"
            )
        if self.today > c.end_date:
            return f"the support contract ended on {c.end_date}"
        return None

    def contract_year_start(self) -> date | None:
        """The first day of the current contract year (years run from the start date)."""
        c = self.contract
        if c is None:
            return None
        start = c.start_date
        years = self.today.year - start.year
        candidate = _add_years(start, years)
        if candidate > self.today:
            candidate = _add_years(start, years - 1)
        return candidate


def _add_years(d: date, years: int) -> date:
    try:
        return d.replace(year=d.year + years)
    except ValueError:  # 29 February
        return d.replace(year=d.year + years, day=28)


def current_contract(ctx: ServiceContext, customer_id: int, today: date) -> Contract | None:
    """The contract in force on `today`: the one whose term (to its termination, if ended
    early) covers it, else the latest that has started (after its renewals), else the
    earliest future one."""
    contracts = list(
        ctx.session.scalars(
            select(Contract).where(Contract.customer_id == customer_id).order_by(Contract.id)
        )
    )
    covering = [c for c in contracts if c.start_date <= today <= c.effective_end]
    if covering:
        return max(covering, key=lambda c: (c.start_date, c.id))
    started = [c for c in contracts if c.start_date <= today]
    if started:
        return max(started, key=lambda c: (c.start_date, c.id))
    return min(contracts, key=lambda c: (c.start_date, c.id)) if contracts else None


def customer_today(customer: Customer, now: datetime) -> date:
    """The calendar date at `now` in the customer's region's time zone."""
    return support_plan.local_today(support_plan.REGIONS[customer.region], now)


def standing(ctx: ServiceContext, customer_id: int) -> Standing:
    """The customer's standing on its own today. Raises NotFound."""
    customer = get_customer(ctx, customer_id)
    today = customer_today(customer, ctx.now())
    return Standing(customer, current_contract(ctx, customer_id, today), today)


def entitlement_report(ctx: ServiceContext, customer_id: int) -> dict[str, Any]:
    """Return what the customer is entitled to today: contract and maintenance standing, the
    key kinds it may request, quota use, and what the plan promises (severity table, support
    hours, root-cause scope, services). Raises NotFound."""
    st = standing(ctx, customer_id)
    policy = ctx.policy
    plan = st.plan
    entitled = st.contract_active and st.maintenance_current(policy.grace_days)
    plan_kinds = list(PLAN_KEY_KINDS.get(plan or "", ()))
    region = support_plan.REGIONS[st.customer.region]
    c = st.contract
    return {
        "customer": {"id": st.customer.id, "name": st.customer.name, "region": region.code},
        "as_of": st.today,
        "plan": plan,
        "contract": None
        if c is None
        else {
            "id": c.id,
            "start": c.start_date,
            "end": c.effective_end,
            "plan": plan,
            "terminated_on": c.terminated_on,
            "renews": c.renews_id,
            "plan_history": [{"plan": c.plan, "from": c.start_date}]
            + [{"plan": p.plan, "from": p.effective_from} for p in c.plan_changes],
        },
        "contract_active": st.contract_active,
        "maintenance_current": st.maintenance_current(policy.grace_days),
        "maintenance_paid_through": c.paid_through if c else None,
        "grace_until": st.grace_until(policy.grace_days),
        "in_grace_period": st.in_grace(policy.grace_days),
        "refusal": None
        if entitled
        else {
            "code": "contract_expired" if not st.contract_active else "maintenance_lapsed",
            "message": st.contract_problem()
            or f"maintenance was paid through {c.paid_through if c else '-'}",
        },
        "allowed_key_kinds": plan_kinds if entitled else [],
        "plan_key_kinds": plan_kinds,
        "temporary_key_reasons": list(TEMPORARY_REASONS) if plan == "premium" else [],
        "quotas": quotas.quota_usage(ctx, st),
        "response_targets": support_plan.response_targets(plan or "base"),
        "support_hours": {
            "region": region.code,
            "core_hours": f"{region.opens:%H:%M}-{region.closes:%H:%M} {region.timezone_label}",
            "timezone": region.timezone,
            "holidays": st.customer.holidays,
            "excluding": f"local holidays ({st.customer.holidays})",
            "after_hours": support_plan.AFTER_HOURS,
            "sev1_cover": support_plan.sev1_cover(plan or "base", policy),
            "support_phone": ctx.settings.support_phone,
            "all_regions": support_plan.support_hours(),
        },
        "root_cause_analysis": support_plan.ROOT_CAUSE_SCOPE[plan or "base"],
        "services": support_plan.plan_services(plan or "base"),
        "policy": {
            "dr_window_days_before": policy.dr_window_days_before,
            "dr_window_days_after": policy.dr_window_days_after,
            "dr_min_lead_days": policy.dr_min_lead_days,
            "replacement_overlap_days": policy.replacement_overlap_days,
            "temporary_key_days": TEMPORARY_KEY_DAYS,
        },
    }


TEMPORARY_KEY_DAYS = 120  # fixed by the vendor's overview: "120-day temporary keys"
TEMPORARY_REASONS = (
    "infrastructure_change",
    "upgrade_patching",
    "seasonal_testing",
    "usage_spike",
)
