"""The one gunicorn launcher of the tests and of `bench/`: a server on a free port of
127.0.0.1, ready (its ready path answers 200) before the block runs, stopped after it.

Standard library only: `bench/` imports it without the test dependencies."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

#: the repository root: gunicorn imports `wsgi` and `licensesvc` from here
ROOT = Path(__file__).resolve().parents[2]

#: how long a server may take to answer its ready path (a worker can take seconds to import
#: the app on a busy machine)
READY_WITHIN = 60.0


def free_port() -> int:
    """A TCP port of 127.0.0.1 that nothing listens on (at the time of asking)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class Server:
    """A running gunicorn: its base URL, its process and the file its output goes to."""

    base_url: str
    process: subprocess.Popen[bytes]
    log: Path

    def url(self, path: str) -> str:
        return self.base_url + path


def wait_until_ready(server: Server, path: str = "/readyz") -> None:
    """Return when GET path answers 200; raise RuntimeError (with the server's log) if the
    server exits or does not answer within READY_WITHIN seconds."""
    deadline = time.monotonic() + READY_WITHIN
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"gunicorn exited:\n{_tail(server.log)}")
        try:
            with urllib.request.urlopen(server.url(path), timeout=5) as answer:
                if answer.status == 200:
                    return
        except OSError:  # not listening yet, workers still booting, or 503 (HTTPError)
            pass
        time.sleep(0.2)
    raise RuntimeError(f"gunicorn did not become ready:\n{_tail(server.log)}")


def _tail(log: Path) -> str:
    return log.read_text(errors="replace")[-3000:]


@contextmanager
def gunicorn(
    env: Mapping[str, str],
    log_dir: Path,
    *,
    app: str = "wsgi:app",
    workers: int | None = 2,
    config: str | None = None,
    options: Sequence[str] = (),
    cwd: Path = ROOT,
    metrics_dir: Path | None = None,
    ready_path: str = "/readyz",
    stop_within: float = 15.0,
) -> Iterator[Server]:
    """Run `gunicorn app` on a free port of 127.0.0.1 until the block ends.

    env is added to this process's environment (PYTHONPATH is the repository root); its
    output goes to `log_dir/gunicorn-<port>.log`. config names a gunicorn configuration
    (`python:licensesvc.gunicorn_conf`); workers, unless None, is `--workers`; options are
    further command-line options. Run from cwd (the repository root: a directory without a
    gunicorn.conf.py, which gunicorn would otherwise read). With metrics_dir, each server
    gets an empty `metrics_dir/metrics-<port>` as PROMETHEUS_MULTIPROC_DIR. At the end the
    server gets SIGTERM and stop_within seconds to exit (then SIGKILL)."""
    port = free_port()
    log = log_dir / f"gunicorn-{port}.log"
    command = [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}"]
    if config is not None:
        command += ["--config", config]
    if workers is not None:
        command += ["--workers", str(workers)]
    command += [*options, app]
    full_env = {**os.environ, "PYTHONPATH": str(ROOT), **env}
    if metrics_dir is not None:
        multiproc = metrics_dir / f"metrics-{port}"
        multiproc.mkdir(parents=True)
        full_env["PROMETHEUS_MULTIPROC_DIR"] = str(multiproc)
    with log.open("wb") as out:
        process = subprocess.Popen(
            command, cwd=cwd, env=full_env, stdout=out, stderr=subprocess.STDOUT
        )
    server = Server(f"http://127.0.0.1:{port}", process, log)
    try:
        wait_until_ready(server, ready_path)
        yield server
    finally:
        if process.poll() is None:
            process.terminate()
        try:
            process.wait(timeout=stop_within)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)
