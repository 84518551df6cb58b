"""Quotas: DR-test keys per contract year, temporary keys active at once per license, host
moves per license and contract year.

Each unit in use is a row in `quota_slots`; the unique (scope, slot) constraint is the
backstop that keeps a quota from being exceeded even if two app servers decided at once."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Select, delete, func, select
from sqlalchemy.exc import IntegrityError

from licensesvc.domain import KeyKind
from licensesvc.domain.policy import Quota, QuotaRule
from licensesvc.domain.standing import Standing
from licensesvc.models import License, QuotaSlot
from licensesvc.platform.context import ServiceContext
from licensesvc.readmodels import DrTestQuotaUse, QuotaReport, TemporaryQuotaLimit

#: the use of quotas by scope: (units in use now, earliest expiry still ahead)
Usage = dict[str, tuple[int, datetime | None]]

__all__ = ["Quota", "quota_for", "quota_in_use", "release_slot", "take_slot", "used"]


def dr_test_quota(ctx: ServiceContext, st: Standing) -> Quota | None:
    if st.contract is None:
        return None
    year = st.contract_year_start()
    return Quota(
        f"{KeyKind.DR_TEST}:contract={st.contract.id}:year={year}",
        ctx.policy.dr_keys_per_contract_year,
        False,
        "DR-test keys this contract year",
        resets_on=st.next_contract_year_start(),
    )


def temporary_scope(lic: License) -> str:
    return f"{KeyKind.TEMPORARY}:license={lic.id}"


def temporary_quota(
    ctx: ServiceContext,
    lic: License,
    *,
    usage: Usage | None = None,
) -> Quota:
    """The license's temporary-key quota; `usage` (from `usage_by_scope`) saves its query."""
    scope = temporary_scope(lic)
    if usage is not None:
        frees_at = usage.get(scope, (0, None))[1]
    else:
        frees_at = ctx.session.scalar(
            select(func.min(QuotaSlot.expires_at)).where(
                QuotaSlot.scope == scope, QuotaSlot.expires_at > ctx.now()
            )
        )
    return Quota(
        scope,
        ctx.policy.max_active_temporary_keys,
        True,
        "active temporary keys for this license",
        frees_at=frees_at,
    )


def host_move_quota(ctx: ServiceContext, lic: License, st: Standing) -> Quota | None:
    """Moves of the license to a new host in this contract year (the first move counts)."""
    if st.contract is None:
        return None
    return Quota(
        f"host_move:license={lic.id}:contract={st.contract.id}:year={st.contract_year_start()}",
        ctx.policy.host_moves_per_contract_year,
        False,
        "host moves of this license this contract year",
        resets_on=st.next_contract_year_start(),
    )


def quota_for(
    ctx: ServiceContext,
    lic: License,
    st: Standing,
    rule: QuotaRule | None,
    *,
    usage: Usage | None = None,
) -> Quota | None:
    """Return the quota that a policy QuotaRule resolves to for lic, or None."""
    if rule is QuotaRule.DR_TESTS_PER_CONTRACT_YEAR:
        return dr_test_quota(ctx, st)
    if rule is QuotaRule.ACTIVE_TEMPORARY_PER_LICENSE:
        return temporary_quota(ctx, lic, usage=usage)
    if rule is QuotaRule.HOST_MOVES_PER_CONTRACT_YEAR:
        return host_move_quota(ctx, lic, st)
    return None


def used(ctx: ServiceContext, quota: Quota) -> int:
    """How many units of the quota are in use now."""
    count = ctx.session.scalar(
        select(func.count())
        .select_from(QuotaSlot)
        .where(
            QuotaSlot.scope == quota.scope,
            QuotaSlot.expires_at.is_(None) | (QuotaSlot.expires_at > ctx.now()),
        )
    )
    return count or 0


def quota_in_use(
    ctx: ServiceContext, lic: License, st: Standing, rule: QuotaRule | None
) -> tuple[Quota | None, int]:
    """The quota `rule` resolves to for lic (`quota_for`) and how many of its units are in use
    now (`used`), in one query (none without a quota)."""
    if rule is QuotaRule.ACTIVE_TEMPORARY_PER_LICENSE:
        scope = temporary_scope(lic)
        usage = usage_by_scope(ctx, [scope])
        return temporary_quota(ctx, lic, usage=usage), usage.get(scope, (0, None))[0]
    quota = quota_for(ctx, lic, st, rule)
    return quota, (used(ctx, quota) if quota is not None else 0)


def scope_of(ctx: ServiceContext, lic: License, st: Standing, rule: QuotaRule | None) -> str | None:
    """The scope of the quota `rule` resolves to for lic (None: no quota), read from nothing."""
    quota = quota_for(ctx, lic, st, rule, usage={})
    return None if quota is None else quota.scope


def usage_query(scope: Any, now: Any) -> Select[int, datetime | None]:
    """One row: the units of the scope in use at now (as `used` counts them) and the earliest
    expiry still ahead; for a caller that reads it with other rows in one statement (scope and
    now: values or bound parameters)."""
    return select(
        func.count().label("in_use"), func.min(QuotaSlot.expires_at).label("frees_at")
    ).where(
        QuotaSlot.scope == scope,
        QuotaSlot.expires_at.is_(None) | (QuotaSlot.expires_at > now),
    )


def usage_by_scope(ctx: ServiceContext, scopes: list[str]) -> Usage:
    """For each scope: the units in use now (as `used` counts them) and the earliest expiry
    still ahead (when the next one frees), in one query; scopes with none in use are absent."""
    if not scopes:
        return {}
    now = ctx.now()
    rows = ctx.session.execute(
        select(QuotaSlot.scope, func.count(), func.min(QuotaSlot.expires_at))
        .where(
            QuotaSlot.scope.in_(sorted(set(scopes))),
            QuotaSlot.expires_at.is_(None) | (QuotaSlot.expires_at > now),
        )
        .group_by(QuotaSlot.scope)
    )
    return {scope: (count, frees_at) for scope, count, frees_at in rows}


def take_slot(
    ctx: ServiceContext,
    quota: Quota,
    serial: str,
    expires_at: datetime | None,
    *,
    override: bool,
) -> bool:
    """Claim a free unit of the quota for the key `serial`; False when the quota is full (an
    analyst's override takes one beyond the limit)."""
    ctx.session.execute(
        delete(QuotaSlot).where(
            QuotaSlot.scope == quota.scope,
            QuotaSlot.expires_at.is_not(None),
            QuotaSlot.expires_at <= ctx.now(),
        )
    )
    taken = set(ctx.session.scalars(select(QuotaSlot.slot).where(QuotaSlot.scope == quota.scope)))
    free = [n for n in range(1, quota.limit + 1) if n not in taken]
    if not free:
        if not override:
            return False
        free = [max(taken | {quota.limit}) + 1]
    try:
        with ctx.session.begin_nested():
            ctx.session.add(
                QuotaSlot(
                    scope=quota.scope,
                    slot=free[0],
                    key_serial=serial,
                    expires_at=expires_at if quota.frees_on_expiry else None,
                )
            )
    except IntegrityError:
        return False
    return True


def release_slot(ctx: ServiceContext, serial: str) -> None:
    """Free the slot a revoked temporary key held (a DR-test key issued stays counted)."""
    ctx.session.execute(
        delete(QuotaSlot).where(
            QuotaSlot.key_serial == serial, QuotaSlot.scope.startswith(f"{KeyKind.TEMPORARY}:")
        )
    )


def quota_usage(
    ctx: ServiceContext,
    st: Standing,
    *,
    usage: Usage | None = None,
) -> QuotaReport:
    """What the entitlement report shows of the quotas; `usage` (from `usage_by_scope`, with
    the DR-test scope) saves the query."""
    dr = dr_test_quota(ctx, st)
    in_use = 0
    if dr is not None:
        in_use = usage.get(dr.scope, (0, None))[0] if usage is not None else used(ctx, dr)
    return QuotaReport(
        dr_test=None
        if dr is None
        else DrTestQuotaUse(in_use, dr.limit, st.contract_year_start(), dr.resets_on),
        temporary_per_license=TemporaryQuotaLimit(ctx.policy.max_active_temporary_keys),
        host_moves_per_contract_year=ctx.policy.host_moves_per_contract_year,
    )
