"""The one way every front end (API, CLI, portal) records a key request and reports a refusal:
decide, commit the case whatever the outcome, then raise the refusal.

A refused request is still a case on record (its number travels with the refusal so the
customer can escalate it), so the commit must come before the error: the API's error handler
and the CLI's unit of work both roll back on an exception."""

from __future__ import annotations

from collections.abc import Callable

from licensesvc.platform.context import ServiceContext

from .key_requests import KeyRequestInput, KeyRequestOutcome, request_key


def request_and_record(
    ctx: ServiceContext,
    req: KeyRequestInput,
    *,
    commit: Callable[[], None],
    override_reason: str | None = None,
) -> KeyRequestOutcome:
    """Decide req (issuance/key_requests.request_key), call commit() so the case is kept
    whether granted or refused, then return the granted outcome (its `key` is set).

    Raises KeyRequestRefused after the commit when policy refused (its `case_number` names the
    recorded case, its `case` the case as the caller shows it), and whatever request_key raises
    before anything is recorded (NotFound, ValidationFailed, Forbidden)."""
    outcome = request_key(ctx, req, override_reason=override_reason)
    assert isinstance(outcome, KeyRequestOutcome)  # not a dry run
    commit()
    outcome.raise_if_refused()
    return outcome
