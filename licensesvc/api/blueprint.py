"""The Blueprint of every API resource: request schemas decide about unknown fields (they
RAISE), in the query string as in the body."""

from __future__ import annotations

from flask_smorest import Blueprint
from webargs.flaskparser import FlaskParser


class StrictParser(FlaskParser):
    # webargs EXCLUDEs unknown query parameters by default; defer to the schema's RAISE
    DEFAULT_UNKNOWN_BY_LOCATION: dict[str, str | None] = {}


class ApiBlueprint(Blueprint):
    ARGUMENTS_PARSER = StrictParser()
