"""Helpers of the service tests: ask for a key, read a refusal, count rows."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from licensesvc.issuance.key_requests import (
    KeyRequestInput,
    KeyRequestOutcome,
    request_key,
)


def ask(ctx, license_id, kind, **kw) -> KeyRequestOutcome:
    out = request_key(ctx, KeyRequestInput(license_id, kind, **kw))
    assert isinstance(out, KeyRequestOutcome)
    return out


def first_key(ctx, license_id):
    """The license's first key: a standard key, issued by an analyst (a replacement needs a
    usable key to replace)."""
    return ask(ctx, license_id, "standard").key


def refusal(out: KeyRequestOutcome) -> str | None:
    return out.case.refusal_code if out.case.status == "refused" else None


def count(session: Session, model: type[object]) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


def correct_paid_through(ctx, contract_id, paid_through):
    """Move a contract's paid-through by a ledger correction (history is never edited); ctx
    is an analyst's context or the contexts fixture."""
    from licensesvc.accounts.contracts import record_payment

    analyst = ctx.analyst() if hasattr(ctx, "analyst") else ctx
    record_payment(
        analyst,
        contract_id,
        paid_through,
        correction=True,
        reason="test: maintenance paid through another day",
    )
