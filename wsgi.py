"""`gunicorn wsgi:app` serves licensesvc with settings from LICENSESVC_* variables; each worker
integrates the transparency log every second (LICENSESVC_LOG_INTEGRATE_EVERY, 0: off)."""

from licensesvc.app import create_app

app = create_app(log_integrator=True)
