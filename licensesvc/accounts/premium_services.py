"""The Premium services on record: an analyst records a major upgrade, a health check or a
support review as requested (with its planned day) or held (with the day); the customer's
entitlement report and `customer show` show each one as included, used this contract year,
last held and next due (licensesvc/domain/premium_services.py has the rules)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from sqlalchemy import func, select

from licensesvc.domain import Plan, PremiumService, ServiceRecordStatus
from licensesvc.domain import premium_services as rules
from licensesvc.domain.errors import InvalidState, ServiceRefused, ValidationFailed
from licensesvc.domain.standing import Standing
from licensesvc.domain.text import text_problem
from licensesvc.models import Contract, ServiceRecord
from licensesvc.platform import audit
from licensesvc.platform.context import ServiceContext
from licensesvc.readmodels import PremiumServiceStatus, ServiceRecordView

from .standing import current_contract, standing

MAX_NOTE_CHARS = 2000


def _service(name: str) -> PremiumService:
    try:
        return PremiumService(name)
    except ValueError:
        known = ", ".join(s.value for s in PremiumService)
        raise ValidationFailed(f"unknown Premium service {name!r}; choose one of {known}") from None


def _note(note: str | None) -> str | None:
    if note is None or not note.strip():
        return None
    if len(note) > MAX_NOTE_CHARS:
        raise ValidationFailed(f"a note is at most {MAX_NOTE_CHARS} characters")
    problem = text_problem(note, multiline=True)
    if problem is not None:
        raise ValidationFailed(f"note {problem}")
    return note.strip()


def _view(r: ServiceRecord) -> ServiceRecordView:
    return ServiceRecordView(
        id=r.id,
        customer_id=r.customer_id,
        contract_id=r.contract_id,
        service=PremiumService(r.service),
        status=ServiceRecordStatus(r.status),
        planned_on=r.planned_on,
        held_on=r.held_on,
        contract_year_start=r.contract_year_start,
        note=r.note,
        recorded_by=r.recorded_by,
        created_at=r.created_at,
    )


def _contract_for(
    ctx: ServiceContext,
    st: Standing,
    service: PremiumService,
    status: ServiceRecordStatus,
    day: date,
) -> tuple[Contract, date]:
    """The contract in force on `day` and the first day of its contract year, or
    ServiceRefused saying why the service cannot be on record that day."""
    contract = current_contract(ctx, st.customer.id, day)
    covering = contract is not None and contract.start_date <= day <= contract.effective_end
    term = (contract.start_date, contract.effective_end) if contract and covering else None
    plan = Plan(contract.plan_on(day)) if contract and covering else None
    problem = rules.service_problem(service, status, day, st.today, plan, term)
    if problem is not None:
        raise ServiceRefused(*problem)
    assert contract is not None
    year = Standing(st.customer, contract, day).contract_year_start()
    assert year is not None
    return contract, year


def _check_quota(
    ctx: ServiceContext, service: PremiumService, contract: Contract, year: date
) -> None:
    number = rules.RULES[service].per_contract_year
    if number is None:
        return
    used = ctx.session.scalar(
        select(func.count())
        .select_from(ServiceRecord)
        .where(
            ServiceRecord.contract_id == contract.id,
            ServiceRecord.service == service.value,
            ServiceRecord.contract_year_start == year,
        )
    )
    problem = rules.quota_problem(service, used or 0, getattr(ctx.policy, number))
    if problem is not None:
        raise ServiceRefused(*problem)


def _open_request(
    ctx: ServiceContext, customer_id: int, service: PremiumService
) -> ServiceRecord | None:
    return ctx.session.scalar(
        select(ServiceRecord)
        .where(
            ServiceRecord.customer_id == customer_id,
            ServiceRecord.service == service.value,
            ServiceRecord.status == ServiceRecordStatus.REQUESTED.value,
        )
        .order_by(ServiceRecord.id)
        .limit(1)
    )


def _new_record(
    ctx: ServiceContext,
    st: Standing,
    name: PremiumService,
    status: ServiceRecordStatus,
    day: date,
    note: str | None,
) -> ServiceRecord:
    """A new record of the service on `day`, counted against its contract year's allowance
    (ServiceRefused when it is used up), added to the session."""
    contract, year = _contract_for(ctx, st, name, status, day)
    _check_quota(ctx, name, contract, year)
    row = ServiceRecord(
        customer_id=st.customer.id,
        contract_id=contract.id,
        service=name.value,
        status=status.value,
        planned_on=day if status is ServiceRecordStatus.REQUESTED else None,
        held_on=day if status is ServiceRecordStatus.HELD else None,
        contract_year_start=year,
        note=note,
        recorded_by=ctx.actor.label,
        created_at=ctx.now(),
    )
    ctx.session.add(row)
    return row


def _recorded(ctx: ServiceContext, row: ServiceRecord, day: date) -> ServiceRecordView:
    """Flush the record, append its audit record (`service.requested` or `service.held`) and
    return its view."""
    ctx.session.flush()
    audit.append(
        ctx,
        f"service.{row.status}",
        "premium_service",
        row.id,
        customer_id=row.customer_id,
        reason=row.note,
        details={"service": row.service, "on": day, "contract": row.contract_id},
    )
    return _view(row)


def request_service(
    ctx: ServiceContext, customer_id: int, service: str, planned_on: date, note: str | None = None
) -> ServiceRecordView:
    """An analyst records that the customer asked for a Premium service on `planned_on`
    (today or later, inside a Premium contract's term); a major upgrade counts against its
    contract year's allowance from now. Returns the record. Raises NotFound, Forbidden,
    ValidationFailed, InvalidState (one already requested and not yet held) or ServiceRefused
    (`plan_not_eligible`, `quota_exceeded`, `validation_error`: nothing recorded)."""
    ctx.actor.require_analyst()
    name = _service(service)
    text = _note(note)
    st = standing(ctx, customer_id)
    if _open_request(ctx, customer_id, name) is not None:
        raise InvalidState(
            f"a {name.value} is already requested; record it held (service record) first"
        )
    row = _new_record(ctx, st, name, ServiceRecordStatus.REQUESTED, planned_on, text)
    return _recorded(ctx, row, planned_on)


def record_service(
    ctx: ServiceContext, customer_id: int, service: str, held_on: date, note: str | None = None
) -> ServiceRecordView:
    """An analyst records a Premium service held on `held_on` (today or before, inside a
    Premium contract's term): the open request for it, if any, becomes held; otherwise a new
    record, which for a major upgrade counts against its contract year's allowance. Returns
    the record. Raises NotFound, Forbidden, ValidationFailed or ServiceRefused
    (`plan_not_eligible`, `quota_exceeded`, `validation_error`: nothing recorded)."""
    ctx.actor.require_analyst()
    name = _service(service)
    text = _note(note)
    st = standing(ctx, customer_id)
    row = _open_request(ctx, customer_id, name)
    if row is None:
        row = _new_record(ctx, st, name, ServiceRecordStatus.HELD, held_on, text)
    else:
        _contract_for(ctx, st, name, ServiceRecordStatus.HELD, held_on)  # the day's checks
        row.status = ServiceRecordStatus.HELD.value
        row.held_on = held_on
        row.note = text or row.note
        row.updated_at = ctx.now()
    return _recorded(ctx, row, held_on)


def premium_since(st: Standing) -> date | None:
    """The first day of the current contract's Premium cover: its start, or its latest plan
    change to Premium; None when its plan today is not Premium."""
    c = st.contract
    if c is None or st.plan is not Plan.PREMIUM:
        return None
    since = c.start_date
    plan = Plan(c.plan)
    for change in sorted(c.plan_changes, key=lambda p: p.effective_from):
        if change.effective_from > st.today:
            break
        if Plan(change.plan) is Plan.PREMIUM and plan is not Plan.PREMIUM:
            since = change.effective_from
        plan = Plan(change.plan)
    return since


def service_statuses(
    ctx: ServiceContext, st: Standing, records: Iterable[ServiceRecord] | None = None
) -> list[PremiumServiceStatus]:
    """Each Premium service as the customer stands today (`records`: the customer's, when
    the caller has them; else one query)."""
    if records is None:
        records = ctx.session.scalars(
            select(ServiceRecord).where(ServiceRecord.customer_id == st.customer.id)
        )
    rows = list(records)
    since = premium_since(st)
    year = st.contract_year_start()
    statuses = []
    for service, rule in rules.RULES.items():
        mine = [r for r in rows if r.service == service.value]
        held = [r.held_on for r in mine if r.held_on is not None]
        last = max(held) if held else None
        requested = [r.planned_on for r in mine if r.status == ServiceRecordStatus.REQUESTED]
        allowed = used = None
        if rule.per_contract_year is not None and since is not None:
            allowed = int(getattr(ctx.policy, rule.per_contract_year))
            used = sum(
                1
                for r in mine
                if st.contract is not None
                and r.contract_id == st.contract.id
                and r.contract_year_start == year
            )
        due = rules.next_due(rule, last, since) if since is not None else None
        statuses.append(
            PremiumServiceStatus(
                service=service,
                included=since is not None,
                every_months=rule.every_months,
                per_contract_year=allowed,
                used_this_year=used,
                left_this_year=None if allowed is None else max(allowed - (used or 0), 0),
                resets_on=st.next_contract_year_start() if allowed is not None else None,
                last_held=last,
                next_due=due,
                overdue=due is not None and due < st.today,
                requested_for=min((d for d in requested if d is not None), default=None),
            )
        )
    return statuses
