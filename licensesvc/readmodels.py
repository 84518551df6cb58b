"""Read models: frozen dataclasses of what callers show. Services build them; the API's
schemas dump them, the CLI prints them (`as_dict()` is the JSON the CLI prints), the portal
renders them. No caller reshapes a record of its own.

Built from ORM records by `of(...)` constructors here, so formatting rules (a key's effective
status, which hosts a key names) live in one place. Imports nothing of services: every service
may return these (they import only the vocabularies, the models and the policy's types)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import keys
from licensesvc.domain import (
    CaseStatus,
    EffectiveKeyStatus,
    KeyKind,
    KeyStatus,
    Plan,
    PremiumService,
    Region,
    ServiceRecordStatus,
    SigningKeyStatus,
    support_plan,
)
from licensesvc.domain.policy import Check, Decision
from licensesvc.models import (
    ApiToken,
    AuditRecord,
    CaseUpdate,
    Contract,
    ContractPayment,
    Customer,
    IssuedKey,
    KeyRequest,
    License,
    LicenseChange,
    SigningKeyRecord,
    User,
)


def effective_status(key: IssuedKey, now: datetime) -> EffectiveKeyStatus:
    """The key's status as a user sees it: revoked, superseded, expired or active."""
    if key.status in (KeyStatus.REVOKED, KeyStatus.SUPERSEDED):
        return EffectiveKeyStatus(key.status)
    if key.expires_at is not None and key.expires_at < now:
        return EffectiveKeyStatus.EXPIRED
    return EffectiveKeyStatus.ACTIVE


class ReadModel:
    """Mixin: the read model as plain data (dicts and lists, in field order)."""

    def as_dict(self) -> dict[str, Any]:
        assert dataclasses.is_dataclass(self)
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class LicenseView(ReadModel):
    id: int
    customer_id: int
    product: str
    agents: int
    jobs: int
    host: str
    failover_host: str | None
    expires_on: date | None  # None: perpetual
    created_at: datetime

    @classmethod
    def of(cls, lic: License) -> LicenseView:
        return cls(
            lic.id,
            lic.customer_id,
            lic.product,
            lic.agents,
            lic.jobs,
            lic.host,
            lic.failover_host,
            lic.expires_on,
            lic.created_at,
        )


@dataclass(frozen=True)
class LicenseChangeView:
    """One change of a license: when, by whom, why, and each field's [before, after]."""

    at: datetime
    actor: str
    reason: str
    changes: dict[str, Any]

    @classmethod
    def of(cls, c: LicenseChange) -> LicenseChangeView:
        return cls(c.at, c.actor, c.reason, c.changes)


@dataclass(frozen=True)
class LicenseHistoryView(LicenseView):
    """A license with its retirement and its change history, oldest change first."""

    retired_at: datetime | None
    changes: tuple[LicenseChangeView, ...]

    @classmethod
    def of(cls, lic: License) -> LicenseHistoryView:
        base = LicenseView.of(lic)
        return cls(
            **{f.name: getattr(base, f.name) for f in dataclasses.fields(LicenseView)},
            retired_at=lic.retired_at,
            changes=tuple(LicenseChangeView.of(c) for c in lic.changes),
        )


@dataclass(frozen=True)
class ContractPaymentView(ReadModel):
    """One entry of a contract's payment ledger, as the ledger's own list shows it."""

    id: int
    contract_id: int
    paid_through: date
    invoice: str | None
    correction: bool
    reason: str | None
    recorded_at: datetime
    recorded_by: str

    @classmethod
    def of(cls, p: ContractPayment) -> ContractPaymentView:
        return cls(
            p.id,
            p.contract_id,
            p.paid_through,
            p.invoice,
            p.correction,
            p.reason,
            p.recorded_at,
            p.recorded_by,
        )


@dataclass(frozen=True)
class ContractView(ReadModel):
    id: int
    customer_id: int
    plan: Plan
    start: date
    end: date
    paid_through: date
    grace_days: int | None
    created_at: datetime

    @classmethod
    def of(cls, c: Contract) -> ContractView:
        return cls(
            c.id,
            c.customer_id,
            Plan(c.plan),
            c.start_date,
            c.end_date,
            c.paid_through,
            c.grace_days,
            c.created_at,
        )


@dataclass(frozen=True)
class PlanPeriodView:
    """A plan and the day it took effect (the contract's first plan has no reason)."""

    plan: Plan
    effective_from: date
    reason: str | None


@dataclass(frozen=True)
class ContractDetail(ReadModel):
    """A contract over time: the plan it was sold with and the plan today, each plan change,
    its term, an early termination, the contract it renews and the one renewing it."""

    id: int
    customer_id: int
    plan: Plan  # the plan the contract started with
    plan_today: Plan
    plan_history: tuple[PlanPeriodView, ...]
    start: date
    end: date
    terminated_on: date | None
    termination_reason: str | None
    renews: int | None
    renewed_by: int | None
    paid_through: date
    grace_days: int | None
    created_at: datetime

    @classmethod
    def of(cls, c: Contract, today: date, renewed_by: int | None) -> ContractDetail:
        """The contract as of today (the plan today: the plan on today inside the term, else
        on the term's nearest end)."""
        return cls(
            id=c.id,
            customer_id=c.customer_id,
            plan=Plan(c.plan),
            plan_today=Plan(c.plan_on(min(max(today, c.start_date), c.effective_end))),
            plan_history=(
                PlanPeriodView(Plan(c.plan), c.start_date, None),
                *(PlanPeriodView(Plan(p.plan), p.effective_from, p.reason) for p in c.plan_changes),
            ),
            start=c.start_date,
            end=c.end_date,
            terminated_on=c.terminated_on,
            termination_reason=c.termination_reason,
            renews=c.renews_id,
            renewed_by=renewed_by,
            paid_through=c.paid_through,
            grace_days=c.grace_days,
            created_at=c.created_at,
        )


@dataclass(frozen=True)
class CustomerView(ReadModel):
    id: int
    name: str
    region: Region
    created_at: datetime
    holidays: str = ""  # the holiday calendar of its support hours (holidays package code)

    @classmethod
    def of(cls, c: Customer) -> CustomerView:
        return cls(c.id, c.name, Region(c.region), c.created_at, c.holidays)


@dataclass(frozen=True)
class CustomerMatch(ReadModel):
    """A customer found by `customer list --search`, and what matched: `contract 12`,
    `license 12`, `name starts with` or `name contains`."""

    customer: CustomerView
    matched: str


@dataclass(frozen=True)
class StandingView:
    """A customer's standing today (its own calendar date): the contract in force, its plan,
    maintenance paid through and the days left, the grace period, and why no key would be
    issued (None when one would)."""

    as_of: date
    plan: Plan | None
    contract_id: int | None
    contract_start: date | None
    contract_end: date | None  # the last covered day (a termination included)
    contract_active: bool
    maintenance_paid_through: date | None
    #: days from today to paid-through (negative: lapsed that many days ago)
    maintenance_days_left: int | None
    grace_days: int | None
    grace_until: date | None
    in_grace_period: bool
    maintenance_current: bool
    refusal_code: str | None
    refusal_message: str | None


@dataclass(frozen=True)
class PaymentView:
    """One entry of a contract's maintenance payment ledger."""

    paid_through: date
    invoice: str | None
    correction: bool
    reason: str | None
    recorded_at: datetime
    recorded_by: str


@dataclass(frozen=True)
class PremiumServiceStatus(ReadModel):
    """One Premium service as the customer and the analyst see it today: whether the plan
    includes it; a service counted per contract year (the major upgrade) with its use and when
    the count restarts; a recurring one (health check, support review) with the day it was
    last held and the day the next is due (`overdue` once that day has passed); and the
    planned day of an open request."""

    service: PremiumService
    included: bool
    every_months: int | None
    per_contract_year: int | None
    used_this_year: int | None
    left_this_year: int | None
    resets_on: date | None
    last_held: date | None
    next_due: date | None
    overdue: bool
    requested_for: date | None


@dataclass(frozen=True)
class ServiceRecordView(ReadModel):
    """A Premium service on record (`service request`, `service record`)."""

    id: int
    customer_id: int
    contract_id: int
    service: PremiumService
    status: ServiceRecordStatus
    planned_on: date | None
    held_on: date | None
    contract_year_start: date
    note: str | None
    recorded_by: str
    created_at: datetime


@dataclass(frozen=True)
class ContractLedger:
    """A contract with its plan today, its term and its payment ledger, oldest entry first."""

    id: int
    plan: Plan  # the plan it was sold with
    plan_today: Plan
    start: date
    end: date
    effective_end: date  # the last covered day (a termination included)
    terminated_on: date | None
    renews: int | None
    paid_through: date
    grace_days: int | None
    payments: tuple[PaymentView, ...]


@dataclass(frozen=True)
class LicenseLine:
    """A license as the customer screen lists it."""

    id: int
    product: str
    agents: int
    jobs: int
    host: str
    failover_host: str | None
    expires_on: date | None  # None: perpetual
    retired: bool


@dataclass(frozen=True)
class KeyLine:
    """A key as the customer screen lists it: the license's product, not its id."""

    serial: str
    kind: KeyKind
    status: EffectiveKeyStatus
    product: str
    license_id: int
    host: str | None
    failover_host: str | None
    issued_at: datetime
    expires_at: datetime | None


@dataclass(frozen=True)
class CaseLine:
    """A case as the customer screen lists it."""

    case_number: str
    status: CaseStatus
    kind: KeyKind
    severity: int
    product: str
    created_at: datetime
    refusal_code: str | None
    respond_by: datetime | None
    next_update_due: datetime | None
    overdue: bool
    owner: str | None = None


@dataclass(frozen=True)
class CustomerOverview(ReadModel):
    """One customer on one screen (`customer show`): standing, contracts with their payment
    ledgers, licenses, the newest keys, open cases (refused or escalated) and the newest
    decided ones. `keys_total` counts every key, `keys` holds the newest ones."""

    customer: CustomerView
    standing: StandingView
    contracts: tuple[ContractLedger, ...]
    licenses: tuple[LicenseLine, ...]
    keys: tuple[KeyLine, ...]
    keys_total: int
    open_cases: tuple[CaseLine, ...]
    recent_cases: tuple[CaseLine, ...]
    premium_services: tuple[PremiumServiceStatus, ...] = ()


@dataclass(frozen=True)
class KeyView(ReadModel):
    """A key as a user sees it now: its record, its effective status, the hosts it names and
    its text."""

    serial: str
    kind: KeyKind
    status: EffectiveKeyStatus
    license_id: int
    customer_id: int
    contract_id: int | None
    case_number: str | None
    host: str | None
    failover_host: str | None
    reason: str | None
    dr_test_date: date | None
    issued_at: datetime
    not_before: datetime
    expires_at: datetime | None  # None: perpetual
    supersedes: str | None
    superseded_by: str | None
    usable_until: datetime | None  # end of the overlap once superseded
    revoked_at: datetime | None
    revoked_reason: str | None
    revocation_code: str | None
    signing_kid: str
    claims: dict[str, Any]
    key: str  # the compact signed key text
    #: what the key grants, as signed into it (the license may have changed since)
    product: str | None = None
    agents: int | None = None
    jobs: int | None = None
    customer_name: str | None = None

    @classmethod
    def of(cls, k: IssuedKey, now: datetime, *, analyst: bool = False) -> KeyView:
        """The key as its reader sees it now. The analyst's words of a revocation
        (`revoked_reason`) are for analysts only (`analyst=True`); a customer sees the
        `revocation_code` the public list carries, and the words stay in the audit trail."""
        claims = k.claims or {}
        return cls(
            serial=k.serial,
            kind=KeyKind(k.kind),
            status=effective_status(k, now),
            license_id=k.license_id,
            customer_id=k.customer_id,
            contract_id=k.contract_id,
            case_number=k.case_number,
            host=claims.get("host"),
            failover_host=claims.get("failover_host"),
            reason=k.reason,
            dr_test_date=k.dr_test_date,
            issued_at=k.issued_at,
            not_before=k.not_before,
            expires_at=k.expires_at,
            supersedes=k.supersedes,
            superseded_by=k.superseded_by,
            usable_until=k.usable_until,
            revoked_at=k.revoked_at,
            revoked_reason=k.revoked_reason if analyst else None,
            revocation_code=k.revocation_code,
            signing_kid=k.signing_kid,
            claims=dict(claims),
            key=k.key_text,
            product=claims.get("product"),
            agents=claims.get("agents"),
            jobs=claims.get("jobs"),
            customer_name=claims.get("customer_name"),
        )


@dataclass(frozen=True)
class CaseView(ReadModel):
    """A case: one key request with its refusal, escalation and decision (and, once granted
    by this call, the key it issued)."""

    case_number: str
    status: CaseStatus
    kind: KeyKind
    customer_id: int
    license_id: int
    contract_id: int | None
    reason: str | None
    dr_test_date: date | None
    host: str | None
    severity: int
    requested_by: str
    created_at: datetime
    refusal_code: str | None
    refusal_message: str | None
    escalated_at: datetime | None
    escalation_note: str | None
    respond_by: datetime | None
    decided_at: datetime | None
    decided_by: str | None
    decision_reason: str | None
    key_serial: str | None
    key: KeyView | None = None
    escalation_reason: str | None = None
    next_update_due: datetime | None = None  # the next status update an analyst owes
    responded_at: datetime | None = None  # the first update after the escalation
    #: the refusal as it stood before an analyst's grant or denial
    original_refusal_code: str | None = None
    original_refusal_message: str | None = None
    # the support plan's view of the case now (licensesvc/domain/support_plan.py: case_support)
    overdue: bool = False
    overdue_reason: str | None = None
    phone_required: bool = False
    support_phone: str | None = None
    notice: str | None = None
    updates: list[CaseUpdateView] = dataclasses.field(default_factory=list)
    #: analysts only (case_updates.analyst_case_view fills them; a customer's view never has
    #: them and the customer API's schema has no such fields)
    owner: str | None = None
    notes: list[CaseNoteView] = dataclasses.field(default_factory=list)

    @classmethod
    def of(
        cls,
        c: KeyRequest,
        key: KeyView | None = None,
        *,
        support: support_plan.CaseSupport | None = None,
    ) -> CaseView:
        """The case; `support` (support_plan.case_support at some time) adds whether it is
        overdue and the phone notice (without it: not overdue, no notice)."""
        extra: dict[str, Any] = {}
        if support is not None:
            extra = support.as_dict()
        return cls(
            case_number=c.case_number,
            status=CaseStatus(c.status),
            kind=KeyKind(c.kind),
            customer_id=c.customer_id,
            license_id=c.license_id,
            contract_id=c.contract_id,
            reason=c.reason,
            dr_test_date=c.dr_test_date,
            host=c.host,
            severity=c.severity,
            requested_by=c.requested_by,
            created_at=c.created_at,
            refusal_code=c.refusal_code,
            refusal_message=c.refusal_message,
            escalated_at=c.escalated_at,
            escalation_note=c.escalation_note,
            respond_by=c.respond_by,
            decided_at=c.decided_at,
            decided_by=c.decided_by,
            decision_reason=c.decision_reason,
            key_serial=c.key_serial,
            key=key,
            escalation_reason=c.escalation_reason,
            next_update_due=c.next_update_due,
            responded_at=c.responded_at,
            original_refusal_code=c.original_refusal_code,
            original_refusal_message=c.original_refusal_message,
            updates=[CaseUpdateView(u.at, u.author, u.text) for u in c.updates],
            **extra,
        )


@dataclass(frozen=True)
class QueueLine(ReadModel):
    """An escalated case as the analysts' queue lists it (`case list --escalated`)."""

    case_number: str
    severity: int
    customer_id: int
    customer_name: str
    #: the customer's time zone (its region's, IANA name): respond-by as the customer reads it
    customer_timezone: str
    product: str
    kind: KeyKind
    escalation_reason: str | None
    owner: str | None
    escalated_at: datetime | None
    age_hours: int  # whole hours since the escalation
    respond_by: datetime | None
    next_update_due: datetime | None
    responded: bool  # an analyst has posted the initial response
    overdue: bool
    overdue_reason: str | None


@dataclass(frozen=True)
class CaseNoteView:
    """An analyst's internal note on a case: analysts only, never shown to the customer."""

    at: datetime
    author: str
    text: str


@dataclass(frozen=True)
class CaseUpdateView:
    """An analyst's status update on a case, as the customer reads it."""

    at: datetime
    author: str
    text: str

    @classmethod
    def of(cls, u: CaseUpdate) -> CaseUpdateView:
        return cls(u.at, u.author, u.text)


# --- the entitlement report ------------------------------------------------------------------


@dataclass(frozen=True)
class CustomerRef:
    id: int
    name: str
    region: str


@dataclass(frozen=True)
class ContractRef:
    id: int
    start: date
    end: date  # the last covered day (termination included)
    plan: Plan  # the plan today
    terminated_on: date | None = None
    renews: int | None = None  # the contract this one renews
    #: each plan and the day it took effect, oldest first ({"plan": ..., "from": ...})
    plan_history: list[dict[str, Any]] = dataclasses.field(default_factory=list)


@dataclass(frozen=True)
class EntitlementRefusal:
    code: str
    message: str


@dataclass(frozen=True)
class DrTestQuotaUse:
    used: int
    limit: int
    period_start: date | None
    #: the first day of the next contract year, when the count restarts
    resets_on: date | None = None


@dataclass(frozen=True)
class TemporaryQuotaLimit:
    limit: int


@dataclass(frozen=True)
class QuotaReport:
    dr_test: DrTestQuotaUse | None  # None: no contract, no DR-test quota (omitted in JSON)
    temporary_per_license: TemporaryQuotaLimit
    #: moves of a license to a new host per contract year (each license's use: `licenses`)
    host_moves_per_contract_year: int = 4


@dataclass(frozen=True)
class KindUnavailable:
    """A key kind the plan includes that this license cannot have today, and why."""

    kind: KeyKind
    code: str
    message: str


@dataclass(frozen=True)
class LicenseEntitlement:
    """What one license can actually have today (the policy's own checks, run as a dry run)."""

    license_id: int
    product: str
    host: str
    failover_host: str | None
    expires_on: date | None
    allowed_key_kinds: list[KeyKind]
    unavailable: list[KindUnavailable]
    #: the hosts its keys are usable on now (the host invariant's count)
    usable_hosts: list[str]
    #: when the temporary-key slot in use frees (None: a slot is free, or not Premium)
    temporary_slot_frees_at: datetime | None
    dr_tests_left: int | None
    dr_year_resets_on: date | None
    host_moves_left: int | None
    host_moves_reset_on: date | None


@dataclass(frozen=True)
class ClaimDifference:
    claim: str
    key: Any
    records: Any


@dataclass(frozen=True)
class KeyOutOfDate:
    """A usable key whose signed claims no longer match the records, and how to refresh it."""

    serial: str
    license_id: int
    kind: KeyKind
    differences: list[ClaimDifference]
    refresh: str


@dataclass(frozen=True)
class SupportHours:
    region: str
    core_hours: str
    timezone: str
    excluding: str
    after_hours: str
    all_regions: list[dict[str, Any]]
    holidays: str = ""  # the customer's holiday calendar (holidays package code)
    sev1_cover: str = ""  # after-hours cover of Sev 1 issues: 24x5 or 24x7
    support_phone: str = ""  # the number to call for Sev 1 and 2


@dataclass(frozen=True)
class PolicySummary:
    dr_window_days_before: int
    dr_window_days_after: int
    dr_min_lead_days: int
    replacement_overlap_days: int
    temporary_key_days: int
    host_moves_per_contract_year: int = 4


@dataclass(frozen=True)
class EntitlementReport(ReadModel):
    """What a customer is entitled to today (licensesvc/issuance/entitlements.py builds it)."""

    customer: CustomerRef
    as_of: date
    plan: Plan | None
    contract: ContractRef | None
    contract_active: bool
    maintenance_current: bool
    maintenance_paid_through: date | None
    grace_until: date | None
    in_grace_period: bool
    refusal: EntitlementRefusal | None  # why no key would be issued today
    allowed_key_kinds: list[KeyKind]
    plan_key_kinds: list[KeyKind]
    temporary_key_reasons: list[str]
    quotas: QuotaReport
    response_targets: list[dict[str, Any]]
    support_hours: SupportHours
    root_cause_analysis: str
    services: list[str]
    policy: PolicySummary
    #: each license: the kinds it can have today, quotas left, when they free or reset
    licenses: list[LicenseEntitlement] = field(default_factory=list)
    #: usable keys whose signed claims no longer match the records
    keys_out_of_date: list[KeyOutOfDate] = field(default_factory=list)
    #: the Premium services: the year's upgrade, the health check's and review's dates
    premium_services: list[PremiumServiceStatus] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        data = super().as_dict()
        if self.quotas.dr_test is None:
            del data["quotas"]["dr_test"]  # the field name, not the kind
        return data


# --- a dry run -------------------------------------------------------------------------------


@dataclass(frozen=True)
class WouldIssue:
    kind: str
    not_before: datetime | None
    expires_at: datetime | None


@dataclass(frozen=True)
class DryRunView(ReadModel):
    """A dry run's answer: every check of the policy with its outcome; nothing recorded."""

    dry_run: bool
    outcome: CaseStatus  # granted or refused
    code: str | None  # the winning refusal code
    message: str
    checks: tuple[Check, ...]
    would_issue: WouldIssue | None  # None when refused

    @classmethod
    def of(cls, decision: Decision, kind: str) -> DryRunView:
        refusal = decision.refusal
        return cls(
            dry_run=True,
            outcome=CaseStatus.GRANTED if refusal is None else CaseStatus.REFUSED,
            code=None if refusal is None else refusal.code,
            message="the request would be granted" if refusal is None else refusal.detail,
            checks=decision.checks,
            would_issue=None
            if refusal is not None
            else WouldIssue(kind, decision.not_before, decision.expires_at),
        )

    def as_dict(self) -> dict[str, Any]:
        data = super().as_dict()
        data["checks"] = [check.as_dict() for check in self.checks]
        return data


# --- records the analysts' tools list -----------------------------------------------------


@dataclass(frozen=True)
class TokenView(ReadModel):
    """An API token as listed (never its secret nor its hash)."""

    id: int
    prefix: str
    customer_id: int | None
    analyst: str | None  # the analyst's name, for an analyst token
    #: who made it, as the audit trail names them (None: older than the record of it)
    created_by: str | None
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None
    #: what its maker called it (None: made without a name, or before names)
    name: str | None = None

    @classmethod
    def of(cls, t: ApiToken) -> TokenView:
        return cls(
            t.id,
            t.prefix,
            t.customer_id,
            t.analyst_name,
            t.created_by,
            t.created_at,
            t.expires_at,
            t.last_used_at,
            t.revoked_at,
            t.name,
        )


@dataclass(frozen=True)
class UserView(ReadModel):
    """A portal user (never the password hash)."""

    id: int
    customer_id: int
    email: str
    created_at: datetime
    disabled_at: datetime | None
    last_signed_in_at: datetime | None

    @classmethod
    def of(cls, u: User) -> UserView:
        return cls(u.id, u.customer_id, u.email, u.created_at, u.disabled_at, u.last_signed_in_at)


@dataclass(frozen=True)
class SigningKeyView(ReadModel):
    """A signing key's public half (never the private key)."""

    kid: str
    public_key_pem: str
    public_key_raw_b64: str  # the 32 raw public-key bytes, unpadded base64url
    status: SigningKeyStatus
    created_at: datetime
    retired_at: datetime | None
    rotation_statement: str | None

    @classmethod
    def of(cls, rec: SigningKeyRecord) -> SigningKeyView:
        return cls(
            rec.kid,
            rec.public_key_pem,
            keys.PublicKey.from_pem(rec.public_key_pem).raw_b64(),
            SigningKeyStatus(rec.status),
            rec.created_at,
            rec.retired_at,
            rec.rotation_statement,
        )


@dataclass(frozen=True)
class AuditRecordView(ReadModel):
    """One entry of the audit trail; `entity` is `type:id`."""

    id: int
    at: datetime
    actor: str
    action: str
    entity: str
    customer_id: int | None
    reason: str | None
    details: dict[str, Any]
    hash: str

    @classmethod
    def of(cls, r: AuditRecord) -> AuditRecordView:
        return cls(
            r.id,
            r.at,
            r.actor,
            r.action,
            f"{r.entity_type}:{r.entity_id}",
            r.customer_id,
            r.reason,
            r.details,
            r.hash,
        )
