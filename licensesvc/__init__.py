"""licensesvc: a license key and entitlement server."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from flask import Flask

    from .config import Settings

__all__ = ["create_app"]


def create_app(settings: Settings | None = None) -> Flask:
    """Build the Flask app (imported lazily so the CLI's offline paths never load Flask)."""
    from .app import create_app as _create_app

    return _create_app(settings)
