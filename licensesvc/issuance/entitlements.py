"""Is this customer entitled, right now? The entitlement report, built from the standing
(accounts/standing.py) and the policy table (domain/policy.py)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, TypeVar, cast

import keys
from licensesvc.accounts import list_licenses, service_statuses, standing
from licensesvc.domain import KeyKind, KeyStatus, Plan, TemporaryReason, support_plan
from licensesvc.domain import policy as rules
from licensesvc.domain.policy import (
    TEMPORARY_KEY_DAYS,
    KeyRequestInput,
    plan_key_kinds,
    temporary_reasons,
)
from licensesvc.domain.standing import Standing
from licensesvc.models import IssuedKey, License
from licensesvc.platform import changefeed
from licensesvc.platform.context import ServiceContext
from licensesvc.platform.freshness import FreshnessCache
from licensesvc.readmodels import (
    ClaimDifference,
    ContractRef,
    CustomerRef,
    EntitlementRefusal,
    EntitlementReport,
    KeyOutOfDate,
    KindUnavailable,
    LicenseEntitlement,
    PolicySummary,
    SupportHours,
)

from . import key_requests, quotas

T = TypeVar("T")

#: this process's rendered reports, by (settings, actor, customer, render): see cached_report
_RENDERED: FreshnessCache[Any] = FreshnessCache(4096)


def cached_report(
    ctx: ServiceContext, customer_id: int, render: Callable[[EntitlementReport], T]
) -> T:
    """Return render(entitlement_report(ctx, customer_id)), kept in this process while the
    audit head and the clock's whole second stay the same (platform/freshness.py): a change of
    state anywhere, or the next second, renders it again. Call it on a session that has
    written nothing (a GET's): what it renders must be what every session can read. `render`
    turns the report into what the caller keeps (a module-level function: it is part of the
    key); what it returns is shared, so it must not be changed. The actor is part of the key
    too, so a customer never gets a report that only an analyst may read. Raises NotFound
    (unknown or another customer's id)."""
    # the change feed's state (no statement) or the audit head, and the whole second
    stamp = (changefeed.head_stamp(ctx.session), ctx.now().replace(microsecond=0))
    key = (ctx.settings, ctx.actor, customer_id, render)
    return cast(
        T, _RENDERED.fetch(key, stamp, lambda: render(entitlement_report(ctx, customer_id)))
    )


def entitlement_report(ctx: ServiceContext, customer_id: int) -> EntitlementReport:
    """Return what the customer is entitled to today: contract and maintenance standing, the
    key kinds it may request, quota use, and what the plan promises (severity table, support
    hours, root-cause scope, services). Raises NotFound."""
    st = standing(ctx, customer_id)
    licenses = list_licenses(ctx, customer_id)
    # the facts of every license in two queries, whatever their number: their live keys and
    # the use of every quota the report shows or the policy checks
    live = key_requests.live_keys(ctx, [lic.id for lic in licenses])
    usage = quotas.usage_by_scope(ctx, _scopes(ctx, licenses, st))
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
        quotas=quotas.quota_usage(ctx, st, usage=usage),
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
            host_moves_per_contract_year=policy.host_moves_per_contract_year,
        ),
        licenses=[
            license_entitlement(ctx, lic, st, live.get(lic.id, []), usage) for lic in licenses
        ],
        keys_out_of_date=[
            k for lic in licenses for k in keys_out_of_date(ctx, lic, st, live.get(lic.id, []))
        ],
        premium_services=service_statuses(ctx, st),
    )


def _scopes(ctx: ServiceContext, licenses: list[License], st: Standing) -> list[str]:
    scopes = [quotas.temporary_scope(lic) for lic in licenses]
    dr = quotas.dr_test_quota(ctx, st)
    if dr is not None:
        scopes.append(dr.scope)
    for lic in licenses:
        moves = quotas.host_move_quota(ctx, lic, st)
        if moves is not None:
            scopes.append(moves.scope)
    return scopes


def _sample_request(ctx: ServiceContext, lic: License, st: Standing, kind: KeyKind) -> Any:
    """The plainest request of the kind, as a customer would make it today."""
    if kind is KeyKind.TEMPORARY:
        return KeyRequestInput(lic.id, kind, reason=TemporaryReason.INFRASTRUCTURE_CHANGE)
    if kind is KeyKind.DR_TEST:
        earliest = st.today + timedelta(days=ctx.policy.dr_min_lead_days)
        return KeyRequestInput(lic.id, kind, dr_test_date=earliest)
    return KeyRequestInput(lic.id, kind)


def license_entitlement(
    ctx: ServiceContext,
    lic: License,
    st: Standing,
    live: list[IssuedKey],
    usage: dict[str, tuple[int, datetime | None]],
) -> LicenseEntitlement:
    """What the license can actually have today: each kind of the plan run through the
    policy's checks (a replacement on the same host, the earliest DR-test date, a temporary
    key for an infrastructure change), the quotas left and when they free or reset. `live`
    is the license's keys usable now or later (`key_requests.live_keys`), `usage` the use of
    its quotas (`quotas.usage_by_scope`): the policy runs on them, no query per kind."""
    allowed: list[KeyKind] = []
    unavailable: list[KindUnavailable] = []
    now = ctx.now()
    usable = key_requests.usable_keys(live, now)
    for kind in plan_key_kinds(st.plan):
        req = _sample_request(ctx, lic, st, kind)
        rule = rules.rule_for(req.kind)
        quota = quotas.quota_for(ctx, lic, st, rules.quota_rule(rule, lic, req), usage=usage)
        decision = rules.evaluate(
            ctx.policy,
            lic,
            st,
            req,
            now=now,
            quota=quota,
            quota_in_use=0 if quota is None else usage.get(quota.scope, (0, None))[0],
            keys=usable,
        )
        refusal = decision.refusal
        if refusal is None:
            allowed.append(kind)
        else:
            unavailable.append(KindUnavailable(kind, refusal.code, refusal.detail))
    hosts = sorted({h for k in usable.keys if k.usable_at(now) for h in k.hosts})
    temporary = quotas.temporary_quota(ctx, lic, usage=usage)
    dr = quotas.dr_test_quota(ctx, st)
    moves = quotas.host_move_quota(ctx, lic, st)
    premium = KeyKind.TEMPORARY in plan_key_kinds(st.plan)

    def in_use(quota: quotas.Quota) -> int:
        return usage.get(quota.scope, (0, None))[0]

    return LicenseEntitlement(
        license_id=lic.id,
        product=lic.product,
        host=lic.host,
        failover_host=lic.failover_host,
        expires_on=lic.expires_on,
        allowed_key_kinds=allowed,
        unavailable=unavailable,
        usable_hosts=hosts,
        temporary_slot_frees_at=temporary.frees_at
        if premium and in_use(temporary) >= temporary.limit
        else None,
        dr_tests_left=None if dr is None else max(0, dr.limit - in_use(dr)),
        dr_year_resets_on=None if dr is None else dr.resets_on,
        host_moves_left=None if moves is None else max(0, moves.limit - in_use(moves)),
        host_moves_reset_on=None if moves is None else moves.resets_on,
    )


def keys_out_of_date(
    ctx: ServiceContext, lic: License, st: Standing, live: list[IssuedKey]
) -> list[KeyOutOfDate]:
    """The license's active standard or replacement key, when its signed claims no longer
    match the records (maintenance paid further, limits, expiry or hosts changed); `live` is
    the license's keys usable now or later (`key_requests.live_keys`)."""
    found = []
    primary = {k for k, r in rules.RULES.items() if r.primary}
    rows = [k for k in live if k.status == KeyStatus.ACTIVE and k.kind in primary]
    now = ctx.now()
    for key in rows:
        if key.expires_at is not None and key.expires_at <= now:
            continue
        claims = keys.decode_unverified(key.key_text)
        license_end = rules.key_expiry(lic)
        wanted: list[tuple[str, Any, Any]] = [
            ("maintenance_until", claims.maintenance_until, st.maintenance_until),
            ("agents", claims.agents, lic.agents),
            ("jobs", claims.jobs, lic.jobs),
            ("expires_at", claims.expires_at, license_end),
            (
                "hosts",
                sorted(h for h in (claims.host, claims.failover_host) if h),
                sorted(h for h in (lic.host, lic.failover_host) if h),
            ),
        ]
        differences = [
            ClaimDifference(name, _plain(signed), _plain(record))
            for name, signed, record in wanted
            if record is not None and signed != record
        ]
        if differences:
            found.append(
                KeyOutOfDate(
                    serial=key.serial,
                    license_id=lic.id,
                    kind=KeyKind(key.kind),
                    differences=differences,
                    refresh=(
                        f"request a replacement key on the same host: POST /v1/key-requests "
                        f'{{"license_id": {lic.id}, "kind": "replacement"}} (no host: the '
                        "license stays where it is and no host move is counted)"
                    ),
                )
            )
    return found


def _plain(value: Any) -> Any:
    if hasattr(value, "isoformat"):
        text: str = value.isoformat()
        return text.replace("+00:00", "Z")
    return value
