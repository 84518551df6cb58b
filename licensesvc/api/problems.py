"""The one place errors become `application/problem+json` (RFC 9457), for the API only.

Domain errors (`ServiceError`, handled per API blueprint: see blueprint.py) and HTTP errors on
API paths (`/v1/...` and `/openapi.json`: unknown route, wrong method, body too large, schema
validation, uncaught exceptions as 500) all pass through `problem_response`, and every path
rolls back the request's session first. Any other path (the portal, /healthz) keeps Flask's
own error handling."""

from __future__ import annotations

import http
import json
from typing import Any

from flask import Flask, current_app, g, request
from flask_smorest import Api
from flask_smorest.utils import prepare_response
from werkzeug.exceptions import HTTPException, InternalServerError, ServiceUnavailable
from werkzeug.wrappers import Response

from licensesvc.db import DeadlineExceeded, is_unavailable
from licensesvc.domain.errors import ServiceError, Unauthorized

from .error_codes import HTTP_STATUS_CODES
from .schemas import ProblemSchema

PROBLEM_JSON = "application/problem+json"
#: what a 401 tells the client, RFC 6750
WWW_AUTHENTICATE = 'Bearer realm="licensesvc"'
_INTERNAL_DETAIL = "An unexpected error occurred. It has been logged; please try again later."


def _rollback_request_session() -> None:
    session = g.get("db_session")
    if session is None:
        return
    try:
        session.rollback()
    except Exception as exc:  # a broken connection must not hide the original error
        if is_unavailable(exc):  # the database is gone or the deadline passed: one line
            current_app.logger.warning("rollback after an error failed: %s", type(exc).__name__)
        else:
            current_app.logger.exception("rollback after an error failed")


def problem_response(
    status: int,
    code: str,
    title: str,
    detail: str,
    *,
    extra: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    """Return a problem+json response. `type` points at the code's entry in /docs; `instance`
    at the recorded case, if any, else at the request path."""
    body: dict[str, Any] = {
        "type": f"/docs#problem-{code}",
        "title": title,
        "status": status,
        "detail": detail,
        "code": code,
        "instance": request.path,
    }
    for name, value in (extra or {}).items():
        body.setdefault(name, value)
    if body.get("case_number"):
        body["instance"] = f"/v1/key-requests/{body['case_number']}"
    response = current_app.response_class(
        json.dumps(body, ensure_ascii=False, default=str),
        status=status,
        mimetype=PROBLEM_JSON,
    )
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def handle_service_error(error: ServiceError) -> Response:
    """A domain error raised by a service: its code, status, title and message."""
    _rollback_request_session()
    headers = {"WWW-Authenticate": WWW_AUTHENTICATE} if isinstance(error, Unauthorized) else {}
    if isinstance(error, Unauthorized) and request.headers.get("Authorization"):
        headers["WWW-Authenticate"] += ', error="invalid_token"'
    return problem_response(
        error.status, error.code, error.title, error.message, extra=error.extra, headers=headers
    )


def _is_api_request() -> bool:
    path = request.path
    # /log/: the transparency log's tiles (api/log_views.py), documented with the API
    return path.startswith(("/v1/", "/log/")) or path in ("/v1", "/log") or path == "/openapi.json"


class LicensesvcApi(Api):
    """flask-smorest's Api whose errors are problem+json and documented as such."""

    ERROR_SCHEMA = ProblemSchema

    def handle_http_exception(self, error: HTTPException) -> Response:
        """Every werkzeug HTTP error (404, 405, 413, webargs' 400/422, and uncaught exceptions
        as 500) as problem+json."""
        _rollback_request_session()
        status = error.code or 500
        if not _is_api_request():
            # not ours: the portal's pages and /healthz answer as Flask does (HTML pages)
            return error.get_response()
        code = HTTP_STATUS_CODES.get(status, "error")
        title = _title(status)
        detail = error.description or title
        extra: dict[str, Any] = {}
        headers: dict[str, str] = {}
        data = getattr(error, "data", None) or {}
        messages = data.get("errors") or data.get("messages")
        if messages:
            # webargs: {"json": {"field": ["message"]}} or {"query": {...}}; name the fields
            code = "validation_error"
            title = "Invalid request"  # as the services' ValidationFailed says it
            extra["errors"] = _flatten_locations(messages)
            detail = (
                "The request body is not valid JSON."
                if status == 400
                else "The request does not match the schema; `errors` names the fields."
            )
        if status == 405:
            for name, value in error.get_headers():
                if name.lower() == "allow":
                    headers["Allow"] = value
        if status == 413:
            detail = "The request body is larger than the server accepts (1 MiB)."
        if status == 401:
            headers["WWW-Authenticate"] = WWW_AUTHENTICATE
        if status >= 500:
            # an uncaught exception was logged once already, with its traceback, by Flask
            # (Flask.log_exception: "Exception on PATH [METHOD]"); logging it here again
            # would double every traceback
            detail = _INTERNAL_DETAIL
        return problem_response(status, code, title, detail, extra=extra, headers=headers)

    def _register_responses(self) -> None:
        """Document every error response as problem+json with the Problem schema."""
        for status in http.HTTPStatus:
            response: dict[str, Any] = {"description": status.phrase}
            if not (100 <= status < 200) and status not in (204, 304):
                response["schema"] = self.ERROR_SCHEMA
            prepare_response(response, self.spec, PROBLEM_JSON)
            self.spec.components.response(status.name, response, lazy=True)
        response = {"description": "Default error response", "schema": self.ERROR_SCHEMA}
        prepare_response(response, self.spec, PROBLEM_JSON)
        self.spec.components.response("DEFAULT_ERROR", response, lazy=True)


def _title(status: int) -> str:
    try:
        return http.HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def _flatten_locations(messages: Any) -> Any:
    """webargs nests errors by location; one location (the usual case) is unwrapped."""
    if isinstance(messages, dict) and len(messages) == 1:
        ((location, inner),) = messages.items()
        if location in ("json", "query", "path", "headers", "form") and isinstance(inner, dict):
            return inner
        if location == "json" and isinstance(inner, list):
            return {"_body": inner}
    return messages


def handle_database_error(error: Exception) -> Response:
    """The database is unreachable or too slow: 503 `service_unavailable` with Retry-After and
    one log line (no traceback: an outage would otherwise flood the log). Any other database
    error is a defect and goes the 500 way."""
    if not is_unavailable(error):
        return current_app.handle_http_exception(  # type: ignore[return-value]
            InternalServerError(original_exception=error)
        )
    _rollback_request_session()
    if not _is_api_request():
        retry_after = current_app.extensions["licensesvc"].deadlines.retry_after
        return ServiceUnavailable(retry_after=retry_after).get_response()
    cause = getattr(error, "orig", None) or error
    first_line = (str(cause).strip().splitlines() or [type(cause).__name__])[0]
    current_app.logger.warning(
        "database unavailable on %s %s: %s: %s",
        request.method,
        request.path,
        type(cause).__name__,
        first_line[:200],
    )
    retry_after = current_app.extensions["licensesvc"].deadlines.retry_after
    return problem_response(
        503,
        "service_unavailable",
        "Service unavailable",
        "The database is unreachable or too slow right now; nothing was changed unless a "
        "later request shows it. Please retry after the time in Retry-After.",
        headers={"Retry-After": str(retry_after)},
    )


def register_error_handlers(app: Flask) -> None:
    from sqlalchemy.exc import DBAPIError
    from sqlalchemy.exc import TimeoutError as PoolTimeout

    # app-wide, because a database can fail in any before_request; off the API's paths
    # handle_database_error answers as Flask does (an HTML 503 page)
    for database_error in (DBAPIError, PoolTimeout, DeadlineExceeded):
        app.register_error_handler(database_error, handle_database_error)
