"""The JSON API under /v1 (flask-smorest)."""

from __future__ import annotations

from flask import Flask


def init_api(app: Flask) -> None:
    """Register the API blueprints, the OpenAPI document and problem+json errors."""
