"""Licenses and customers over time: a license's limits, expiry and hosts change with a reason
(each change is a row of license_changes), a retired license gets no more keys, and a
customer's region and holiday calendar can be changed. Every change is audited."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select

from licensesvc.domain import Region, support_plan, values
from licensesvc.domain.errors import InvalidState, ValidationFailed, require_reason
from licensesvc.domain.hosts import normalize_host
from licensesvc.models import Customer, License, LicenseChange
from licensesvc.platform import audit
from licensesvc.platform.context import ServiceContext
from licensesvc.platform.pagination import DEFAULT_PAGE_SIZE, Page, paginate

from .lookups import get_customer, get_license


def normalize_holidays(code: str) -> str:
    """Return a holiday calendar as stored (`GB-ENG`, `US`). Raises ValidationFailed."""
    try:
        country, subdiv = support_plan.holiday_calendar(code)
    except ValueError as exc:
        raise ValidationFailed(str(exc)) from None
    return country if subdiv is None else f"{country}-{subdiv}"


@dataclass(frozen=True)
class LicenseUpdate:
    """What `update_license` changes; None leaves a field as it is."""

    agents: int | None = None
    jobs: int | None = None
    expires_on: date | None = None
    host: str | None = None
    failover_host: str | None = None


def _get_license(ctx: ServiceContext, license_id: int) -> License:
    return get_license(ctx, license_id)


def update_license(
    ctx: ServiceContext, license_id: int, change: LicenseUpdate, reason: str
) -> License:
    """Change a license's agent or job limit, expiry, host or failover host, with a reason.
    The change is a row of the license's history (each field before and after) and an audit
    record. Keys already issued keep their claims until refreshed (a replacement on the same
    host). Raises NotFound, ValidationFailed (nothing to change, negative limits, bad host,
    failover equal to host, no reason) or InvalidState (retired)."""
    ctx.actor.require_analyst()
    reason = require_reason(reason, "a license change")
    lic = _get_license(ctx, license_id)
    if lic.retired_at is not None:
        raise InvalidState(f"license {lic.id} is retired; it can no longer change")
    wanted: dict[str, Any] = {}
    for name in ("agents", "jobs"):
        value = getattr(change, name)
        if value is not None:
            if value < 0:
                raise ValidationFailed(f"the {name} limit must not be negative")
            wanted[name] = value
    if change.expires_on is not None:
        wanted["expires_on"] = change.expires_on
    if change.host is not None:
        wanted["host"] = normalize_host(change.host)
    if change.failover_host is not None:
        wanted["failover_host"] = normalize_host(change.failover_host, "failover host")
    diff = {
        name: [getattr(lic, name), value]
        for name, value in wanted.items()
        if getattr(lic, name) != value
    }
    if not diff:
        raise ValidationFailed(f"nothing to change: license {lic.id} already has these values")
    host = wanted.get("host", lic.host)
    if wanted.get("failover_host", lic.failover_host) == host:
        raise ValidationFailed("the failover host must differ from the host")
    for name, (_, value) in diff.items():
        setattr(lic, name, value)
    _record_change(ctx, lic, reason, diff)
    audit.append(
        ctx,
        "license.updated",
        "license",
        lic.id,
        customer_id=lic.customer_id,
        reason=reason,
        details={"changes": diff},
    )
    return lic


def _record_change(
    ctx: ServiceContext, lic: License, reason: str, diff: dict[str, list[Any]]
) -> LicenseChange:
    row = LicenseChange(
        at=ctx.now(),
        actor=ctx.actor.label,
        reason=reason,
        changes={k: [_plain(v) for v in pair] for k, pair in diff.items()},
    )
    lic.changes.append(row)
    ctx.session.flush()
    return row


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date) else value


def retire_license(ctx: ServiceContext, license_id: int, reason: str) -> License:
    """Retire a license: it gets no more keys (keys already issued are not revoked; revoke them
    with `key revoke --code contract_ended` if they must stop). Raises NotFound,
    ValidationFailed (no reason) or InvalidState (already retired)."""
    ctx.actor.require_analyst()
    reason = require_reason(reason, "retiring a license")
    lic = _get_license(ctx, license_id)
    if lic.retired_at is not None:
        raise InvalidState(f"license {lic.id} was already retired on {lic.retired_at:%Y-%m-%d}")
    now = ctx.now()
    lic.retired_at = now
    _record_change(ctx, lic, reason, {"retired_at": [None, now.isoformat()]})
    audit.append(
        ctx, "license.retired", "license", lic.id, customer_id=lic.customer_id, reason=reason
    )
    return lic


def page_license_changes(
    ctx: ServiceContext, license_id: int, *, page: int = 1, page_size: int = DEFAULT_PAGE_SIZE
) -> Page[LicenseChange]:
    """A page of the license's change history, newest first. Raises NotFound,
    ValidationFailed for a page outside the limits."""
    lic = _get_license(ctx, license_id)
    query = select(LicenseChange).where(LicenseChange.license_id == lic.id)
    return paginate(ctx.session, query, page, page_size)


def update_customer(
    ctx: ServiceContext,
    customer_id: int,
    *,
    region: str | None = None,
    holidays: str | None = None,
) -> Customer:
    """Change a customer's region (its core hours and time zone) or holiday calendar (`CC` or
    `CC-SUB`, e.g. `GB-ENG`). A new region without a calendar of its own takes the region's
    default when the customer had the old region's default. Raises NotFound or
    ValidationFailed (unknown region or calendar, nothing to change)."""
    ctx.actor.require_analyst()
    customer = get_customer(ctx, customer_id)
    diff: dict[str, list[str]] = {}
    if region is not None:
        if region not in values(Region):
            raise ValidationFailed(
                f"unknown region {region!r}; choose one of {', '.join(values(Region))}"
            )
        if region != customer.region:
            diff["region"] = [customer.region, region]
            old_default = support_plan.REGIONS[customer.region].default_holidays
            if holidays is None and customer.holidays == old_default:
                holidays = support_plan.REGIONS[region].default_holidays
    if holidays is not None:
        calendar = normalize_holidays(holidays)
        if calendar != customer.holidays:
            diff["holidays"] = [customer.holidays, calendar]
    if not diff:
        raise ValidationFailed(f"nothing to change: customer {customer.id} already has these")
    for name, (_, value) in diff.items():
        setattr(customer, name, value)
    ctx.session.flush()
    audit.append(
        ctx,
        "customer.updated",
        "customer",
        customer.id,
        customer_id=customer.id,
        details={"changes": diff},
    )
    return customer
