"""`licensesvc serve`: the web app under gunicorn."""

from __future__ import annotations

import ipaddress
import sys
from typing import Any

import click

from cli.output import json_option, print_json
from cli.state import CliState, pass_state


def _gunicorn_application(app: Any, options: dict[str, Any]) -> Any:
    from gunicorn.app.base import BaseApplication  # type: ignore[import-untyped]

    class LicensesvcApplication(BaseApplication):  # type: ignore[misc]
        """gunicorn driven from code: our options, our app, no command-line parsing."""

        def __init__(self) -> None:
            self.application = app
            self.options = options
            super().__init__()

        def load_config(self) -> None:
            # the settings of licensesvc/gunicorn_conf.py first, then our options over them
            from licensesvc import gunicorn_conf

            for name in self.cfg.settings:
                if hasattr(gunicorn_conf, name):
                    self.cfg.set(name, getattr(gunicorn_conf, name))
            for name, value in self.options.items():
                self.cfg.set(name, value)

        def load(self) -> Any:
            return self.application

    return LicensesvcApplication()


#: said on stderr when serve listens beyond this machine
BEYOND_LOOPBACK = (
    "warning: listening on {host}, beyond this machine. Never expose gunicorn to clients"
    " directly: a slow client can hold its worker threads. Put a buffering proxy in front"
    " (nginx: deploy/nginx.conf, docs/deployment.md)."
)


def beyond_loopback(host: str) -> bool:
    """Whether host (serve's --host) lets other machines connect: anything but a loopback
    address or `localhost` (a name other than that may resolve anywhere)."""
    if host.lower() == "localhost":
        return False
    try:
        return not ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return True


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port", type=click.IntRange(0, 65535), default=8000, show_default=True, help="TCP port."
)
@click.option(
    "--workers",
    default=None,
    type=click.IntRange(min=1),
    help="gunicorn worker processes (default: LICENSESVC_WORKERS, else 2).",
)
@json_option
@pass_state
def serve(state: CliState, host: str, port: int, workers: int | None) -> None:
    """Serve the JSON API and its reference page (/docs) with gunicorn until interrupted.

    The first line printed is `licensesvc serving on http://HOST:PORT`. gunicorn's settings
    (gthread workers, timeouts, backlog, request limits) come from licensesvc/gunicorn_conf.py;
    SIGTERM drains: /readyz fails, queued connections are served, then workers stop
    (docs/reliability.md).

    Bound beyond loopback (`--host 0.0.0.0`) it warns on stderr: never expose gunicorn to
    clients directly; put a buffering proxy such as nginx in front (docs/deployment.md).

    \b
    Example:
      licensesvc serve --host 0.0.0.0 --port 8000 --workers 4
    """
    from licensesvc import gunicorn_conf
    from licensesvc.app import create_app

    workers = workers or gunicorn_conf.workers
    if beyond_loopback(host):
        click.echo(BEYOND_LOOPBACK.format(host=host), err=True)

    with state.unit_of_work():
        pass  # fail with one line now if the database is unreachable or not migrated
    runtime = state.runtime
    app = create_app(runtime=runtime)
    runtime.engine.dispose()  # no pooled connection may cross the fork into the workers
    url = f"http://{host}:{port}"
    if state.json:
        print_json({"serving": url, "workers": workers})
    else:
        click.echo(f"licensesvc serving on {url}")
    sys.stdout.flush()
    _gunicorn_application(
        app,
        {
            "bind": f"{host}:{port}",
            "workers": workers,
        },
    ).run()
