"""`gunicorn wsgi:app` serves licensesvc with settings from LICENSESVC_* variables."""

from licensesvc.app import create_app

app = create_app()
