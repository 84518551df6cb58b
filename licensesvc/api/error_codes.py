"""Every `code` an API error can carry, with its HTTP status and meaning. /docs renders this
table and the Problem schema lists the codes."""

from __future__ import annotations

from typing import NamedTuple


class ErrorCode(NamedTuple):
    code: str
    status: str
    meaning: str


ERROR_CODES: tuple[ErrorCode, ...] = (
    ErrorCode(
        "contract_expired",
        "403",
        "No support contract covers today (ended, not yet started, or none). A case is recorded.",
    ),
    ErrorCode(
        "maintenance_lapsed",
        "403",
        "Maintenance fees are not paid through today (after any grace period). A case is recorded.",
    ),
    ErrorCode(
        "plan_not_eligible",
        "403",
        "The plan does not include this key kind (temporary keys are Premium). A case is recorded.",
    ),
    ErrorCode(
        "validation_error",
        "422 (400 for a body that is not JSON)",
        "The request breaks the schema (`errors` names the fields), or the key request lacks what "
        "its kind needs (then a case is recorded).",
    ),
    ErrorCode(
        "no_key_to_replace",
        "409",
        "A replacement was asked for a license with no usable key; its first key is a standard "
        "key, issued by an analyst. A case is recorded.",
    ),
    ErrorCode(
        "invalid_window",
        "422",
        "The DR-test date is in the past, too close or too far ahead, or its window leaves the "
        "contract term or passes the license's expiry; or a temporary key (120 days) would "
        "outlive the contract or the license. Windows are refused, never shortened. A case is "
        "recorded.",
    ),
    ErrorCode(
        "quota_exceeded",
        "409",
        "The DR-test keys of this contract year, the active temporary keys of this license, or "
        "its host moves this contract year are used up; or the key would make the license "
        "usable on more hosts at once than the contract allows. A case is recorded; it may be "
        "escalated.",
    ),
    ErrorCode(
        "unauthorized",
        "401",
        "No bearer token, or an unknown or revoked one. The answer carries WWW-Authenticate.",
    ),
    ErrorCode("forbidden", "403", "The token may not do this (e.g. a customer granting a case)."),
    ErrorCode(
        "not_found",
        "404",
        "No such route or resource, or it belongs to another customer.",
    ),
    ErrorCode(
        "method_not_allowed", "405", "The route exists but not with this method (see Allow)."
    ),
    ErrorCode("not_acceptable", "406", "No representation matches the Accept header."),
    ErrorCode(
        "invalid_state",
        "409",
        "Not possible in the current state (e.g. escalating a granted case or an on-time "
        "escalated one, revoking a revoked key, renewing a renewed contract, changing a retired "
        "license).",
    ),
    ErrorCode(
        "conflict",
        "409",
        "The request conflicts with existing data (e.g. a contract overlapping another of the "
        "customer's).",
    ),
    ErrorCode(
        "idempotency_in_progress",
        "409",
        "A request with this Idempotency-Key is still being handled; retry shortly.",
    ),
    ErrorCode(
        "idempotency_key_reused",
        "422",
        "This Idempotency-Key was already used (by this caller, within 24 hours) for a "
        "different request; use a new key.",
    ),
    ErrorCode("payload_too_large", "413", "The request body exceeds 1 MiB."),
    ErrorCode(
        "uri_too_long",
        "414",
        "The request line (method, path and query) exceeds 8,190 bytes; answered by the "
        "gunicorn worker before the app (`licensesvc/gunicorn_conf.py`).",
    ),
    ErrorCode(
        "header_fields_too_large",
        "431",
        "More than 100 header fields, or one over 8,190 bytes; answered by the gunicorn worker "
        "before the app.",
    ),
    ErrorCode(
        "rate_limited",
        "429",
        "Too many requests of this kind from this client or customer (limits sized for abuse, "
        "not use). Retry after the `Retry-After` seconds, also given as `retry_after`.",
    ),
    ErrorCode("bad_request", "400", "The HTTP request itself is malformed."),
    ErrorCode("not_configured", "503", "The server has no active signing key yet."),
    ErrorCode(
        "cascade_base_replaced",
        "409",
        "A revocation delta was asked for since a generation older than the current cascade "
        "base: fetch the base again (GET /v1/revocations/cascade).",
    ),
    ErrorCode(
        "service_unavailable",
        "503",
        "The server cannot serve this now: the database is unreachable or too slow (the "
        "answer carries Retry-After, in seconds), or its signing key does not decrypt (a "
        "configuration fault that /readyz reports). Nothing was recorded; try again later.",
    ),
    ErrorCode(
        "internal_error", "500", "An unexpected failure; it is logged, the body says no more."
    ),
)

#: the code of a werkzeug HTTP error by status, when nothing more specific applies
HTTP_STATUS_CODES: dict[int, str] = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "rate_limited",
    500: "internal_error",
    503: "service_unavailable",
}
