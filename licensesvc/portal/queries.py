"""The portal's one seam onto the service layer. Every page calls a function here, and each
function calls today's services and hands the template what it shows, without a rule of its
own. When the services change shape (typed read models, the policy table), this file adapts
and the views and templates stay as they are."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from licensesvc import accounts, cases, identity, issuance
from licensesvc.domain import KeyKind, TemporaryReason, support_plan
from licensesvc.domain.policy import RULES, Check, Decision, KeyRequestInput, Requester
from licensesvc.issuance import KeyRequestOutcome
from licensesvc.platform.context import ServiceContext
from licensesvc.presentation import labels
from licensesvc.readmodels import (
    CaseView,
    EntitlementReport,
    KeyView,
    LicenseEntitlement,
    LicenseView,
    TokenView,
)

#: the kinds a customer may ask for in the portal, in the order the forms offer them: the
#: policy table's (a new kind appears here, and on the request page, by its row in RULES)
REQUEST_KINDS = tuple(
    rule.kind.value for rule in RULES.values() if rule.requested_by is Requester.CUSTOMER_OR_ANALYST
)
#: the words of the vocabularies (licensesvc/presentation/labels.py)
KIND_LABELS = labels.labels_of(KeyKind)
KIND_NOUNS = labels.KIND_NOUNS
TEMPORARY_REASON_LABELS = labels.labels_of(TemporaryReason)
#: the escalation reasons of the product brief, with the words the form shows
ESCALATION_REASONS = {
    "review_refusal": "Please review the refusal",
    "response_time_not_met": "The response time was not met",
    "handling_concern": "I have a concern about how the case is handled",
    "criticality_changed": "The issue has become more critical",
}
#: the reasons offered to escalate an escalated case again (a refusal is already under review)
ESCALATE_AGAIN_REASONS = {k: v for k, v in ESCALATION_REASONS.items() if k != "review_refusal"}


@dataclass(frozen=True)
class SeverityChoice:
    """A severity as the escalation form offers it, with the seed's definition."""

    level: int
    label: str  # "1 - Critical"
    definition: str


#: the seed's severity levels and their definitions (services/support_plan.py SEVERITIES)
SEVERITY_CHOICES = tuple(
    SeverityChoice(s.level, f"{s.level} - {s.name}", s.definition) for s in support_plan.SEVERITIES
)
MAINTENANCE_WARNING_DAYS = 30


@dataclass(frozen=True)
class KeyRow:
    """A key as the pages list it."""

    serial: str
    kind: str
    kind_label: str
    status: str
    host: str | None
    issued_at: datetime
    expires_at: datetime | None
    usable_until: datetime | None
    license_id: int
    case_number: str | None


@dataclass(frozen=True)
class LicenseRow:
    license: LicenseView
    keys: list[KeyRow]
    #: what this license can get today (None: the report has no line for it): kinds, the
    #: kinds it cannot have and why, quota left, when a temporary slot frees
    entitlement: LicenseEntitlement | None
    #: its usable keys whose signed claims no longer match the records, with what differs
    out_of_date: list[OutOfDate]


@dataclass(frozen=True)
class OutOfDate:
    serial: str
    differences: str  # "host: the key says a.example, the records b.example"


@dataclass(frozen=True)
class TimeZone:
    """The customer's time zone: its region's (licensesvc/domain/support_plan.py REGIONS)."""

    zone: ZoneInfo
    name: str  # Europe/London
    label: str  # GMT/BST


@dataclass(frozen=True)
class Dashboard:
    report: EntitlementReport
    licenses: list[LicenseRow]
    days_of_maintenance_left: int | None
    maintenance_warning: bool
    support_phone: str
    today: date
    #: the customer's escalated cases, overdue first (cases.list_escalated)
    open_cases: list[CaseView]


@dataclass(frozen=True)
class CasePage:
    cases: list[CaseView]
    page: int
    page_size: int
    has_next: bool


def _key_row(key: KeyView) -> KeyRow:
    return KeyRow(
        serial=key.serial,
        kind=key.kind,
        kind_label=KIND_LABELS[key.kind],
        status=key.status,
        host=key.host,
        issued_at=key.issued_at,
        expires_at=key.expires_at,
        usable_until=key.usable_until,
        license_id=key.license_id,
        case_number=key.case_number,
    )


def report(ctx: ServiceContext, customer_id: int) -> EntitlementReport:
    return issuance.entitlement_report(ctx, customer_id)


def _out_of_date(rep: EntitlementReport, license_id: int) -> list[OutOfDate]:
    return [
        OutOfDate(
            item.serial,
            "; ".join(
                f"{d.claim}: the key says {d.key}, the records {d.records}"
                for d in item.differences
            ),
        )
        for item in rep.keys_out_of_date
        if item.license_id == license_id
    ]


def licenses(ctx: ServiceContext, customer_id: int, rep: EntitlementReport) -> list[LicenseRow]:
    now = ctx.now()
    rows = []
    all_keys = issuance.list_keys(ctx, customer_id=customer_id)
    entitlements_by_license = {e.license_id: e for e in rep.licenses}
    for lic in accounts.list_licenses(ctx, customer_id):
        keys = [_key_row(KeyView.of(k, now)) for k in all_keys if k.license_id == lic.id]
        rows.append(
            LicenseRow(
                LicenseView.of(lic),
                keys,
                entitlements_by_license.get(lic.id),
                _out_of_date(rep, lic.id),
            )
        )
    return rows


def dashboard(ctx: ServiceContext, customer_id: int) -> Dashboard:
    rep = report(ctx, customer_id)
    paid = rep.maintenance_paid_through
    today = rep.as_of
    days_left = (paid - today).days if paid is not None else None
    return Dashboard(
        report=rep,
        licenses=licenses(ctx, customer_id, rep),
        days_of_maintenance_left=days_left,
        maintenance_warning=days_left is not None and days_left <= MAINTENANCE_WARNING_DAYS,
        support_phone=rep.support_hours.support_phone,
        today=today,
        open_cases=[issuance.case_view(ctx, row.case) for row in cases.list_escalated(ctx)],
    )


def customer_zone(ctx: ServiceContext, customer_id: int) -> TimeZone:
    """The time zone the customer's pages show times in: its region's."""
    region = support_plan.REGIONS[accounts.get_customer(ctx, customer_id).region]
    return TimeZone(region.zone, region.timezone, region.timezone_label)


def license_for(ctx: ServiceContext, license_id: int) -> LicenseView:
    """The caller's license. Raises NotFound (also for another customer's)."""
    return LicenseView.of(accounts.get_license(ctx, license_id))


def key(ctx: ServiceContext, serial: str) -> tuple[KeyView, KeyRow]:
    """The caller's key (as a customer sees it) and its row. Raises NotFound (also for another
    customer's)."""
    view = issuance.key_view(ctx, serial)
    return view, _key_row(view)


def license_file(ctx: ServiceContext, serial: str) -> str:
    """The caller's key as a license file. Raises NotFound (also for another customer's)."""
    return issuance.license_file_for(issuance.get_key(ctx, serial))


def request_input(
    license_id: int,
    kind: str,
    *,
    reason: str | None = None,
    dr_test_date: date | None = None,
    host: str | None = None,
) -> KeyRequestInput:
    return KeyRequestInput(
        license_id=license_id,
        kind=kind,
        reason=reason or None,
        dr_test_date=dr_test_date,
        host=host or None,
    )


def dry_run(ctx: ServiceContext, req: KeyRequestInput) -> Decision:
    """Every check of the request with its outcome; writes nothing."""
    return issuance.explain_request(ctx, req)


def check_label(check: Check) -> str:
    return labels.check_label(check.name)


def submit(ctx: ServiceContext, req: KeyRequestInput) -> KeyRequestOutcome:
    """Record the case (granted or refused); the caller's unit of work commits it."""
    return issuance.request_key(ctx, req)


def case(ctx: ServiceContext, case_number: str) -> CaseView:
    """The caller's case as the services show it now: its record, respond-by and next-update
    times, the analyst's status updates and the phone notice for Sev 1/2. Raises NotFound
    (also for another customer's)."""
    return issuance.case_view(ctx, issuance.get_case(ctx, case_number))


def case_page(ctx: ServiceContext, page: int, page_size: int) -> CasePage:
    """One page of the caller's cases, newest first."""
    found = issuance.page_cases(ctx, page=page, page_size=page_size)
    return CasePage(
        [issuance.case_view(ctx, c) for c in found.items], page, page_size, found.has_next
    )


def can_escalate(c: CaseView) -> bool:
    """Offer the escalation form on a refused case, and on an escalated one (the service
    says whether it may be escalated again: overdue, or a changed severity)."""
    return c.status in ("refused", "escalated")


def escalate(
    ctx: ServiceContext,
    case_number: str,
    reason: str | None,
    note: str | None,
    severity: int | None,
) -> None:
    """Escalate a case for one of ESCALATION_REASONS (the seed's reasons, the service's
    `reason`; None: the service's default, as the API's), with the customer's note as
    written."""
    issuance.escalate_case(ctx, case_number, note=note or None, severity=severity, reason=reason)


@dataclass(frozen=True)
class TokenRow:
    id: int
    prefix: str
    created_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None
    expires_at: datetime | None
    expired: bool


def token_rows(ctx: ServiceContext) -> list[TokenRow]:
    now = ctx.now()
    return [
        TokenRow(
            t.id,
            t.prefix,
            t.created_at,
            t.revoked_at,
            t.last_used_at,
            t.expires_at,
            t.expires_at is not None and now > t.expires_at,  # as identity.check_token
        )
        for t in reversed(identity.list_tokens(ctx))
    ]


def create_token(ctx: ServiceContext, expires_in_days: int, user_id: int) -> tuple[TokenView, str]:
    """A token for the caller's customer (and its secret, shown once), made by portal user
    user_id (disabling the user revokes it); it expires after expires_in_days (0: never)."""
    expires_at = ctx.now() + timedelta(days=expires_in_days) if expires_in_days else None
    rec, secret = identity.create_token(
        ctx, customer_id=ctx.actor.customer_id, expires_at=expires_at, made_by_user_id=user_id
    )
    return TokenView.of(rec), secret


def revoke_token(ctx: ServiceContext, token_id: int) -> TokenView:
    return TokenView.of(identity.revoke_token(ctx, token_id))


def dr_window_text(rep: EntitlementReport) -> str:
    p = rep.policy
    return (
        f"valid from {p.dr_window_days_before} days before to "
        f"{p.dr_window_days_after} days after the test date; request it at least "
        f"{p.dr_min_lead_days} day(s) ahead"
    )


def default_dr_date(today: date) -> date:
    return today + timedelta(days=14)


def support_phone(ctx: ServiceContext) -> str:
    """The number to call for Sev 1 and 2 (the deployment's support line)."""
    return ctx.settings.support_phone
