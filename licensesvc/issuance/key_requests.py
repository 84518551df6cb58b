"""Key requests and their cases: the policy that grants or refuses, dry runs that explain,
escalations with respond-by times, and analysts' decisions.

Concurrency: every decision (request, grant, deny, escalate) locks the customer's row, then the
case row it changes, re-reading the case after the lock (platform/transactions.py documents the
lock order; SELECT ... FOR UPDATE on PostgreSQL, SQLite runs one writer at a time), and quota
slots plus a partial unique index on active primary keys are database constraints that hold
even if the lock were bypassed."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, bindparam, or_, select, true, union_all
from sqlalchemy.orm import aliased, joinedload, selectinload
from sqlalchemy.orm.attributes import set_committed_value

from licensesvc.accounts import get_customer, get_license, standing
from licensesvc.domain import (
    OPEN_CASE_STATUSES,
    PRIMARY_KINDS,
    CaseStatus,
    EscalationReason,
    KeyKind,
    KeyStatus,
    Plan,
    SigningKeyStatus,
    policy,
    support_plan,
    values,
)
from licensesvc.domain.errors import (
    Forbidden,
    InvalidState,
    NotFound,
    OverrideNotPossible,
    ValidationFailed,
    require_reason,
)
from licensesvc.domain.hosts import host_problem
from licensesvc.domain.policy import Check, Decision, KeyRequestInput, LicenseKeys, UsableKey
from licensesvc.domain.standing import Standing, pick_current
from licensesvc.models import Contract, Customer, IssuedKey, KeyRequest, License, SigningKeyRecord
from licensesvc.models.webhooks import WebhookEndpoint
from licensesvc.platform import audit, inputs, metrics, outbox
from licensesvc.platform.context import ServiceContext
from licensesvc.platform.pagination import DEFAULT_PAGE_SIZE, Page, paginate
from licensesvc.platform.transactions import defer_insert_object, lock_customer
from licensesvc.readmodels import CaseView, KeyView

from . import quotas
from .issued_keys import issue_signed_key, new_serial

__all__ = [
    "Check",
    "Decision",
    "KeyRequestInput",
    "KeyRequestOutcome",
    "Refusal",
    "case_view",
    "deny_case",
    "escalate_case",
    "evaluate",
    "explain_request",
    "get_case",
    "grant_case",
    "license_keys",
    "page_cases",
    "request_key",
]

_CASE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"


@dataclass(frozen=True)
class Refusal:
    """Why policy refused a recorded case: its stable `code` (the API's problem code), the
    words, and the case's number so the customer can follow and escalate it."""

    code: str
    message: str
    case_number: str


@dataclass
class KeyRequestOutcome:
    """What a recorded key request came to: the case, granted (with its key) or refused (with
    its refusal), never raised. The caller commits either way: a refused case is on record."""

    case: KeyRequest
    key: IssuedKey | None = None
    decision: Decision | None = None
    overridden: bool = False

    def view(self, now: datetime) -> CaseView:
        """The case as callers show it, with the key it issued (if any) as it stands at now."""
        return CaseView.of(self.case, None if self.key is None else KeyView.of(self.key, now))

    @property
    def refused(self) -> bool:
        return self.case.status == CaseStatus.REFUSED

    @property
    def refusal(self) -> Refusal | None:
        """The refusal of a refused case, else None."""
        if not self.refused:
            return None
        return Refusal(
            self.case.refusal_code or "validation_error",
            self.case.refusal_message or "refused",
            self.case.case_number,
        )


def new_case_number(now: datetime) -> str:
    tail = "".join(secrets.choice(_CASE_ALPHABET) for _ in range(6))
    return f"CS-{now:%Y%m%d}-{tail}"


def _lock_customer(ctx: ServiceContext, customer_id: int) -> Customer | None:
    # PostgreSQL: a row lock held to commit serializes decisions for one customer across app
    # servers. SQLite ignores FOR UPDATE; its transactions begin IMMEDIATE (one writer).
    # The customer is returned as read under the lock: hold it, and reading it again by id
    # (`standing`) finds it in the session (whose identity map holds objects weakly).
    return lock_customer(ctx, customer_id)


def _locked_standing(ctx: ServiceContext, customer_id: int) -> Standing:
    """Lock the customer's row (step 2 of the lock order) and read its standing in the same
    statement: the customer with its contracts, their payments and plan changes (joined; the
    lock is on the customer's row only), as `accounts.standing` would read them in four."""
    customer = lock_customer(ctx, customer_id, *_STANDING_LOADS)
    if customer is None:  # pragma: no cover - the case or license read before names it
        raise NotFound(f"customer {customer_id} not found")
    return _standing_of(ctx, customer)


#: what a decision reads of the customer besides its row: contracts, payments, plan changes
_STANDING_LOADS = (
    joinedload(Customer.contracts).joinedload(Contract.payments),
    joinedload(Customer.contracts).joinedload(Contract.plan_changes),
)


def _standing_of(ctx: ServiceContext, customer: Customer) -> Standing:
    """The customer's standing today (`accounts.standing`), of a customer read with
    `_STANDING_LOADS` (no further statement)."""
    today = support_plan.local_today(support_plan.REGIONS[customer.region], ctx.now())
    return Standing(customer, pick_current(customer.contracts, today), today)


@dataclass(frozen=True)
class _Locked:
    """What `_lock_license` read in its one statement."""

    license: License
    standing: Standing
    signer: SigningKeyRecord | None


def _lock_license(ctx: ServiceContext, license_id: int) -> _Locked:
    """In one statement: the license (a customer actor's own only: another's is NotFound, and
    its customer's row is never locked), its customer's row locked (step 2 of the lock order:
    `FOR UPDATE OF customers`) with what the standing needs (`_STANDING_LOADS`), the active
    signing key a grant signs with (None: there is none) and the active webhook endpoints the
    decision's events go to (kept for `outbox.publish`). Raises NotFound."""
    if ctx.actor.kind == "customer":
        query = _LOCK_OWN_LICENSE
        params = {"license_id": license_id, "customer_id": ctx.actor.customer_id}
    else:
        query, params = _LOCK_LICENSE, {"license_id": license_id}
    rows = ctx.session.execute(query, params).unique().all()
    if not rows:
        raise NotFound(f"license {license_id} not found")
    lic, customer, signer, _endpoint = rows[0]
    outbox.prime_endpoints(ctx.session, customer.id, {r[3] for r in rows if r[3] is not None})
    return _Locked(lic, _standing_of(ctx, customer), signer)


#: `_lock_license`'s statement, built once (its values bound): any license, a customer's own
_LOCK_LICENSE = (
    select(License, Customer, SigningKeyRecord, WebhookEndpoint)
    .join(Customer, Customer.id == License.customer_id)
    .outerjoin(SigningKeyRecord, SigningKeyRecord.status == SigningKeyStatus.ACTIVE)
    .outerjoin(WebhookEndpoint, outbox.endpoints_of(License.customer_id))
    .where(License.id == bindparam("license_id"))
    .options(*_STANDING_LOADS)
    .with_for_update(of=Customer)
    .execution_options(populate_existing=True)
)
_LOCK_OWN_LICENSE = _LOCK_LICENSE.where(License.customer_id == bindparam("customer_id"))


def _lock_case(ctx: ServiceContext, case_number: str) -> KeyRequest:
    """The case, after locking its customer's row and then its own (lock order: customer, case),
    re-read so the status checked is the status as it stands under the lock. Raises NotFound."""
    case = get_case(ctx, case_number)
    _lock_customer(ctx, case.customer_id)
    locked = ctx.session.scalar(
        select(KeyRequest)
        .where(KeyRequest.id == case.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    assert locked is not None  # cases are never deleted
    return locked


def _lock_license_keys(
    ctx: ServiceContext, license_id: int, now: datetime, quota_scope: str | None = None
) -> tuple[list[IssuedKey], list[IssuedKey], quotas.Usage]:
    """Lock and read, in one statement, the license's keys a decision needs (lock order: key
    rows after the customer and the case, before quota slots and the audit chain), as they
    stand under the lock: (its live keys as `live_keys` reads them, its active primary key,
    expired or not: the one a grant may supersede; none or one, by the partial unique index,
    and the use of the quota `quota_scope` as `quotas.usage_by_scope` reads it, unlocked: a
    grant claims its slot under the slots' unique constraint)."""
    usage: quotas.Usage = {}
    params = {"license_id": license_id, "now": now}
    if quota_scope is None:
        rows = list(ctx.session.scalars(_LOCK_KEYS, params))
    else:
        found = ctx.session.execute(_LOCK_KEYS_AND_QUOTA, params | {"scope": quota_scope}).all()
        rows = [r[2] for r in found if r[2] is not None]
        if found and found[0][0]:
            usage[quota_scope] = (found[0][0], found[0][1])
    live = [
        k
        for k in rows
        if k.status == KeyStatus.SUPERSEDED or k.expires_at is None or k.expires_at > now
    ]
    active = [k for k in rows if k.status == KeyStatus.ACTIVE and k.kind in PRIMARY_KINDS]
    return live, active, usage


def _lock_keys_statements() -> tuple[Select[IssuedKey], Select[Any]]:
    """`_lock_license_keys`'s statements, built once (values bound: license_id, now, scope):
    the keys, and the keys joined onto the quota's use (one row: none or many keys)."""
    now = bindparam("now", type_=IssuedKey.expires_at.type)
    unexpired = IssuedKey.expires_at.is_(None) | (IssuedKey.expires_at > now)
    keys_query = (
        select(IssuedKey)
        .where(
            IssuedKey.license_id == bindparam("license_id"),
            or_(
                and_(
                    IssuedKey.status == KeyStatus.ACTIVE,
                    unexpired | IssuedKey.kind.in_(PRIMARY_KINDS),
                ),
                and_(
                    IssuedKey.status == KeyStatus.SUPERSEDED,
                    IssuedKey.usable_until > now,
                    unexpired,
                ),
            ),
        )
        .order_by(IssuedKey.id)
        .with_for_update()
    )
    locked = keys_query.cte("locked").prefix_with("MATERIALIZED", dialect="postgresql")
    key = aliased(IssuedKey, locked)
    use = quotas.usage_query(bindparam("scope"), now).subquery("quota_use")
    with_quota = (
        select(use.c.in_use, use.c.frees_at, key)
        .select_from(use)
        .outerjoin(key, true())
        .order_by(key.id)
        .execution_options(populate_existing=True)
    )
    return keys_query.execution_options(populate_existing=True), with_quota


_LOCK_KEYS, _LOCK_KEYS_AND_QUOTA = _lock_keys_statements()


def license_keys(ctx: ServiceContext, lic: License, now: datetime) -> LicenseKeys:
    """The license's keys usable now or later: active keys before their expiry, superseded
    keys inside their overlap (revoked keys are never usable)."""
    return usable_keys(live_keys(ctx, [lic.id], now).get(lic.id, []), now)


def live_keys(
    ctx: ServiceContext, license_ids: list[int], now: datetime | None = None
) -> dict[int, list[IssuedKey]]:
    """The keys of the licenses that are usable now or later (active before their expiry,
    superseded inside their overlap), by license, in issue order: one query, whatever the
    number of licenses, and none of the superseded keys past their overlap that a license's
    history piles up."""
    found: dict[int, list[IssuedKey]] = {}
    if not license_ids:
        return found
    now = now or ctx.now()
    unexpired = IssuedKey.expires_at.is_(None) | (IssuedKey.expires_at > now)
    # two arms, each read through its partial index (migration 0012): the active keys, and the
    # superseded keys still inside their overlap
    arms = union_all(
        select(IssuedKey).where(
            IssuedKey.license_id.in_(license_ids),
            IssuedKey.status == KeyStatus.ACTIVE,
            unexpired,
        ),
        select(IssuedKey).where(
            IssuedKey.license_id.in_(license_ids),
            IssuedKey.status == KeyStatus.SUPERSEDED,
            IssuedKey.usable_until > now,
            unexpired,
        ),
    ).order_by(IssuedKey.id.name)
    rows = ctx.session.scalars(select(IssuedKey).from_statement(arms))
    for key in rows:
        found.setdefault(key.license_id, []).append(key)
    return found


def usable_keys(rows: list[IssuedKey], now: datetime) -> LicenseKeys:
    """Of a license's keys from `live_keys`, those usable now or later (at `now`)."""
    usable = []
    for key in rows:
        until = key.expires_at
        superseded = key.status == KeyStatus.SUPERSEDED
        if superseded:
            if key.usable_until is None:
                continue
            until = key.usable_until if until is None else min(until, key.usable_until)
        if until is not None and until <= now:
            continue
        usable.append(
            UsableKey(
                serial=key.serial,
                kind=KeyKind(key.kind),
                host=str(key.claims.get("host")),
                failover_host=key.claims.get("failover_host"),
                not_before=key.not_before,
                until=until,
                superseded=superseded,
            )
        )
    return LicenseKeys(tuple(usable))


def evaluate(ctx: ServiceContext, lic: License, st: Standing, req: KeyRequestInput) -> Decision:
    """Gather the facts the policy needs (the quota the request draws on and its use now, the
    license's usable keys) and run policy.evaluate: every check for req with its outcome.
    Writes nothing."""
    return _evaluate(ctx, lic, st, req, lock=False)[0]


def _evaluate(
    ctx: ServiceContext, lic: License, st: Standing, req: KeyRequestInput, *, lock: bool
) -> tuple[Decision, list[IssuedKey], list[IssuedKey]]:
    """`evaluate`, the license's live keys it read (`live_keys`: a grant ends overlaps among
    them without reading them again) and, with `lock`, its active primary key (a grant
    supersedes it), all read in one statement under their row locks (`_lock_license_keys`);
    one statement with the quota's use (without `lock`: two, or one without a quota)."""
    rule = policy.rule_for(req.kind)
    now = ctx.now()
    quota_rule = policy.quota_rule(rule, lic, req)
    if lock:
        scope = quotas.scope_of(ctx, lic, st, quota_rule)
        live, active, usage = _lock_license_keys(ctx, lic.id, now, scope)
        quota = quotas.quota_for(ctx, lic, st, quota_rule, usage=usage)
        in_use = usage.get(scope, (0, None))[0] if scope is not None else 0
    else:
        quota, in_use = quotas.quota_in_use(ctx, lic, st, quota_rule)
        live, active = live_keys(ctx, [lic.id], now).get(lic.id, []), []
    decision = policy.evaluate(
        ctx.policy,
        lic,
        st,
        req,
        now=now,
        quota=quota,
        quota_in_use=in_use,
        keys=usable_keys(live, now),
    )
    return decision, live, active


def _check_request_input(ctx: ServiceContext, req: KeyRequestInput) -> KeyRequestInput:
    """What the edge refuses before anything is recorded: an id out of the database's range,
    a DR-test date outside the range the policy can reach (a year like 9999 would overflow the
    window arithmetic). Returns the request with a host name in lower case, as every host is
    stored (licensesvc/domain/hosts.py); a host that is not one is the policy's
    `request_valid` refusal (the front ends refuse it before: schema, `HOST`, the form)."""
    inputs.check_id(req.license_id, "license_id")
    if req.host is not None and host_problem(req.host) is None:
        req = replace(req, host=req.host.lower())
    if req.dr_test_date is not None:
        earliest, latest = inputs.dr_test_date_range(ctx.policy, ctx.now().date())
        problem = inputs.date_problem(req.dr_test_date, earliest, latest)
        if problem is not None:
            raise ValidationFailed(
                f"dr_test_date {problem}", extra={"errors": {"dr_test_date": [problem]}}
            )
    return req


def _checked_request(
    ctx: ServiceContext, req: KeyRequestInput, override_reason: str | None
) -> tuple[str | None, KeyRequestInput]:
    """The checks of a key request that need no data: its kind, severity and input, and who
    may override. Returns the override's reason, checked, and the request as stored (its host
    in lower case)."""
    if req.kind not in values(KeyKind):
        raise ValidationFailed(
            f"unknown key kind {req.kind!r}; choose one of {', '.join(values(KeyKind))}"
        )
    if req.severity is not None and not 1 <= req.severity <= 4:
        raise ValidationFailed("severity is 1 (critical) to 4 (low)")
    if override_reason is not None:
        ctx.actor.require_analyst()
        override_reason = require_reason(override_reason, "an override")
    return override_reason, _check_request_input(ctx, req)


def _check_requester(ctx: ServiceContext, req: KeyRequestInput) -> None:
    """Who may ask for this kind (after the license is found: NotFound comes first)."""
    forbidden = policy.requester_problem(req.kind, is_analyst=ctx.actor.is_analyst)
    if forbidden is not None:
        raise Forbidden(forbidden)


def _requested_license(
    ctx: ServiceContext, req: KeyRequestInput, override_reason: str | None
) -> tuple[License, str | None, KeyRequestInput]:
    """The checks every key request passes before policy looks at it: the license it names
    (the caller's own) and who may ask for this kind. Returns the license, the override's
    reason, checked, and the request as stored (its host in lower case)."""
    override_reason, req = _checked_request(ctx, req, override_reason)
    lic = get_license(ctx, req.license_id)
    _check_requester(ctx, req)
    return lic, override_reason, req


def explain_request(ctx: ServiceContext, req: KeyRequestInput) -> Decision:
    """The dry run: every policy check of req with its outcome, and what would be issued.
    Writes nothing and takes no lock. Raises what request_key raises before it records."""
    lic, _, req = _requested_license(ctx, req, None)
    with ctx.session.no_autoflush:
        decision = _evaluate(ctx, lic, standing(ctx, lic.customer_id), req, lock=False)[0]
    return decision


def request_key(
    ctx: ServiceContext,
    req: KeyRequestInput,
    *,
    override_reason: str | None = None,
) -> KeyRequestOutcome:
    """Decide a key request and record its case whatever the outcome: a KeyRequestOutcome,
    granted (its `key` set) or refused (its `refusal` set); the caller commits either way.
    An analyst's override_reason grants what policy would refuse, never an impossible request
    (OverrideNotPossible, nothing recorded).

    Raises, recording nothing: NotFound (unknown or another customer's license),
    ValidationFailed (unknown kind, severity out of range, a malformed request), Forbidden (a
    customer asking for a standard key or overriding)."""
    override_reason, req = _checked_request(ctx, req, override_reason)
    # the locking read flushes what the session holds first: it reads the customer's contracts
    # afresh (populate_existing), and a change not yet flushed would be lost
    locked = _lock_license(ctx, req.license_id)
    _check_requester(ctx, req)
    lic, st = locked.license, locked.standing
    with ctx.session.no_autoflush:  # reads only until the case is decided
        decision, live, active = _evaluate(ctx, lic, st, req, lock=True)

    now = ctx.now()
    # the case is added to the session once decided: one INSERT with its outcome
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
        status=CaseStatus.REFUSED,
        created_at=now,
    )
    set_committed_value(case, "updates", [])  # a new case has no status updates yet
    outcome = KeyRequestOutcome(case=case, decision=decision)
    refusal = decision.refusal
    if refusal is not None and override_reason is None:
        _refuse(ctx, case, refusal.code, refusal.detail)
        return outcome
    impossible = decision.impossible
    if impossible is not None:
        # an override bypasses policy, never an impossible request (nothing is recorded)
        raise OverrideNotPossible(impossible.code, impossible.detail)
    key = _grant(
        ctx,
        case,
        lic,
        st,
        decision,
        override_reason=override_reason,
        live=live,
        active=active,
        signer=locked.signer,
    )
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
    defer_insert_object(ctx.session, case)  # as _refuse does, granted
    outbox.key_issued(ctx, key)
    return outcome


def _refuse(ctx: ServiceContext, case: KeyRequest, code: str, message: str) -> None:
    """Refuse a new case (added to the writes at commit by the caller: `request_key`)."""
    case.status = CaseStatus.REFUSED
    case.refusal_code = code
    case.refusal_message = message
    # the new case, as decided: written with the transaction's other writes at commit
    # (platform/transactions.py `defer_insert_object`: on PostgreSQL, with the audit records,
    # one statement)
    defer_insert_object(ctx.session, case)
    metrics.count(ctx.session, metrics.REFUSALS, code=code)
    audit.append(
        ctx,
        "case.refused",
        "case",
        case.case_number,
        customer_id=case.customer_id,
        reason=message,
        details={"code": code, "kind": case.kind, "license_id": case.license_id},
    )
    outbox.case_refused(ctx, case)


def _grant(
    ctx: ServiceContext,
    case: KeyRequest,
    lic: License,
    st: Standing,
    decision: Decision,
    *,
    override_reason: str | None,
    live: list[IssuedKey],
    active: list[IssuedKey],
    signer: SigningKeyRecord | None = None,
) -> IssuedKey | None:
    """Claim the quota slot, apply the kind's host rule (a replacement key for a new host moves
    the license there), then have issuance sign and store the key; `live` are the license's
    keys the decision read and `active` its active primary key, locked (`_evaluate`); `signer`
    the active signing key when read already. None: the quota was full (the case is not
    added)."""
    rule = policy.rule_for(case.kind)
    serial = new_serial()
    if decision.quota is not None and not quotas.take_slot(
        ctx, decision.quota, serial, decision.expires_at, override=override_reason is not None
    ):
        return None
    plan = decision.key_plan(
        rule,
        lic,
        now=ctx.now(),
        requested_host=case.host,
        reason=case.reason,
        dr_test_date=case.dr_test_date,
        case_number=case.case_number,
    )
    hosts = plan.hosts
    if hosts.license_moves_to is not None:
        # "moved server": the license follows the key to its new host
        audit.append(
            ctx,
            "license.host_moved",
            "license",
            lic.id,
            customer_id=lic.customer_id,
            details={
                "from": lic.host,
                "to": hosts.license_moves_to,
                "case_number": case.case_number,
            },
        )
        lic.host = hosts.license_moves_to
    key = issue_signed_key(
        ctx,
        lic,
        st,
        plan,
        serial=serial,
        active=active if rule.primary else None,
        known=live,
        signer_record=signer,
    )
    case.status = CaseStatus.GRANTED
    case.key_serial = key.serial
    case.refusal_code = None
    case.refusal_message = None
    if override_reason is not None:
        case.decided_at = ctx.now()
        case.decided_by = ctx.actor.label
        case.decision_reason = override_reason
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


def page_cases(
    ctx: ServiceContext,
    *,
    customer_id: int | None = None,
    status: str | None = None,
    page: int = 1,
    page_size: int = DEFAULT_PAGE_SIZE,
) -> Page[KeyRequest]:
    """A page of the cases (a customer actor: its own; analysts: every customer's, or
    `customer_id`'s), optionally in one status, newest first (by id, indexed with the customer
    and with the status), each with its status updates loaded. Raises ValidationFailed for a
    page outside the limits."""
    query = select(KeyRequest).options(selectinload(KeyRequest.updates))  # the view shows them
    if ctx.actor.kind == "customer":
        customer_id = ctx.actor.customer_id
    if customer_id is not None:
        get_customer(ctx, customer_id)  # an unknown customer is not_found, not an empty list
        query = query.where(KeyRequest.customer_id == customer_id)
    if status is not None:
        query = query.where(KeyRequest.status == status)
    return paginate(ctx.session, query, page, page_size)


def case_view(ctx: ServiceContext, case: KeyRequest, key: KeyView | None = None) -> CaseView:
    """The case as its reader sees it now: its record, its status updates and the support
    plan's view (overdue, the phone notice for Sev 1 and 2)."""
    support = support_plan.case_support(case, ctx.now(), ctx.settings.support_phone)
    return CaseView.of(case, key, support=support)


def escalate_case(
    ctx: ServiceContext,
    case_number: str,
    note: str | None = None,
    severity: int | None = None,
    reason: str | None = None,
) -> KeyRequest:
    """Escalate a case for an analyst's review, for one of the seed's reasons
    (domain.EscalationReason). A refused case may be escalated (default reason `review_refusal`);
    an escalated case again when it is overdue (`response_time_not_met`, the default then),
    when its severity changes (`criticality_changed`, the default then), or, overdue or on
    time, for a concern about how it is handled (`handling_concern`). The case gets a
    respond-by time (the plan's initial-response target: Sev 1 in hours of the plan's
    after-hours cover, Sev 2-4 in core business hours of the customer's calendar) and a
    next-update time (the table's ongoing-status-update column, counted the same way).
    Raises NotFound, InvalidState, ValidationFailed."""
    if note is not None:
        inputs.check_text(note, "note", multiline=True)
    case = _lock_case(ctx, case_number)
    now = ctx.now()
    if severity is not None and not 1 <= severity <= 4:
        raise ValidationFailed("severity is 1 (critical) to 4 (low)")
    reasons = values(EscalationReason)
    if reason is not None and reason not in reasons:
        raise ValidationFailed(
            f"unknown escalation reason {reason!r}; choose one of {', '.join(reasons)}"
        )
    severity_changed = severity is not None and severity != case.severity
    if case.status == CaseStatus.REFUSED:
        reason = reason or EscalationReason.REVIEW_REFUSAL
    elif case.status == CaseStatus.ESCALATED:
        overdue = support_plan.overdue_reason(case, now) is not None
        concern = reason == EscalationReason.HANDLING_CONCERN
        if not (overdue or severity_changed or concern):
            raise InvalidState(
                f"case {case_number} is already escalated and on time; escalate it again when "
                "it is overdue, its severity changes, or you have a concern about how it is "
                "handled (handling_concern)"
            )
        reason = reason or (
            EscalationReason.CRITICALITY_CHANGED
            if severity_changed
            else EscalationReason.RESPONSE_TIME_NOT_MET
        )
        if reason == EscalationReason.REVIEW_REFUSAL:
            raise InvalidState(f"case {case_number} is already under review")
        if reason == EscalationReason.CRITICALITY_CHANGED and not severity_changed:
            raise ValidationFailed("criticality_changed needs the new severity")
        if reason == EscalationReason.RESPONSE_TIME_NOT_MET and not overdue:
            raise InvalidState(f"case {case_number} is not overdue")
    else:
        raise InvalidState(
            f"case {case_number} is {case.status}; only a refused case, or an escalated one "
            "(overdue, with a changed severity, or for a concern about its handling), can be "
            "escalated"
        )
    if severity is not None:
        case.severity = severity
    st = standing(ctx, case.customer_id)
    region = support_plan.REGIONS[st.customer.region]
    calendar = st.customer.holidays
    plan = st.plan or Plan.BASE
    target = support_plan.initial_target(plan, case.severity)
    case.status = CaseStatus.ESCALATED
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
    outbox.case_escalated(ctx, case, region.timezone)
    return case


def grant_case(ctx: ServiceContext, case_number: str, reason: str) -> KeyRequestOutcome:
    """An analyst grants a refused or escalated case anyway, with a written reason: the key is
    issued and the override lands in the audit trail. Raises NotFound, InvalidState,
    ValidationFailed (no reason), OverrideNotPossible (an impossible request: a missing test
    date, a DR test in the past, a retired license, a window past the license's expiry, no key
    to replace)."""
    ctx.actor.require_analyst()
    reason = require_reason(reason, "granting a case")
    case = _lock_case(ctx, case_number)
    if case.status not in OPEN_CASE_STATUSES:
        raise InvalidState(f"case {case_number} is {case.status}; it can no longer be granted")
    # the refusal stays beside the decision (the grant clears refusal_code)
    case.original_refusal_code = case.refusal_code
    case.original_refusal_message = case.refusal_message
    lic = get_license(ctx, case.license_id)
    st = _locked_standing(ctx, lic.customer_id)  # the lock is held already: read again
    req = KeyRequestInput(
        license_id=lic.id,
        kind=case.kind,
        reason=case.reason,
        dr_test_date=case.dr_test_date,
        host=case.host,
        severity=case.severity,
    )
    decision, live, active = _evaluate(ctx, lic, st, req, lock=True)
    impossible = decision.impossible
    if impossible is not None:
        raise OverrideNotPossible(impossible.code, impossible.detail)
    key = _grant(ctx, case, lic, st, decision, override_reason=reason, live=live, active=active)
    if key is None:  # pragma: no cover - an override always finds a slot
        raise InvalidState("could not claim a quota slot")
    case.decided_at = ctx.now()
    case.decided_by = ctx.actor.label
    case.decision_reason = reason
    ctx.session.flush()
    outbox.case_decided(ctx, case, key)
    return KeyRequestOutcome(case=case, key=key, decision=decision, overridden=True)


def deny_case(ctx: ServiceContext, case_number: str, reason: str) -> KeyRequest:
    """An analyst upholds a refusal, with a written reason. Raises NotFound, InvalidState,
    ValidationFailed (no reason)."""
    ctx.actor.require_analyst()
    reason = require_reason(reason, "denying a case")
    case = _lock_case(ctx, case_number)
    if case.status not in OPEN_CASE_STATUSES:
        raise InvalidState(f"case {case_number} is {case.status}; it can no longer be denied")
    case.original_refusal_code = case.refusal_code
    case.original_refusal_message = case.refusal_message
    case.status = CaseStatus.DENIED
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
    outbox.case_decided(ctx, case)
    return case
