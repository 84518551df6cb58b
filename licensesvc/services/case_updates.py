"""Analysts' status updates on escalated cases (the seed's "Ongoing Status Updates"), and the
escalated cases in the order an analyst works them: overdue first, then by the next deadline."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from licensesvc.domain import CaseStatus, Plan
from licensesvc.models import CaseUpdate, KeyRequest

from . import audit, notifications, support_plan
from .context import ServiceContext
from .errors import InvalidState, ValidationFailed
from .key_requests import get_case
from .lookups import get_customer
from .standing import standing

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
    notifications.case_updated(ctx, case, text, str(update.id))
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
    """Escalated cases, overdue ones first, each group by its next deadline (respond-by until
    answered, then the next update)."""
    query = (
        select(KeyRequest)
        .options(selectinload(KeyRequest.updates))
        .where(KeyRequest.status == CaseStatus.ESCALATED)
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
        for c in ctx.session.scalars(query)
    ]
    if overdue_only:
        rows = [r for r in rows if r.support.overdue]
    far = datetime.max.replace(tzinfo=now.tzinfo)
    rows.sort(key=lambda r: (not r.support.overdue, r.due_at or far, r.case.id))
    return rows
