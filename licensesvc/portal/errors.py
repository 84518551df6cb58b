"""Errors on the portal's pages are HTML pages in the portal's look, never problem+json:
404, 403, 400 (CSRF), 405, 429 and 500. Requests to the JSON API keep its handler."""

from __future__ import annotations

from typing import cast

from flask import Flask, current_app, g, request
from flask.typing import ResponseReturnValue
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError

from licensesvc.domain.errors import ServiceError
from licensesvc.ratelimit import RateLimited

from .rendering import render_template
from .views import bp

TITLES = {
    400: "The request could not be read",
    401: "Please sign in",
    403: "Not allowed",
    404: "Page not found",
    405: "Not possible here",
    409: "Already done",
    422: "Please check the form",
    429: "Too many attempts",
    500: "Something went wrong",
    503: "Temporarily unavailable",
}


def _rollback() -> None:
    session = g.get("db_session")
    if session is not None:
        try:
            session.rollback()
        except Exception:  # a broken connection must not hide the original error
            current_app.logger.exception("rollback after an error failed")


def error_page(
    status: int, message: str, headers: dict[str, str] | None = None
) -> tuple[str, int, dict[str, str]]:
    _rollback()
    title = TITLES.get(status, "Error")
    body = render_template("portal/error.html", status=status, title=title, message=message)
    return body, status, headers or {}


def _http_error(error: HTTPException) -> ResponseReturnValue:
    status = error.code or 500
    headers = {}
    retry = getattr(error, "retry_after", None)
    if retry is not None:
        headers["Retry-After"] = str(retry)
    if status >= 500:
        original = getattr(error, "original_exception", None)
        if original is not None:
            current_app.logger.error(
                "unhandled exception on %s %s", request.method, request.path, exc_info=original
            )
        return error_page(status, "An unexpected error occurred. Please try again later.")
    message = error.description or TITLES.get(status, "Error")
    if status == 404 and message.startswith("The requested URL was not found"):
        message = "There is no such page, or it is not yours to see."
    if status == 405:
        message = "This page cannot be used that way."
    return error_page(status, message, headers)


def _csrf_error(_error: CSRFError) -> ResponseReturnValue:
    return error_page(
        400,
        "This form has expired or did not come from this site, so nothing was changed. "
        "Go back, reload the page and try again.",
    )


def _service_error(error: ServiceError) -> ResponseReturnValue:
    if error.status == 404:
        return error_page(404, "There is no such page, or it is not yours to see.")
    return error_page(error.status, error.message)


def _rate_limited(error: RateLimited) -> ResponseReturnValue:
    """A rate limit met on a portal page (an address past the failed-authentication limit, a
    customer past its key-request or escalation limit): the 429 page with Retry-After, not
    the catch-all's 500."""
    wait = error.retry_after
    shown = f"{wait} seconds" if wait < 120 else f"{-(-wait // 60)} minutes"
    return error_page(
        429,
        f"Too many requests. Try again in {shown}.",
        {"Retry-After": str(wait)},
    )


def _unexpected(error: Exception) -> ResponseReturnValue:
    if isinstance(error, HTTPException):
        return _http_error(error)
    current_app.logger.error(
        "unhandled exception on %s %s", request.method, request.path, exc_info=error
    )
    return error_page(500, "An unexpected error occurred. Please try again later.")


def _is_api_path() -> bool:
    path = request.path
    return path == "/v1" or path.startswith("/v1/") or path in ("/openapi.json", "/docs")


def _prefers_html() -> bool:
    accept = request.accept_mimetypes
    return accept["text/html"] > accept["application/json"]


def register_error_pages(app: Flask) -> None:
    """Portal views: HTML for every error. Paths outside every blueprint (an unknown URL, or
    a wrong method on one) get the portal's 404/405 page when a browser asks, and the API's
    problem+json otherwise."""

    def outside_blueprints(error: HTTPException) -> ResponseReturnValue:
        # (code-specific handlers of the app come before the blueprint's own)
        if request.blueprint == bp.name:
            return _http_error(error)
        if request.blueprint is None and not _is_api_path() and _prefers_html():
            from . import sessions

            g.portal_user = sessions.load()  # the page keeps the signed-in navigation
            return _http_error(error)
        generic = app.error_handler_spec.get(None, {}).get(None, {}).get(HTTPException)
        if generic is None:
            return error
        return cast(ResponseReturnValue, generic(error))

    for code in (404, 405):
        app.register_error_handler(code, outside_blueprints)


bp.register_error_handler(CSRFError, _csrf_error)
bp.register_error_handler(HTTPException, _http_error)
bp.register_error_handler(ServiceError, _service_error)
bp.register_error_handler(RateLimited, _rate_limited)
bp.register_error_handler(InternalServerError, _http_error)
bp.register_error_handler(Exception, _unexpected)
