"""The portal's pages, rendered under Jinja's `StrictUndefined`: a template that reads a name
or a field that does not exist raises (and a test of that page fails) instead of rendering
nothing. An overlay of the app's environment: the same loader, filters and globals, its own
undefined (the API's reference pages keep the app's)."""

from __future__ import annotations

from typing import Any

from flask import Flask, current_app
from jinja2 import Environment, StrictUndefined

_EXTENSION = "licensesvc.portal.templates"


def portal_environment(app: Flask) -> Environment:
    """The app's Jinja environment with StrictUndefined, made once per app."""
    env = app.extensions.get(_EXTENSION)
    if env is None:
        env = app.jinja_env.overlay(undefined=StrictUndefined)
        app.extensions[_EXTENSION] = env
    assert isinstance(env, Environment)
    return env


def render_template(name: str, **context: Any) -> str:
    """flask.render_template for the portal's templates: the context processors' names (url_for,
    the portal's globals) and the given context, under StrictUndefined."""
    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    app.update_template_context(context)
    return portal_environment(app).get_template(name).render(context)
