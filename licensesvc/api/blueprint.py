"""The Blueprint of every API resource: request schemas decide about unknown fields (they
RAISE), in the query string as in the body, and a domain error (ServiceError) raised in its
views becomes problem+json. The handler is scoped to these blueprints: a domain error on any
other route (the portal's pages) gets that route's own handling."""

from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint
from webargs.flaskparser import FlaskParser

from licensesvc.services.errors import ServiceError

from .problems import handle_service_error


class StrictParser(FlaskParser):
    # webargs EXCLUDEs unknown query parameters by default; defer to the schema's RAISE
    DEFAULT_UNKNOWN_BY_LOCATION: dict[str, str | None] = {}


class ApiBlueprint(Blueprint):
    ARGUMENTS_PARSER = StrictParser()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.register_error_handler(ServiceError, handle_service_error)
