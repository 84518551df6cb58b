"""The analysts' queue: status updates on escalated cases (the seed's "Ongoing Status
Updates"), the escalated cases by respond-by, owners (`assign_case`), internal notes
(`add_case_note`, never shown to the customer) and severity changes with a reason."""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import joinedload, selectinload

from licensesvc import issuance
from licensesvc.accounts import get_customer, standing
from licensesvc.domain import CaseStatus, KeyKind, Plan, support_plan
from licensesvc.domain.errors import InvalidState, ValidationFailed, require_reason
from licensesvc.issuance import get_case
from licensesvc.models import CaseNote, CaseUpdate, KeyRequest
from licensesvc.platform import audit, inputs, outbox
from licensesvc.platform.context import ServiceContext
from licensesvc.platform.pagination import DEFAULT_PAGE_SIZE, Page, page_of_list, paginate
from licensesvc.readmodels import CaseNoteView, CaseView, QueueLine

#: control characters other than tab and newline
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
MAX_UPDATE_CHARS = 4000


def post_case_update(ctx: ServiceContext, case_number: str, text: str) -> CaseUpdate:
    """An analyst posts a status update the customer sees on the case. On an escalated case
    the first update is the initial response, and each update resets `next_update_due` (the
    plan's update interval for the severity, counted like respond-by). Raises NotFound,
    Forbidden (not an analyst), ValidationFailed (empty, too long, control characters) or
    InvalidState (a case that was never escalated)."""
    ctx.actor.require_analyst()
    case = get_case(ctx, case_number)
    text = (text or "").strip()
    if not text:
        raise ValidationFailed("a status update needs text")
    if len(text) > MAX_UPDATE_CHARS:
        raise ValidationFailed(f"a status update is at most {MAX_UPDATE_CHARS} characters")
    if _CONTROL.search(text):
        raise ValidationFailed("a status update may not contain control characters")
    if case.escalated_at is None:
        raise InvalidState(
            f"case {case_number} was never escalated; status updates follow an escalation"
        )
    now = ctx.now()
    update = CaseUpdate(at=now, author=ctx.actor.label, text=text)
    case.updates.append(update)
    if case.status == CaseStatus.ESCALATED:
        if case.responded_at is None:
            case.responded_at = now
        st = standing(ctx, case.customer_id)
        case.next_update_due = support_plan.next_update_due(
            now,
            st.plan or Plan.BASE,
            case.severity,
            support_plan.REGIONS[st.customer.region],
            st.customer.holidays,
            ctx.policy,
        )
    ctx.session.flush()
    audit.append(
        ctx,
        "case.updated",
        "case",
        case.case_number,
        customer_id=case.customer_id,
        reason=text,
        details={"update": update.id, "next_update_due": case.next_update_due},
    )
    outbox.case_updated(ctx, case, text, str(update.id))
    return update


@dataclass(frozen=True)
class EscalatedCase:
    case: KeyRequest
    support: support_plan.CaseSupport
    due_at: datetime | None


def list_escalated(
    ctx: ServiceContext,
    *,
    customer_id: int | None = None,
    overdue_only: bool = False,
) -> list[EscalatedCase]:
    """Escalated cases by respond-by (earliest first; then the case number's age), with the
    support plan's view of each (overdue, why) and its next deadline. With overdue_only, only
    those whose respond-by or next status update has passed. Loads each case's customer,
    license and updates up front (a fixed number of queries). Raises NotFound (customer)."""
    query = (
        select(KeyRequest)
        .options(
            selectinload(KeyRequest.updates),
            joinedload(KeyRequest.customer),
            joinedload(KeyRequest.license),
        )
        .where(KeyRequest.status == CaseStatus.ESCALATED)
        .order_by(KeyRequest.respond_by.is_(None), KeyRequest.respond_by, KeyRequest.id)
    )
    if ctx.actor.kind == "customer":
        customer_id = ctx.actor.customer_id
    if customer_id is not None:
        get_customer(ctx, customer_id)  # an unknown customer is not_found, not an empty list
        query = query.where(KeyRequest.customer_id == customer_id)
    now = ctx.now()
    phone = ctx.settings.support_phone
    rows = [
        EscalatedCase(c, support_plan.case_support(c, now, phone), support_plan.due_at(c))
        for c in ctx.session.scalars(query).unique()
    ]
    if overdue_only:
        rows = [r for r in rows if r.support.overdue]
    return rows


def page_escalated(
    ctx: ServiceContext,
    *,
    customer_id: int | None = None,
    overdue_only: bool = False,
    page: int = 1,
    page_size: int = DEFAULT_PAGE_SIZE,
) -> Page[EscalatedCase]:
    """A page of the escalation queue in list_escalated's order (overdue first, then by the
    next deadline): that order is the support plan's business-hours arithmetic, not a column,
    so the open escalations are read and ordered, then cut into pages. Raises ValidationFailed
    for a page outside the limits."""
    rows = list_escalated(ctx, customer_id=customer_id, overdue_only=overdue_only)
    return page_of_list(rows, page, page_size)


def page_case_updates(
    ctx: ServiceContext, case_number: str, *, page: int = 1, page_size: int = DEFAULT_PAGE_SIZE
) -> Page[CaseUpdate]:
    """A page of the case's status updates, newest first (by id, indexed with the case).
    Raises NotFound (also for another customer's case), ValidationFailed for a bad page."""
    case = get_case(ctx, case_number)
    query = select(CaseUpdate).where(CaseUpdate.case_id == case.id)
    return paginate(ctx.session, query, page, page_size)


def queue_lines(ctx: ServiceContext, rows: list[EscalatedCase]) -> list[QueueLine]:
    """The escalation queue as analysts read it (see views.QueueLine)."""
    now = ctx.now()
    return [
        QueueLine(
            case_number=r.case.case_number,
            severity=r.case.severity,
            customer_id=r.case.customer_id,
            customer_name=r.case.customer.name,
            customer_timezone=support_plan.REGIONS[r.case.customer.region].timezone,
            product=r.case.license.product,
            kind=KeyKind(r.case.kind),
            escalation_reason=r.case.escalation_reason,
            owner=r.case.owner,
            escalated_at=r.case.escalated_at,
            age_hours=int((now - (r.case.escalated_at or r.case.created_at)).total_seconds())
            // 3600,
            respond_by=r.case.respond_by,
            next_update_due=r.case.next_update_due,
            responded=r.case.responded_at is not None,
            overdue=r.support.overdue,
            overdue_reason=r.support.overdue_reason,
        )
        for r in rows
    ]


#: the longest analyst name an owner may have (the column's width)
MAX_OWNER_CHARS = 200
_OPEN = (CaseStatus.REFUSED, CaseStatus.ESCALATED)


def _open_case(ctx: ServiceContext, case_number: str, doing: str) -> KeyRequest:
    ctx.actor.require_analyst()
    case = get_case(ctx, case_number)
    if case.status not in _OPEN:
        raise InvalidState(
            f"case {case_number} is {case.status}; only a refused or escalated case can be {doing}"
        )
    return case


def assign_case(ctx: ServiceContext, case_number: str, owner: str) -> KeyRequest:
    """Make `owner` (an analyst's name) the case's owner in the queue, audited with the
    previous owner. Assigning the current owner again changes nothing and writes nothing.
    Raises NotFound, Forbidden (not an analyst), ValidationFailed (empty, too long, control
    characters) or InvalidState (a granted or denied case)."""
    owner = inputs.check_text(owner or "", "owner").strip()
    if not owner:
        raise ValidationFailed("give the analyst's name to assign the case to")
    if len(owner) > MAX_OWNER_CHARS:
        raise ValidationFailed(f"an owner's name is at most {MAX_OWNER_CHARS} characters")
    case = _open_case(ctx, case_number, "assigned")
    if case.owner == owner:
        return case
    previous = case.owner
    case.owner = owner
    ctx.session.flush()
    audit.append(
        ctx,
        "case.assigned",
        "case",
        case.case_number,
        customer_id=case.customer_id,
        details={"owner": owner, "previous_owner": previous},
    )
    return case


def case_notes(ctx: ServiceContext, case: KeyRequest) -> list[CaseNoteView]:
    """The case's internal notes, oldest first: analysts only. Raises Forbidden."""
    ctx.actor.require_analyst()
    return [CaseNoteView(n.at, n.author, n.text) for n in case.notes]


def analyst_case_view(ctx: ServiceContext, case: KeyRequest) -> CaseView:
    """The case as an analyst sees it: the customer's view (issuance.case_view) with its
    owner and internal notes. Raises Forbidden (not an analyst)."""
    notes = case_notes(ctx, case)
    return dataclasses.replace(issuance.case_view(ctx, case), owner=case.owner, notes=notes)


def add_case_note(ctx: ServiceContext, case_number: str, text: str) -> CaseNote:
    """An analyst's internal note on a case (any status): analysts only, never shown to the
    customer and never sent to them. Raises NotFound, Forbidden (not an analyst) or
    ValidationFailed (empty, too long, control characters other than newline and tab)."""
    ctx.actor.require_analyst()
    case = get_case(ctx, case_number)
    text = inputs.check_text(text or "", "note", multiline=True).strip()
    if not text:
        raise ValidationFailed("a note needs text")
    if len(text) > MAX_UPDATE_CHARS:
        raise ValidationFailed(f"a note is at most {MAX_UPDATE_CHARS} characters")
    note = CaseNote(at=ctx.now(), author=ctx.actor.label, text=text)
    case.notes.append(note)
    ctx.session.flush()
    audit.append(
        ctx,
        "case.noted",
        "case",
        case.case_number,
        customer_id=case.customer_id,
        details={"note": note.id},
    )
    return note


def change_severity(
    ctx: ServiceContext, case_number: str, severity: int, reason: str
) -> KeyRequest:
    """An analyst sets a refused or escalated case's severity (1 critical to 4 low), with a
    reason for the audit trail. On an escalated case the support plan's deadlines count anew
    from now at the new severity: respond-by (until an analyst has responded) and the next
    status update; a raised severity (a lower number) tells support and the `case.escalated`
    webhooks as an escalation does, a lowered one tells nobody. Raises NotFound, Forbidden,
    ValidationFailed (severity outside 1-4, no reason) or InvalidState (a decided case, or the
    severity it already has)."""
    reason = require_reason(reason, "changing a case's severity")
    if isinstance(severity, bool) or not 1 <= severity <= 4:
        raise ValidationFailed("severity is 1 (critical) to 4 (low)")
    case = _open_case(ctx, case_number, "given another severity")
    if case.severity == severity:
        raise InvalidState(f"case {case_number} is already Sev {severity}")
    previous = case.severity
    case.severity = severity
    if case.status == CaseStatus.ESCALATED:
        now = ctx.now()
        st = standing(ctx, case.customer_id)
        plan = st.plan or Plan.BASE
        region = support_plan.REGIONS[st.customer.region]
        calendar = st.customer.holidays
        if case.responded_at is None:
            case.respond_by = support_plan.respond_by(
                now, plan, severity, region, calendar, ctx.policy
            )
        case.next_update_due = support_plan.next_update_due(
            now, plan, severity, region, calendar, ctx.policy
        )
    ctx.session.flush()
    audit.append(
        ctx,
        "case.severity_changed",
        "case",
        case.case_number,
        customer_id=case.customer_id,
        reason=reason,
        details={
            "severity": severity,
            "previous_severity": previous,
            "respond_by": case.respond_by,
            "next_update_due": case.next_update_due,
        },
    )
    if case.status == CaseStatus.ESCALATED and severity < previous:
        # more urgent (Sev 1 is the most): support and the webhooks hear of it as of an
        # escalation, with the new respond-by; a lowered severity tells nobody
        outbox.case_escalated(ctx, case, region.timezone, severity_raised=True)
    return case
