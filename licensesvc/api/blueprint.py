"""The Blueprint of every API resource: request schemas decide about unknown fields (they
RAISE), in the query string as in the body, and a domain error (ServiceError) raised in its
views becomes problem+json. The handler is scoped to these blueprints: a domain error on any
other route (the portal's pages) gets that route's own handling."""

from __future__ import annotations

from typing import Any

import flask
from flask import request
from flask_smorest import Blueprint
from webargs import core
from webargs.flaskparser import FlaskParser, abort, is_json_request
from werkzeug.exceptions import NotFound

from licensesvc.domain.errors import ServiceError, ValidationFailed
from licensesvc.platform import inputs

from .problems import handle_service_error

#: the converter of an id in a path: 1..2^31-1 (platform.inputs.DB_INT_MAX), so a larger
#: number is a 404 before it reaches the database, and the OpenAPI document says the range
ID_IN_PATH = f"int(min=1, max={inputs.DB_INT_MAX})"


class StrictParser(FlaskParser):
    # webargs EXCLUDEs unknown query parameters by default; defer to the schema's RAISE
    DEFAULT_UNKNOWN_BY_LOCATION: dict[str, str | None] = {}

    def _raw_load_json(self, req: flask.Request) -> Any:
        """The body parsed by platform.inputs.loads_json: a nesting limit checked before
        parsing, duplicate members and NaN refused (422 validation_error); text that is not
        JSON stays webargs' 400."""
        if not is_json_request(req):
            return core.missing
        try:
            return inputs.loads_json(req.get_data(cache=True))
        except ValidationFailed as exc:
            abort(422, messages={"json": exc.extra.get("errors", {"_body": [exc.message]})})


def reject_control_characters_in_path() -> None:
    """before_request of every API blueprint: a path segment (a serial, a case number) with a
    control character names nothing, and must not reach the database (PostgreSQL refuses NUL)."""
    for value in (request.view_args or {}).values():
        if isinstance(value, str) and inputs.text_problem(value) is not None:
            raise NotFound()


#: the X-Pagination header as the OpenAPI document states it: a header's value is a string,
#: here a JSON document (flask-smorest's own doc gives it an object schema, which no header
#: value can match)
PAGINATION_HEADER_DOC = {
    "description": "the page as JSON: total, total_pages, first_page, last_page, page, "
    "previous_page, next_page (page, previous_page and next_page only where there is one)",
    "schema": {"type": "string"},
    "example": '{"total": 120, "total_pages": 3, "first_page": 1, "last_page": 3, '
    '"page": 1, "next_page": 2}',
}


class ApiBlueprint(Blueprint):
    ARGUMENTS_PARSER = StrictParser()

    def arguments(self, schema: Any, *args: Any, **kwargs: Any) -> Any:
        """flask-smorest's `arguments`, with a schema class made into its instance once, here:
        given a class, webargs makes a fresh instance on every request (a deep copy of every
        field), a visible share of a small request's time (bench/server_bench.py --profile).
        Request schemas hold no per-request state, so one instance serves every thread."""
        if isinstance(schema, type):
            schema = schema()
        return super().arguments(schema, *args, **kwargs)

    def _document_pagination_metadata(self, spec: Any, resp_doc: dict[str, Any]) -> None:
        resp_doc.setdefault("headers", {})[self.PAGINATION_HEADER_NAME] = PAGINATION_HEADER_DOC

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.register_error_handler(ServiceError, handle_service_error)
        self.before_request(reject_control_characters_in_path)
