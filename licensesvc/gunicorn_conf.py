"""gunicorn settings for licensesvc (`licensesvc serve` reads them; or
`gunicorn -c python:licensesvc.gunicorn_conf wsgi:app`).

Workers are gthread workers (threads share one process and its connection pool), so /healthz
is answered by a free thread while others wait for the database; every such wait is bounded
(`licensesvc.db.DatabaseDeadlines`), so a thread is free again within the request deadline.

On SIGTERM each worker first drains: it fails /readyz, keeps accepting for at least
`LICENSESVC_DRAIN_SECONDS` (so a load balancer sees the failing probe and stops sending), then
until the kernel's listen queue is empty, and only then stops like a plain gthread worker
(finishing in-flight requests within graceful_timeout). Stock gunicorn closes the listening
socket at once: every connection still in the listen queue is reset, though the kernel had
accepted it (docs/reliability.md measures both)."""

from __future__ import annotations

import os
import socket
import struct
import sys
import threading
import time
from typing import Any

from gunicorn.workers.gthread import ThreadWorker  # type: ignore[import-untyped]


def _number(name: str, default: float) -> float:
    raw = os.environ.get(name)
    return float(raw) if raw else default


#: set in a worker once it received SIGTERM: /readyz answers 503 "draining"
DRAINING = threading.Event()

workers = int(_number("LICENSESVC_WORKERS", 2))
worker_class = "licensesvc.gunicorn_conf.DrainingThreadWorker"
threads = int(_number("LICENSESVC_THREADS", 4))
#: a worker silent this long is killed; every database deadline is below it
timeout = 30
#: after SIGTERM: drain plus in-flight requests must finish within this
graceful_timeout = int(_number("LICENSESVC_GRACEFUL_TIMEOUT", 25))
keepalive = 5
backlog = 2048
limit_request_line = 8190
limit_request_fields = 100
limit_request_field_size = 8190
# no gunicorn access log: licensesvc.observability writes one JSON line per request
accesslog = None
errorlog = "-"
proc_name = "licensesvc"
#: recent gunicorn opens a control socket at one fixed path per user: two servers on one
#: host would fight over it, so it is off unless LICENSESVC_CONTROL_SOCKET names a path
if os.environ.get("LICENSESVC_CONTROL_SOCKET"):
    control_socket = os.environ["LICENSESVC_CONTROL_SOCKET"]
control_socket_disable = not os.environ.get("LICENSESVC_CONTROL_SOCKET")

#: seconds a worker keeps accepting after SIGTERM before it looks at the listen queue
DRAIN_SECONDS = _number("LICENSESVC_DRAIN_SECONDS", 0.0)
#: the listen queue must stay empty this long before the worker stops accepting
DRAIN_QUIET = 0.3


def listen_queue_length(sock: Any) -> int | None:
    """Connections waiting in a listening socket's accept queue (Linux TCP_INFO tcpi_unacked),
    or None where the kernel does not say."""
    if not sys.platform.startswith("linux") or sock.family not in (
        socket.AF_INET,
        socket.AF_INET6,
    ):
        return None
    try:
        info = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 104)
    except OSError:
        return None
    # struct tcp_info: 8 one-byte fields, then u32 rto, ato, snd_mss, rcv_mss, unacked, ...
    length: int = struct.unpack_from("I", info, 8 + 4 * 4)[0]
    return length


class DrainingThreadWorker(ThreadWorker):  # type: ignore[misc]
    """A gthread worker that empties the listen queue before it stops (see module doc)."""

    def handle_exit(self, sig: int, frame: Any) -> None:
        if not self.alive or DRAINING.is_set():
            return
        DRAINING.set()
        self.log.info("worker %s draining before exit", self.pid)
        threading.Thread(target=self._drain, name="drain", daemon=True).start()

    def _drain(self) -> None:
        started = time.monotonic()
        limit = started + max(1.0, self.cfg.graceful_timeout / 2)
        quiet_since: float | None = None
        while time.monotonic() < limit:
            now = time.monotonic()
            lengths = [listen_queue_length(s) for s in self.sockets]
            if any(n is None for n in lengths):
                empty = now - started >= max(DRAIN_SECONDS, 1.0)  # cannot look: wait 1 s
            else:
                empty = now - started >= DRAIN_SECONDS and not any(lengths)
            if not empty:
                quiet_since = None
            elif quiet_since is None:
                quiet_since = now
            elif now - quiet_since >= DRAIN_QUIET:
                break
            time.sleep(0.05)
        self.method_queue.defer(self._stop)

    def _stop(self) -> None:
        self.alive = False


def on_starting(server: Any) -> None:
    """Empty PROMETHEUS_MULTIPROC_DIR before the workers start (see licensesvc.observability)."""
    from licensesvc.observability import gunicorn_on_starting

    gunicorn_on_starting(server)


def child_exit(server: Any, worker: Any) -> None:
    """Drop a dead worker's live gauges from the multiprocess metrics."""
    from licensesvc.observability import gunicorn_child_exit

    gunicorn_child_exit(server, worker)
