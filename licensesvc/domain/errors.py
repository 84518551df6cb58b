"""One rooted tree of domain errors. Each carries a stable `code` (the API's problem `code`,
the CLI's one-line message) and the HTTP status the API maps it to. Services raise these and
nothing HTTP-specific; the API and CLI translate them at their boundary."""

from __future__ import annotations

from typing import Any

from licensesvc.domain.text import text_problem


class ServiceError(Exception):
    code = "error"
    status = 400
    title = "Request failed"

    def __init__(self, message: str, *, extra: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.extra = extra or {}


class NotFound(ServiceError):
    code = "not_found"
    status = 404
    title = "Not found"


def require_reason(reason: str | None, doing: str) -> str:
    """Return the stripped reason an analyst wrote for `doing` ("revoking a key"). Raises
    ValidationFailed when it is missing or blank (decisions are justified in the audit trail)
    or carries control characters other than newline and tab."""
    if reason is None or not reason.strip():
        raise ValidationFailed(f"{doing} needs a written reason")
    problem = text_problem(reason, multiline=True)
    if problem is not None:
        raise ValidationFailed(f"reason {problem}", extra={"errors": {"reason": [problem]}})
    return reason.strip()


class Unauthorized(ServiceError):
    code = "unauthorized"
    status = 401
    title = "Authentication required"


class Forbidden(ServiceError):
    code = "forbidden"
    status = 403
    title = "Forbidden"


class ValidationFailed(ServiceError):
    code = "validation_error"
    status = 422
    title = "Invalid request"


class Conflict(ServiceError):
    code = "conflict"
    status = 409
    title = "Conflict"


class InvalidState(ServiceError):
    """The thing exists but is not in a state that allows this (e.g. escalating a granted case)."""

    code = "invalid_state"
    status = 409
    title = "Not possible in the current state"


class IdempotencyKeyReused(ServiceError):
    """The Idempotency-Key was already used by this caller for a different request."""

    code = "idempotency_key_reused"
    status = 422
    title = "Idempotency key reused"


class IdempotencyInProgress(ServiceError):
    """A request with this Idempotency-Key is still being handled."""

    code = "idempotency_in_progress"
    status = 409
    title = "Request in progress"


class OverrideNotPossible(ServiceError):
    """An analyst's override met an impossible request (a DR test in the past, a retired
    license, a window past the license's expiry): it carries the refusal's own code."""

    status = 422
    title = "Not possible even with an override"

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"an override cannot issue this key: {message}")
        self.code = code
        self.status = REFUSAL_STATUS.get(code, 422)


class NotConfigured(ServiceError):
    code = "not_configured"
    status = 503
    title = "Service not configured"


#: refusal codes in the order of precedence: where several apply, the first wins
REFUSAL_ORDER = (
    "contract_expired",
    "maintenance_lapsed",
    "plan_not_eligible",
    "validation_error",
    "no_key_to_replace",
    "invalid_window",
    "quota_exceeded",
)
REFUSAL_STATUS = {
    "contract_expired": 403,
    "maintenance_lapsed": 403,
    "plan_not_eligible": 403,
    "validation_error": 422,
    "no_key_to_replace": 409,
    "invalid_window": 422,
    "quota_exceeded": 409,
}
REFUSAL_TITLES = {
    "contract_expired": "Contract expired",
    "maintenance_lapsed": "Maintenance lapsed",
    "plan_not_eligible": "Not included in the plan",
    "validation_error": "Invalid request",
    "no_key_to_replace": "No key to replace",
    "invalid_window": "Invalid date window",
    "quota_exceeded": "Quota exceeded",
}


class ServiceRefused(ServiceError):
    """A Premium service that cannot be requested or recorded (a Base plan that day, the
    contract year's upgrade already used, a day outside the term): nothing was recorded. It
    carries the refusal's code (`plan_not_eligible`, `quota_exceeded`, `validation_error`)."""

    title = "Premium service not available"

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.status = REFUSAL_STATUS.get(code, 422)
