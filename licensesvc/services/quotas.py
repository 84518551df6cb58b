"""Quotas: DR-test keys per contract year, temporary keys active at once per license.

Each unit in use is a row in `quota_slots`; the unique (scope, slot) constraint is the
backstop that keeps a quota from being exceeded even if two app servers decided at once."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError

from licensesvc.models import License, QuotaSlot

from .context import ServiceContext

if TYPE_CHECKING:
    from .entitlements import Standing


@dataclass(frozen=True)
class Quota:
    scope: str
    limit: int
    #: temporary-key slots free up when their key expires (or is revoked)
    frees_on_expiry: bool
    #: what is counted, for messages: "DR-test keys this contract year"
    counts: str


def dr_test_quota(ctx: ServiceContext, st: Standing) -> Quota | None:
    if st.contract is None:
        return None
    year = st.contract_year_start()
    return Quota(
        f"dr_test:contract={st.contract.id}:year={year}",
        ctx.policy.dr_keys_per_contract_year,
        False,
        "DR-test keys this contract year",
    )


def temporary_quota(ctx: ServiceContext, lic: License) -> Quota:
    return Quota(
        f"temporary:license={lic.id}",
        ctx.policy.max_active_temporary_keys,
        True,
        "active temporary keys for this license",
    )


def quota_for(ctx: ServiceContext, lic: License, st: Standing, kind: str) -> Quota | None:
    """Return the quota that a key of `kind` draws on, or None."""
    if kind == "dr_test":
        return dr_test_quota(ctx, st)
    if kind == "temporary":
        return temporary_quota(ctx, lic)
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
            QuotaSlot.key_serial == serial, QuotaSlot.scope.startswith("temporary:")
        )
    )


def quota_usage(ctx: ServiceContext, st: Standing) -> dict[str, Any]:
    """What the entitlement report shows of the quotas."""
    result: dict[str, Any] = {}
    dr = dr_test_quota(ctx, st)
    if dr is not None:
        result["dr_test"] = {
            "used": used(ctx, dr),
            "limit": dr.limit,
            "period_start": st.contract_year_start(),
        }
    result["temporary_per_license"] = {"limit": ctx.policy.max_active_temporary_keys}
    return result
