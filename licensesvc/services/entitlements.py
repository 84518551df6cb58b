"""Is this customer entitled, right now? The entitlement report, built from the standing
(services/standing.py) and the policy table (services/policy.py)."""

from __future__ import annotations

from licensesvc.domain import Plan

from . import quotas, support_plan
from .context import ServiceContext
from .policy import TEMPORARY_KEY_DAYS, plan_key_kinds, temporary_reasons
from .standing import standing
from .views import (
    ContractRef,
    CustomerRef,
    EntitlementRefusal,
    EntitlementReport,
    PolicySummary,
    SupportHours,
)


def entitlement_report(ctx: ServiceContext, customer_id: int) -> EntitlementReport:
    """Return what the customer is entitled to today: contract and maintenance standing, the
    key kinds it may request, quota use, and what the plan promises (severity table, support
    hours, root-cause scope, services). Raises NotFound."""
    st = standing(ctx, customer_id)
    policy = ctx.policy
    plan = st.plan
    entitled = st.contract_active and st.maintenance_current(policy.grace_days)
    plan_kinds = plan_key_kinds(plan)
    region = support_plan.REGIONS[st.customer.region]
    c = st.contract
    return EntitlementReport(
        customer=CustomerRef(st.customer.id, st.customer.name, region.code),
        as_of=st.today,
        plan=plan,
        contract=None
        if c is None
        else ContractRef(
            c.id,
            c.start_date,
            c.effective_end,
            Plan(plan) if plan else Plan(c.plan),
            terminated_on=c.terminated_on,
            renews=c.renews_id,
            plan_history=[{"plan": Plan(c.plan), "from": c.start_date}]
            + [{"plan": Plan(p.plan), "from": p.effective_from} for p in c.plan_changes],
        ),
        contract_active=st.contract_active,
        maintenance_current=st.maintenance_current(policy.grace_days),
        maintenance_paid_through=c.paid_through if c else None,
        grace_until=st.grace_until(policy.grace_days),
        in_grace_period=st.in_grace(policy.grace_days),
        refusal=None
        if entitled
        else EntitlementRefusal(
            code="contract_expired" if not st.contract_active else "maintenance_lapsed",
            message=st.contract_problem()
            or f"maintenance was paid through {c.paid_through if c else '-'}",
        ),
        allowed_key_kinds=plan_kinds if entitled else [],
        plan_key_kinds=plan_kinds,
        temporary_key_reasons=[r.value for r in temporary_reasons(plan)],
        quotas=quotas.quota_usage(ctx, st),
        response_targets=support_plan.response_targets(plan or Plan.BASE),
        support_hours=SupportHours(
            region=region.code,
            core_hours=f"{region.opens:%H:%M}-{region.closes:%H:%M} {region.timezone_label}",
            timezone=region.timezone,
            excluding=f"local holidays ({st.customer.holidays})",
            after_hours=support_plan.AFTER_HOURS,
            all_regions=support_plan.support_hours(),
            holidays=st.customer.holidays,
            sev1_cover=support_plan.sev1_cover(plan or Plan.BASE, policy),
            support_phone=ctx.settings.support_phone,
        ),
        root_cause_analysis=support_plan.ROOT_CAUSE_SCOPE[plan or Plan.BASE],
        services=support_plan.plan_services(plan or Plan.BASE),
        policy=PolicySummary(
            dr_window_days_before=policy.dr_window_days_before,
            dr_window_days_after=policy.dr_window_days_after,
            dr_min_lead_days=policy.dr_min_lead_days,
            replacement_overlap_days=policy.replacement_overlap_days,
            temporary_key_days=TEMPORARY_KEY_DAYS,
        ),
    )
