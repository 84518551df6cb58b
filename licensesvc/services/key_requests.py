"""Key requests and their cases: the policy that grants or refuses, dry runs that explain,
escalations with respond-by times, and analysts' decisions.

Concurrency: a decision locks the customer's row (SELECT ... FOR UPDATE on PostgreSQL; SQLite
runs one writer at a time), and quota slots plus a partial unique index on active primary keys
are database constraints that hold even if the lock were bypassed."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import select

from licensesvc.models import (
    ESCALATION_REASONS,
    KEY_KINDS,
    Customer,
    IssuedKey,
    KeyRequest,
    License,
)

from . import audit, quotas, support_plan
from .context import ServiceContext
from .customers import get_license
from .entitlements import (
    PLAN_KEY_KINDS,
    TEMPORARY_KEY_DAYS,
    TEMPORARY_REASONS,
    Standing,
    standing,
)
from .errors import (
    REFUSAL_ORDER,
    Forbidden,
    InvalidState,
    KeyRequestRefused,
    NotFound,
    ValidationFailed,
    require_reason,
)
from .issued_keys import issue_signed_key
from .licenses import retired_problem

_HOST_RE = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9.\-_]{0,198}[A-Za-z0-9])?$")
_CASE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"


@dataclass(frozen=True)
class KeyRequestInput:
    license_id: int
    kind: str
    reason: str | None = None
    dr_test_date: date | None = None
    host: str | None = None
    severity: int | None = None


@dataclass(frozen=True)
class Check:
    """One policy check and its outcome, as a dry run lists it."""

    name: str
    code: str  # the refusal code this check produces
    passed: bool
    detail: str

    def as_dict(self) -> dict[str, Any]:
        return {"check": self.name, "code": self.code, "passed": self.passed, "detail": self.detail}


@dataclass(frozen=True)
class Decision:
    checks: tuple[Check, ...]
    not_before: datetime | None = None
    expires_at: datetime | None = None
    quota: quotas.Quota | None = None

    @property
    def refusal(self) -> Check | None:
        """The failing check that wins by the documented precedence, or None."""
        failing = [c for c in self.checks if not c.passed]
        if not failing:
            return None
        return min(failing, key=lambda c: REFUSAL_ORDER.index(c.code))

    @property
    def granted(self) -> bool:
        return self.refusal is None


@dataclass
class KeyRequestOutcome:
    case: KeyRequest
    key: IssuedKey | None = None
    decision: Decision | None = None
    overridden: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    def raise_if_refused(self) -> None:
        """Raise KeyRequestRefused for a refused case (call after committing the case)."""
        if self.case.status == "refused":
            raise KeyRequestRefused(
                self.case.refusal_code or "validation_error",
                self.case.refusal_message or "refused",
                self.case.case_number,
            )


def new_case_number(now: datetime) -> str:
    tail = "".join(secrets.choice(_CASE_ALPHABET) for _ in range(6))
    return f"CS-{now:%Y%m%d}-{tail}"


def _lock_customer(ctx: ServiceContext, customer_id: int) -> None:
    # PostgreSQL: a row lock held to commit serializes decisions for one customer across app
    # servers. SQLite ignores FOR UPDATE; its transactions begin IMMEDIATE (one writer).
    ctx.session.execute(select(Customer.id).where(Customer.id == customer_id).with_for_update())


def _utc_midnight(d: date) -> datetime:
    return datetime(d.year, d.month, d.day, tzinfo=UTC)


def evaluate(ctx: ServiceContext, lic: License, st: Standing, req: KeyRequestInput) -> Decision:
    """Run every policy check for req and return the decision (nothing is written)."""
    policy = ctx.policy
    now = ctx.now()
    today = st.today
    checks: list[Check] = []

    problem = st.contract_problem()
    checks.append(
        Check(
            "contract_active",
            "contract_expired",
            problem is None,
            problem or f"contract {st.contract.id} runs until {st.contract.end_date}",  # type: ignore[union-attr]
        )
    )

    if st.contract is None:
        checks.append(Check("maintenance_current", "maintenance_lapsed", False, "no contract"))
    else:
        grace_until = st.grace_until(policy.grace_days)
        ok = st.maintenance_current(policy.grace_days)
        paid = st.contract.paid_through
        if ok and paid >= today:
            detail = f"maintenance is paid through {paid}"
        elif ok:
            detail = f"maintenance was paid through {paid}; in grace until {grace_until}"
        else:
            detail = f"maintenance was paid through {paid}" + (
                f" (grace ended {grace_until})" if grace_until != paid else ""
            )
        checks.append(Check("maintenance_current", "maintenance_lapsed", ok, detail))

    plan = st.plan
    if req.kind == "standard":
        eligible, detail = True, "standard keys are issued by support analysts"
    elif plan is None:
        eligible, detail = False, "no plan on record"
    else:
        eligible = req.kind in PLAN_KEY_KINDS[plan]
        detail = (
            f"the {plan} plan includes {req.kind} keys"
            if eligible
            else f"{req.kind} keys are a Premium plan service; this contract is {plan}"
        )
    checks.append(Check("plan_eligible", "plan_not_eligible", eligible, detail))

    problems = _request_problems(lic, req, today)
    checks.append(
        Check(
            "request_valid",
            "validation_error",
            not problems,
            "; ".join(problems) or "the request names everything its kind needs",
        )
    )

    not_before: datetime | None = now
    expires_at: datetime | None = None
    window_ok, window_detail = True, "no date window applies"
    if req.kind in ("standard", "replacement"):
        if lic.expires_on is not None:
            expires_at = _utc_midnight(lic.expires_on + timedelta(days=1)) - timedelta(seconds=1)
        window_detail = (
            f"valid until the license expires ({lic.expires_on})"
            if lic.expires_on
            else "perpetual, like the license"
        )
    elif req.kind == "temporary":
        expires_at = now + timedelta(days=TEMPORARY_KEY_DAYS)
        window_detail = f"valid {TEMPORARY_KEY_DAYS} days, until {expires_at:%Y-%m-%d %H:%M}Z"
        if (
            st.contract is not None
            and not policy.temporary_may_outlive_contract
            and expires_at.date() > st.contract.end_date
        ):
            window_ok = False
            window_detail = (
                f"a {TEMPORARY_KEY_DAYS}-day key would run until {expires_at.date()}, past the "
                f"contract end on {st.contract.end_date}"
            )
    elif req.kind == "dr_test" and req.dr_test_date is not None:
        test = req.dr_test_date
        earliest = today + timedelta(days=policy.dr_min_lead_days)
        latest = today + timedelta(days=policy.dr_max_lead_days)
        not_before = _utc_midnight(test - timedelta(days=policy.dr_window_days_before))
        expires_at = _utc_midnight(test + timedelta(days=policy.dr_window_days_after + 1)) - (
            timedelta(seconds=1)
        )
        if test < earliest:
            window_ok = False
            window_detail = (
                f"DR-test keys are requested in advance: the test date {test} must be on or "
                f"after {earliest}"
            )
        elif test > latest:
            window_ok = False
            window_detail = (
                f"the test date {test} is more than {policy.dr_max_lead_days} days ahead"
            )
        else:
            window_detail = (
                f"valid from {not_before:%Y-%m-%d} to {expires_at:%Y-%m-%d} around the test "
                f"on {test}"
            )
    checks.append(Check("window_valid", "invalid_window", window_ok, window_detail))

    quota = quotas.quota_for(ctx, lic, st, req.kind)
    if quota is None:
        checks.append(Check("quota_available", "quota_exceeded", True, "no quota applies"))
    else:
        in_use = quotas.used(ctx, quota)
        checks.append(
            Check(
                "quota_available",
                "quota_exceeded",
                in_use < quota.limit,
                f"{in_use} of {quota.limit} {quota.counts} used",
            )
        )
    return Decision(tuple(checks), not_before, expires_at, quota)


def _request_problems(lic: License, req: KeyRequestInput, today: date) -> list[str]:
    problems = []
    if req.kind == "temporary":
        if not req.reason:
            problems.append("a temporary key needs a reason: " + ", ".join(TEMPORARY_REASONS))
        elif req.reason not in TEMPORARY_REASONS:
            problems.append(
                f"unknown reason {req.reason!r}; choose one of " + ", ".join(TEMPORARY_REASONS)
            )
    if req.kind == "dr_test" and req.dr_test_date is None:
        problems.append("a DR-test key needs the test date (dr_test_date)")
    if req.host is not None and not _HOST_RE.match(req.host):
        problems.append(f"{req.host!r} is not a host name")
    if lic.expires_on is not None and lic.expires_on < today:
        problems.append(f"license {lic.id} expired on {lic.expires_on}")
    retired = retired_problem(lic)
    if retired is not None:
        problems.append(retired)
    return problems


def request_key(
    ctx: ServiceContext,
    req: KeyRequestInput,
    *,
    dry_run: bool = False,
    override_reason: str | None = None,
) -> KeyRequestOutcome | Decision:
    """Decide a key request. A dry run returns the Decision (every check with its outcome) and
    writes nothing. Otherwise a case is recorded whatever the outcome and returned in a
    KeyRequestOutcome with the issued key when granted; the caller commits, then calls
    `raise_if_refused()`. An analyst's override_reason grants what policy would refuse.

    Raises NotFound (unknown or another customer's license), ValidationFailed (unknown kind,
    severity out of range), Forbidden (a customer asking for a standard key or overriding)."""
    if req.kind not in KEY_KINDS:
        raise ValidationFailed(
            f"unknown key kind {req.kind!r}; choose one of {', '.join(KEY_KINDS)}"
        )
    if req.severity is not None and not 1 <= req.severity <= 4:
        raise ValidationFailed("severity is 1 (critical) to 4 (low)")
    if override_reason is not None:
        ctx.actor.require_analyst()
        override_reason = require_reason(override_reason, "an override")
    lic = get_license(ctx, req.license_id)
    if req.kind == "standard" and not ctx.actor.is_analyst:
        raise Forbidden("standard keys are issued by support analysts; request a replacement key")

    if not dry_run:
        _lock_customer(ctx, lic.customer_id)
    st = standing(ctx, lic.customer_id)
    decision = evaluate(ctx, lic, st, req)
    if dry_run:
        return decision

    now = ctx.now()
    case = KeyRequest(
        case_number=new_case_number(now),
        customer_id=lic.customer_id,
        license_id=lic.id,
        contract_id=st.contract.id if st.contract else None,
        kind=req.kind,
        reason=req.reason,
        dr_test_date=req.dr_test_date,
        host=req.host,
        severity=req.severity or ctx.policy.default_severity,
        requested_by=ctx.actor.label,
        status="refused",
        created_at=now,
    )
    ctx.session.add(case)
    ctx.session.flush()
    outcome = KeyRequestOutcome(case=case, decision=decision)
    refusal = decision.refusal
    if refusal is not None and override_reason is None:
        _refuse(ctx, case, refusal.code, refusal.detail)
        return outcome
    if refusal is not None and refusal.code == "validation_error":
        # an override grants what policy refuses, but cannot invent a missing test date
        raise ValidationFailed(f"cannot issue this key: {refusal.detail}")
    key = _grant(ctx, case, lic, st, decision, override_reason=override_reason)
    if key is None:
        _refuse(
            ctx,
            case,
            "quota_exceeded",
            "the quota was used up by a request decided at the same time",
        )
        return outcome
    outcome.key = key
    outcome.overridden = refusal is not None
    return outcome


def _refuse(ctx: ServiceContext, case: KeyRequest, code: str, message: str) -> None:
    case.status = "refused"
    case.refusal_code = code
    case.refusal_message = message
    ctx.session.flush()
    audit.append(
        ctx,
        "case.refused",
        "case",
        case.case_number,
        customer_id=case.customer_id,
        reason=message,
        details={"code": code, "kind": case.kind, "license_id": case.license_id},
    )


def _grant(
    ctx: ServiceContext,
    case: KeyRequest,
    lic: License,
    st: Standing,
    decision: Decision,
    *,
    override_reason: str | None,
) -> IssuedKey | None:
    def claim_quota(serial: str, expires_at: datetime | None) -> bool:
        if decision.quota is None:
            return True
        return quotas.take_slot(
            ctx, decision.quota, serial, expires_at, override=override_reason is not None
        )

    key = issue_signed_key(
        ctx,
        lic,
        st,
        kind=case.kind,
        case_number=case.case_number,
        reason=case.reason,
        dr_test_date=case.dr_test_date,
        host=case.host,
        not_before=decision.not_before or ctx.now(),
        expires_at=decision.expires_at,
        claim_quota=claim_quota,
    )
    if key is None:
        return None
    case.status = "granted"
    case.key_serial = key.serial
    case.refusal_code = None
    case.refusal_message = None
    if override_reason is not None:
        case.decided_at = ctx.now()
        case.decided_by = ctx.actor.label
        case.decision_reason = override_reason
    ctx.session.flush()
    overridden = decision.refusal
    audit.append(
        ctx,
        "case.overridden" if override_reason and overridden else "case.granted",
        "case",
        case.case_number,
        customer_id=case.customer_id,
        reason=override_reason,
        details={
            "kind": case.kind,
            "serial": key.serial,
            "overrode": overridden.code if overridden else None,
        },
    )
    return key


def get_case(ctx: ServiceContext, case_number: str) -> KeyRequest:
    """Return the case. Raises NotFound (also for another customer's case)."""
    case = ctx.session.scalar(select(KeyRequest).where(KeyRequest.case_number == case_number))
    if case is None:
        raise NotFound(f"case {case_number} not found")
    ctx.actor.check_customer(case.customer_id, f"case {case_number}")
    return case


def list_cases(
    ctx: ServiceContext,
    *,
    customer_id: int | None = None,
    status: str | None = None,
    limit: int = 200,
) -> list[KeyRequest]:
    query = select(KeyRequest).order_by(KeyRequest.id.desc()).limit(limit)
    if ctx.actor.kind == "customer":
        customer_id = ctx.actor.customer_id
    if customer_id is not None:
        query = query.where(KeyRequest.customer_id == customer_id)
    if status is not None:
        query = query.where(KeyRequest.status == status)
    return list(ctx.session.scalars(query))


def escalate_case(
    ctx: ServiceContext,
    case_number: str,
    note: str | None = None,
    severity: int | None = None,
    reason: str | None = None,
) -> KeyRequest:
    """Escalate a case for an analyst's review, for one of the seed's reasons
    (ESCALATION_REASONS). A refused case may be escalated (default reason `review_refusal`);
    an escalated case again only when it is overdue (`response_time_not_met`, the default then)
    or its severity changes (`criticality_changed`, the default then). The case gets a
    respond-by time (the plan's initial-response target: Sev 1 in hours of the plan's
    after-hours cover, Sev 2-4 in core business hours of the customer's calendar) and a
    next-update time (the table's ongoing-status-update column, counted the same way).
    Raises NotFound, InvalidState, ValidationFailed."""
    case = get_case(ctx, case_number)
    now = ctx.now()
    if severity is not None and not 1 <= severity <= 4:
        raise ValidationFailed("severity is 1 (critical) to 4 (low)")
    if reason is not None and reason not in ESCALATION_REASONS:
        raise ValidationFailed(
            f"unknown escalation reason {reason!r}; choose one of {', '.join(ESCALATION_REASONS)}"
        )
    severity_changed = severity is not None and severity != case.severity
    if case.status == "refused":
        reason = reason or "review_refusal"
    elif case.status == "escalated":
        overdue = support_plan.overdue_reason(case, now) is not None
        if not (overdue or severity_changed):
            raise InvalidState(
                f"case {case_number} is already escalated and on time; escalate it again when "
                "it is overdue or its severity changes"
            )
        reason = reason or ("criticality_changed" if severity_changed else "response_time_not_met")
        if reason == "review_refusal":
            raise InvalidState(f"case {case_number} is already under review")
        if reason == "criticality_changed" and not severity_changed:
            raise ValidationFailed("criticality_changed needs the new severity")
        if reason == "response_time_not_met" and not overdue:
            raise InvalidState(f"case {case_number} is not overdue")
    else:
        raise InvalidState(
            f"case {case_number} is {case.status}; only a refused case, or an escalated one "
            "that is overdue or changed severity, can be escalated"
        )
    if severity is not None:
        case.severity = severity
    st = standing(ctx, case.customer_id)
    region = support_plan.REGIONS[st.customer.region]
    calendar = st.customer.holidays
    plan = st.plan or "base"
    target = support_plan.initial_target(plan, case.severity)
    case.status = "escalated"
    case.escalated_at = now
    case.escalation_note = note
    case.escalation_reason = reason
    case.responded_at = None
    case.respond_by = support_plan.respond_by(
        now, plan, case.severity, region, calendar, ctx.policy
    )
    case.next_update_due = support_plan.next_update_due(
        now, plan, case.severity, region, calendar, ctx.policy
    )
    ctx.session.flush()
    audit.append(
        ctx,
        "case.escalated",
        "case",
        case.case_number,
        customer_id=case.customer_id,
        reason=note,
        details={
            "escalation_reason": reason,
            "severity": case.severity,
            "respond_by": case.respond_by,
            "next_update_due": case.next_update_due,
            "target": target.text(),
            "region": region.code,
            "holidays": calendar,
        },
    )
    return case


def grant_case(ctx: ServiceContext, case_number: str, reason: str) -> KeyRequestOutcome:
    """An analyst grants a refused or escalated case anyway, with a written reason: the key is
    issued and the override lands in the audit trail. Raises NotFound, InvalidState,
    ValidationFailed (no reason, or the request lacks what the key needs)."""
    ctx.actor.require_analyst()
    reason = require_reason(reason, "granting a case")
    case = get_case(ctx, case_number)
    if case.status not in ("refused", "escalated"):
        raise InvalidState(f"case {case_number} is {case.status}; it can no longer be granted")
    # the refusal stays beside the decision (the grant clears refusal_code)
    case.original_refusal_code = case.refusal_code
    case.original_refusal_message = case.refusal_message
    lic = get_license(ctx, case.license_id)
    _lock_customer(ctx, lic.customer_id)
    st = standing(ctx, lic.customer_id)
    req = KeyRequestInput(
        license_id=lic.id,
        kind=case.kind,
        reason=case.reason,
        dr_test_date=case.dr_test_date,
        host=case.host,
        severity=case.severity,
    )
    decision = evaluate(ctx, lic, st, req)
    refusal = decision.refusal
    if refusal is not None and refusal.code == "validation_error":
        raise ValidationFailed(f"cannot issue this key: {refusal.detail}")
    key = _grant(ctx, case, lic, st, decision, override_reason=reason)
    if key is None:  # pragma: no cover - an override always finds a slot
        raise InvalidState("could not claim a quota slot")
    case.decided_at = ctx.now()
    case.decided_by = ctx.actor.label
    case.decision_reason = reason
    ctx.session.flush()
    return KeyRequestOutcome(case=case, key=key, decision=decision, overridden=True)


def deny_case(ctx: ServiceContext, case_number: str, reason: str) -> KeyRequest:
    """An analyst upholds a refusal, with a written reason. Raises NotFound, InvalidState,
    ValidationFailed (no reason)."""
    ctx.actor.require_analyst()
    reason = require_reason(reason, "denying a case")
    case = get_case(ctx, case_number)
    if case.status not in ("refused", "escalated"):
        raise InvalidState(f"case {case_number} is {case.status}; it can no longer be denied")
    case.original_refusal_code = case.refusal_code
    case.original_refusal_message = case.refusal_message
    case.status = "denied"
    case.decided_at = ctx.now()
    case.decided_by = ctx.actor.label
    case.decision_reason = reason
    ctx.session.flush()
    audit.append(
        ctx,
        "case.denied",
        "case",
        case.case_number,
        customer_id=case.customer_id,
        reason=reason,
        details={"refusal_code": case.refusal_code},
    )
    return case
