"""Helpers of the service tests: ask for a key, read a refusal, count rows."""

from __future__ import annotations

from sqlalchemy import func, select

from licensesvc.services.key_requests import (
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


def count(session, model) -> int:
    return session.scalar(select(func.count()).select_from(model))
