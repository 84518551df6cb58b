"""The server launchers of the tests and of `bench/`, gunicorn's and Granian's: a server on
a free port of 127.0.0.1, ready (its ready path answers 200) before the block runs, stopped
after it. `LICENSESVC_TEST_SERVER=granian` makes `serve` (the reliability tests' launcher)
start Granian instead of gunicorn (`bench/server_checks.py` runs the checks under both).

Standard library only: `bench/` imports it without the test dependencies."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
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


#: the environment variable that picks the server `serve` starts: gunicorn (unset) or granian
SERVER_ENV = "LICENSESVC_TEST_SERVER"
SERVER_KINDS = ("gunicorn", "granian")


def server_kind() -> str:
    """The server the tests run under (SERVER_ENV): "gunicorn" unless it says "granian"."""
    kind = os.environ.get(SERVER_ENV, "").strip().lower() or "gunicorn"
    if kind not in SERVER_KINDS:
        raise ValueError(f"{SERVER_ENV} must be one of {', '.join(SERVER_KINDS)}, not {kind!r}")
    return kind


@dataclass
class Server:
    """A running server (gunicorn or Granian): its base URL, its main process (the one that
    gets SIGTERM; the workers are its children) and the file its output goes to."""

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
            raise RuntimeError(f"the server exited:\n{_tail(server.log)}")
        try:
            with urllib.request.urlopen(server.url(path), timeout=5) as answer:
                if answer.status == 200:
                    return
        except OSError:  # not listening yet, workers still booting, or 503 (HTTPError)
            pass
        time.sleep(0.2)
    raise RuntimeError(f"the server did not become ready:\n{_tail(server.log)}")


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
    command = [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}"]
    if config is not None:
        command += ["--config", config]
    if workers is not None:
        command += ["--workers", str(workers)]
    command += [*options, app]
    with _running(
        "gunicorn", port, command, env, log_dir, cwd, metrics_dir, ready_path, stop_within
    ) as server:
        yield server


#: Granian's options for licensesvc (`granian()`): HTTP/1 only, a worker that dies
#: is replaced (as gunicorn's are), and one that has not stopped 25 s after SIGTERM is killed
#: (gunicorn_conf.py's graceful_timeout; without it Granian waits for ever for a worker that
#: was still booting when SIGTERM came); its thread and queue sizes are Granian's defaults
GRANIAN_OPTIONS = (
    "--http",
    "1",
    "--no-ws",
    "--respawn-failed-workers",
    "--respawn-interval",
    "1",
    "--workers-kill-timeout",
    "25",
)


@contextmanager
def granian(
    env: Mapping[str, str],
    log_dir: Path,
    *,
    app: str = "wsgi:app",
    workers: int = 2,
    options: Sequence[str] = GRANIAN_OPTIONS,
    cwd: Path = ROOT,
    metrics_dir: Path | None = None,
    ready_path: str = "/readyz",
    stop_within: float = 15.0,
) -> Iterator[Server]:
    """Run Granian 2 (`granian APP`, the WSGI interface) on a free port of 127.0.0.1 until the
    block ends; the arguments are gunicorn()'s. options default to GRANIAN_OPTIONS (pass ()
    for Granian's own defaults); LICENSESVC_HEADER_TIMEOUT in env (seconds) becomes
    `--http1-header-read-timeout`, Granian's deadline for a request's header (else 10 s, as
    licensesvc/gunicorn_conf.py's). At the end Granian's main process gets SIGTERM (it stops
    its workers) and stop_within seconds to exit (then SIGKILL)."""
    port = free_port()
    command = [
        str(Path(sys.executable).with_name("granian")),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--interface",
        "wsgi",
        *options,
    ]
    if options == GRANIAN_OPTIONS:
        header = float(env.get("LICENSESVC_HEADER_TIMEOUT") or 10.0)
        command += ["--http1-header-read-timeout", str(round(header * 1000))]
    command.append(app)
    with _running(
        "granian", port, command, env, log_dir, cwd, metrics_dir, ready_path, stop_within
    ) as server:
        yield server


@contextmanager
def serve(
    env: Mapping[str, str],
    log_dir: Path,
    *,
    workers: int = 2,
    config: str | None = None,
    stop_within: float = 15.0,
) -> Iterator[Server]:
    """licensesvc (`wsgi:app`) under the server SERVER_ENV names: gunicorn with config (None:
    stock gunicorn), or Granian with GRANIAN_OPTIONS (config does not apply to it)."""
    if server_kind() == "granian":
        with granian(env, log_dir, workers=workers, stop_within=stop_within) as server:
            yield server
    else:
        with gunicorn(
            env, log_dir, workers=workers, config=config, stop_within=stop_within
        ) as server:
            yield server


@contextmanager
def _running(
    name: str,
    port: int,
    command: list[str],
    env: Mapping[str, str],
    log_dir: Path,
    cwd: Path,
    metrics_dir: Path | None,
    ready_path: str,
    stop_within: float,
) -> Iterator[Server]:
    log = log_dir / f"{name}-{port}.log"
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
            workers = _children(process.pid)
            process.kill()
            process.wait(timeout=5)
            for pid in workers:  # a hung server's workers, orphaned now: none holds the port
                if _orphaned(pid):
                    with suppress(ProcessLookupError):
                        os.kill(pid, signal.SIGKILL)


def _children(pid: int) -> list[int]:
    """The processes pid started (its workers), as far as Linux says."""
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def _orphaned(pid: int) -> bool:
    """Whether pid still runs with init as its parent (its server was killed)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    return "\nPPid:\t1\n" in status
