"""The JSON API under /v1 (flask-smorest)."""

from __future__ import annotations

from flask import Flask
from werkzeug.routing import BaseConverter

from .problems import LicensesvcApi, register_error_handlers


class SerialConverter(BaseConverter):
    """A path segment that is not `verify`."""

    regex = r"(?!verify(?:/|$))[^/]+"


API_INFO_DESCRIPTION = (
    "License keys and entitlements. Authenticate with `Authorization: Bearer <token>`; "
    "errors are `application/problem+json` with a stable `code`. A readable reference is "
    "served at `/docs`."
)


def init_api(app: Flask) -> None:
    """Register the API blueprints, the OpenAPI document and problem+json errors (for the
    API's paths only)."""
    from . import (
        case_update_views,
        contract_views,
        entitlement_views,
        key_request_views,
        key_views,
        log_views,
        public_views,
        webhook_views,
    )
    from .reference import reference_blueprint

    app.config.update(
        API_TITLE="licensesvc",
        API_VERSION="v1",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/",
        OPENAPI_JSON_PATH="openapi.json",
        API_SPEC_OPTIONS={
            "info": {"description": API_INFO_DESCRIPTION},
            "security": [{"bearerAuth": []}],
            "components": {
                "securitySchemes": {
                    "bearerAuth": {
                        "type": "http",
                        "scheme": "bearer",
                        "description": "an API token from `licensesvc token create`",
                    }
                }
            },
        },
    )
    # a key's serial in a path: never the word "verify" (POST /v1/keys/verify is its own route,
    # so GET /v1/keys/verify is a 405 whose Allow says POST only)
    app.url_map.converters["serial"] = SerialConverter
    # unknown query parameters are errors too, like unknown body fields
    api = LicensesvcApi(app)
    register_error_handlers(app)
    # public first: /v1/keys/verify must not fall under the keys blueprint's token check
    for blueprint in (
        public_views.blp,
        entitlement_views.blp,
        key_request_views.blp,
        key_views.blp,
        contract_views.blp,
        case_update_views.blp,
        webhook_views.blp,
        log_views.blp,
        log_views.tiles,
    ):
        api.register_blueprint(blueprint)
    public_views.install_lean_verify(app)
    entitlement_views.install_lean_entitlements(app)
    app.register_blueprint(reference_blueprint(api))
