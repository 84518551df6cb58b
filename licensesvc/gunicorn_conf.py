"""gunicorn settings for licensesvc (`licensesvc serve` reads them; or
`gunicorn -c python:licensesvc.gunicorn_conf wsgi:app`).

Workers are gthread workers (threads share one process and its connection pool). `GET /healthz`
is answered by the worker's event loop itself, never by a thread: with every thread waiting for
a slow or silent database it still answers at once (issue 19: it took 45 s, queued behind
them); it reads a new connection's request as it accepts it, so a health check is answered in
one turn of the loop (each turn waits for the GIL again, docs/reliability.md), and a connection
closed after its answer waits for the client's FIN without holding the loop (as gthread's
close_graceful did, up to 2 s). Requests that only read (GET, HEAD, OPTIONS, and POST
/v1/keys/verify) run on threads of their own (`LICENSESVC_READ_THREADS`, as many as `threads`
unless set), so a read never queues behind writes that wait for a lock another session holds
(issue 19: reads took 8.8 s). Every wait for the database is bounded
(`licensesvc.db.DatabaseDeadlines`), so a thread is free again within the request deadline,
counted from the request's arrival (`ARRIVED`).

On SIGTERM each worker first drains: it fails /readyz, keeps accepting for at least
`LICENSESVC_DRAIN_SECONDS` (so a load balancer sees the failing probe and stops sending), then
until the kernel's listen queue is empty, and only then stops like a plain gthread worker
(finishing in-flight requests within graceful_timeout). Stock gunicorn closes the listening
socket at once: every connection still in the listen queue is reset, though the kernel had
accepted it (docs/reliability.md measures both).

A request's header is read in the worker's event loop, never by a thread: a thread is given
the connection only once the whole header is there, and a client that takes longer than
`LICENSESVC_HEADER_TIMEOUT` seconds (10) from the header's first byte to its end is
disconnected. Stock gthread hands a connection to a thread at its first byte, so four
connections sending one header line a second held every thread of two workers and /healthz
went unanswered (issue 24, finding 7). Request bodies are still read by the thread: never
expose gunicorn itself; a buffering proxy (nginx, docs/deployment.md) goes in front."""

from __future__ import annotations

import errno
import json
import os
import selectors
import socket
import struct
import sys
import threading
import time
from collections import deque
from concurrent import futures
from functools import partial
from typing import Any

from gunicorn import util  # type: ignore[import-untyped]
from gunicorn.http.errors import (  # type: ignore[import-untyped]
    LimitRequestHeaders,
    LimitRequestLine,
)
from gunicorn.workers.gthread import (  # type: ignore[import-untyped]
    _DEFER,
    TConn,
    ThreadWorker,
)


def _number(name: str, default: float) -> float:
    raw = os.environ.get(name)
    return float(raw) if raw else default


#: set in a worker once it received SIGTERM: /readyz answers 503 "draining"
DRAINING = threading.Event()
#: per thread: when the request it serves arrived (monotonic; its header complete), so the
#: app counts the request's deadline from there, time queued for a thread included
ARRIVED = threading.local()

workers = int(_number("LICENSESVC_WORKERS", 2))
worker_class = "licensesvc.gunicorn_conf.DrainingThreadWorker"
#: 2, from `bench/server_bench.py --tune` (docs/performance.md): on PostgreSQL 2 threads a
#: worker served the most key requests and entitlement reports, 1 thread more verifications,
#: 4 and 8 fewer of everything (more threads only queue for the GIL); and a second thread
#: answers /healthz while the other waits for the database
threads = int(_number("LICENSESVC_THREADS", 2))
#: threads per worker for requests that only read (see the module's doc)
read_threads = int(_number("LICENSESVC_READ_THREADS", threads))
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

#: seconds a client has from the first byte of a request's header to its end (slowloris)
HEADER_TIMEOUT = _number("LICENSESVC_HEADER_TIMEOUT", 10.0)
#: the end of a request's header
_HEADER_END = b"\r\n\r\n"
#: more header than gunicorn's limits allow: handed to its parser, which refuses it (431)
_MAX_HEADER = limit_request_line + limit_request_fields * (limit_request_field_size + 2) + 4

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


#: gunicorn's own refusals, answered as problem+json (codes of licensesvc/api/error_codes.py)
#: instead of gunicorn's HTML page: exception type -> (status, reason phrase, code, detail)
OWN_REFUSALS: dict[type[BaseException], tuple[int, str, str, str]] = {
    LimitRequestLine: (
        414,
        "URI Too Long",
        "uri_too_long",
        f"The request line is longer than {limit_request_line} bytes.",
    ),
    LimitRequestHeaders: (
        431,
        "Request Header Fields Too Large",
        "header_fields_too_large",
        f"More than {limit_request_fields} header fields, or one longer than "
        f"{limit_request_field_size} bytes.",
    ),
}


def own_refusal(exc: BaseException) -> bytes | None:
    """The whole HTTP answer (problem+json, `Connection: close`) to a request gunicorn refused
    before the app saw it, or None when gunicorn's own answer stands."""
    for kind, (status, reason, code, detail) in OWN_REFUSALS.items():
        if isinstance(exc, kind):
            body = json.dumps(
                {
                    "type": f"/docs#problem-{code}",
                    "title": reason,
                    "status": status,
                    "detail": detail,
                    "code": code,
                }
            ).encode()
            head = (
                f"HTTP/1.1 {status} {reason}\r\nConnection: close\r\n"
                f"Content-Type: application/problem+json\r\nContent-Length: {len(body)}\r\n"
                "X-Content-Type-Options: nosniff\r\nCache-Control: no-store\r\n\r\n"
            )
            return head.encode("latin-1") + body
    return None


#: seconds a connection closed after its answer waits for the client to close its side, and
#: the most bytes it drains meanwhile (gunicorn's close_graceful)
LINGER_SECONDS = 2.0
LINGER_DRAIN = 65536

#: the whole answer to `GET /healthz` given by the event loop (as the app's /healthz says it)
_HEALTH_BODY = b'{"status":"ok"}\n'
HEALTH_ANSWER = (
    b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Type: application/json\r\n"
    b"Content-Length: %d\r\nCache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\n"
    b"Referrer-Policy: no-referrer\r\nX-Frame-Options: DENY\r\n"
    b"Content-Security-Policy: frame-ancestors 'none'\r\n\r\n" % len(_HEALTH_BODY)
) + _HEALTH_BODY
#: requests served by the read threads: safe methods, and verification (a POST that reads)
_READ_METHODS = (b"GET", b"HEAD", b"OPTIONS")
_READ_POSTS = (b"/v1/keys/verify",)


def only_reads(head: bytes) -> bool:
    """Whether the request whose header is head only reads (its request line says so)."""
    parts = head.split(b"\r\n", 1)[0].split(b" ")
    if len(parts) != 3:
        return False
    if parts[0] in _READ_METHODS:
        return True
    return parts[0] == b"POST" and parts[1].split(b"?", 1)[0] in _READ_POSTS


#: a request header this short (and without a body) may be a health check
_HEALTH_HEAD_LIMIT = 4096


def is_health_check(head: bytes) -> bool:
    """Whether head (what a client sent, through the end of its header) is exactly one
    `GET /healthz` request with no body and nothing after it, within gunicorn's
    limits: the event loop answers it. Anything else goes to gunicorn's parser."""
    end = head.find(_HEADER_END)
    if end < 0 or end + len(_HEADER_END) != len(head) or len(head) > _HEALTH_HEAD_LIMIT:
        return False
    lines = head[:end].split(b"\r\n")
    parts = lines[0].split(b" ")
    if len(parts) != 3 or parts[0] != b"GET" or parts[2] != b"HTTP/1.1":
        return False
    if parts[1].split(b"?", 1)[0] != b"/healthz" or len(lines) - 1 > limit_request_fields:
        return False
    for line in lines[1:]:
        name, colon, value = line.partition(b":")
        if not colon or not name or name != name.strip():
            return False
        if name.lower() in (b"content-length", b"transfer-encoding") and value.strip() != b"0":
            return False
    return True


class DrainingThreadWorker(ThreadWorker):  # type: ignore[misc]
    """A gthread worker that reads each request's header in its event loop within a deadline
    (slowloris), empties the listen queue before it stops (see module doc), and answers
    gunicorn's own 414 and 431 as problem+json."""

    def accept(self, listener: Any) -> None:
        """Accept a connection and read its request at once, in the event loop, not in a
        thread: a client usually sends its request with the connection, so a `GET /healthz`
        is answered here without another turn of the loop (each turn waits for the GIL
        again, behind the request threads); otherwise it waits for its request in the loop."""
        try:
            client_sock, client_addr = listener.accept()
        except OSError as e:
            if e.errno not in (errno.EAGAIN, errno.ECONNABORTED, errno.EWOULDBLOCK):
                raise
            return
        self.nr_conns += 1
        conn = TConn(self.cfg, client_sock, client_addr, listener.getsockname())
        if not self.cfg.is_ssl:
            self._dispatch(conn)
            return
        conn.timeout = time.monotonic() + self.cfg.keepalive
        self.pending_conns.append(conn)
        self.poller.register(
            conn.sock, selectors.EVENT_READ, partial(self.on_pending_socket_readable, conn)
        )

    def init_process(self) -> None:
        #: connections closed after their answer, waiting for the client to close its side
        self.lingering: deque[list[Any]] = deque()
        self.read_pool = futures.ThreadPoolExecutor(
            max_workers=max(1, read_threads), thread_name_prefix="read"
        )
        super().init_process()

    def run(self) -> None:
        try:
            super().run()
        finally:
            self.read_pool.shutdown(wait=False)

    def enqueue_req(self, conn: Any) -> None:
        """Hand the connection to a thread: a read thread when its request only reads."""
        if not getattr(conn, "licensesvc_reads", False):
            super().enqueue_req(conn)
            return
        conn.licensesvc_reads = False
        done = self.read_pool.submit(self.handle, conn)
        done.add_done_callback(lambda fut: self.method_queue.defer(self.finish_request, conn, fut))

    def on_pending_socket_readable(self, conn: Any, client: Any) -> None:
        self.poller.unregister(client)
        self.pending_conns.remove(conn)
        self._dispatch(conn)

    def on_client_socket_readable(self, conn: Any, client: Any) -> None:
        self.poller.unregister(client)
        self.keepalived_conns.remove(conn)
        self._dispatch(conn)

    def _dispatch(self, conn: Any) -> None:
        """In the event loop: read what the client sent; a complete `GET /healthz` is
        answered here at once, any other complete request goes to a thread, an incomplete
        header back to the event loop."""
        conn.data_ready = True
        if self.cfg.is_ssl:
            self.enqueue_req(conn)
            return
        try:
            header = self._read_header(conn)
        except OSError:
            header = None
        if header is None:
            self.nr_conns -= 1
            conn.close()
            return
        if not header:
            conn.timeout = time.monotonic() + self.cfg.keepalive
            self.pending_conns.append(conn)
            self.poller.register(
                conn.sock, selectors.EVENT_READ, partial(self.on_pending_socket_readable, conn)
            )
            return
        head: bytes = getattr(conn, "licensesvc_head", b"")
        conn.licensesvc_head = b""
        if is_health_check(head):
            try:
                conn.sock.send(HEALTH_ANSWER, socket.MSG_DONTWAIT)
            except OSError:
                pass  # the client is gone
            self.nr_conns -= 1
            conn.close()
            return
        conn.licensesvc_header_ready = True
        conn.licensesvc_arrived = time.monotonic()
        conn.licensesvc_reads = only_reads(head)
        self.enqueue_req(conn)

    def handle(self, conn: Any) -> Any:
        """Serve the connection's next request once its whole header has arrived; until then
        the connection goes back to the event loop (gthread's `_DEFER`), and past
        HEADER_TIMEOUT it is closed."""
        if getattr(conn, "licensesvc_header_ready", False):
            conn.licensesvc_header_ready = False  # read by _dispatch in the event loop
        elif not self.cfg.is_ssl:
            try:
                header = self._read_header(conn)
            except OSError:
                return False
            if header is None:
                return False
            if not header:
                return _DEFER
            conn.licensesvc_arrived = time.monotonic()
        else:
            conn.licensesvc_arrived = time.monotonic()
        return super().handle(conn)

    def handle_request(self, req: Any, conn: Any) -> Any:
        ARRIVED.at = getattr(conn, "licensesvc_arrived", None)
        try:
            return super().handle_request(req, conn)
        finally:
            ARRIVED.at = None

    def _read_header(self, conn: Any) -> bool | None:
        """Read what the client has sent, without waiting. True: the header is complete (its
        bytes are handed to gunicorn's parser); False: not yet; None: the client closed the
        connection or ran past HEADER_TIMEOUT."""
        now = time.monotonic()
        deadline = getattr(conn, "licensesvc_header_deadline", None)
        if deadline is None:
            deadline = conn.licensesvc_header_deadline = now + HEADER_TIMEOUT
        held: bytes = getattr(conn, "licensesvc_header", b"")
        if conn.parser is not None:  # a kept-alive connection: what its parser read ahead
            held += conn.parser.unreader.take_buffered()
        while _HEADER_END not in held and len(held) <= _MAX_HEADER:
            try:
                chunk = conn.sock.recv(65536, socket.MSG_DONTWAIT)
            except BlockingIOError:
                if not held:  # nothing yet: the header's clock starts with its first byte
                    conn.licensesvc_header_deadline = None
                    return False
                if time.monotonic() >= deadline:
                    self.log.info(
                        "closing a connection from %s: no complete request header within %s s",
                        conn.client[0] if conn.client else "",
                        HEADER_TIMEOUT,
                    )
                    return None
                conn.licensesvc_header = held
                return False
            if not chunk:
                return None
            held += chunk
        conn.licensesvc_header = b""
        conn.licensesvc_head = held
        conn.licensesvc_header_deadline = None
        conn.data_ready = True
        conn.init()
        conn.parser.unreader.unread(held)
        return True

    def finish_request(self, conn: Any, fs: Any) -> None:
        """In the event loop, once a thread is done with the connection. A connection not
        kept alive is closed the graceful way (our FIN, then the client's unread bytes drained
        until it closes too, at most LINGER_SECONDS), as gthread does, but without waiting:
        gthread's close_graceful blocks the event loop until the client closes, up to 2 s
        per connection, and /healthz waits with it."""
        try:
            result = False if fs.cancelled() else fs.result()
        except Exception:
            result = None  # gthread closes it at once
        if result is not False:
            super().finish_request(conn, fs)
            return
        sock = conn.sock
        try:
            sock.shutdown(socket.SHUT_WR)
            sock.setblocking(False)
        except OSError:
            self.nr_conns -= 1
            util.close(sock)
            return
        entry = [time.monotonic() + LINGER_SECONDS, sock, 0]
        self.lingering.append(entry)
        self.poller.register(sock, selectors.EVENT_READ, partial(self._on_lingering, entry))

    def _on_lingering(self, entry: list[Any], sock: Any) -> None:
        """A lingering connection is readable: drain it; close it at its end (or past
        LINGER_DRAIN bytes)."""
        while True:
            try:
                chunk = sock.recv(65536, socket.MSG_DONTWAIT)
            except BlockingIOError:
                return
            except OSError:
                chunk = b""
            entry[2] += len(chunk)
            if not chunk or entry[2] > LINGER_DRAIN:
                self._end_lingering(entry)
                return

    def _end_lingering(self, entry: list[Any]) -> None:
        if entry[1] is None:
            return
        sock, entry[1] = entry[1], None
        try:
            self.poller.unregister(sock)
        except (OSError, KeyError, ValueError):
            pass
        self.nr_conns -= 1
        util.close(sock)

    def murder_pending(self) -> None:
        """Close expired pending connections, and lingering ones past their time."""
        super().murder_pending()
        now = time.monotonic()
        while self.lingering and (self.lingering[0][1] is None or self.lingering[0][0] <= now):
            self._end_lingering(self.lingering.popleft())

    def handle_error(self, req: Any, client: Any, addr: Any, exc: BaseException) -> None:
        answer = own_refusal(exc)
        if answer is None:
            super().handle_error(req, client, addr, exc)
            return
        peer = addr[0] if addr else ""
        self.log.warning("Invalid request from ip=%s: %s", peer, exc)
        try:
            util.write_nonblock(client, answer)
        except OSError:
            pass  # the client is gone; gunicorn closes the connection either way

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


#: the worker processes gunicorn runs (set by on_starting, inherited by every worker): the
#: in-memory rate limits give each worker its share (licensesvc/ratelimit.py)
WORKER_PROCESSES = 1


def on_starting(server: Any) -> None:
    """Note the number of workers (for the rate limits' shares) and empty
    PROMETHEUS_MULTIPROC_DIR before the workers start (see licensesvc.observability)."""
    from licensesvc.observability import gunicorn_on_starting

    global WORKER_PROCESSES
    WORKER_PROCESSES = max(1, int(server.cfg.workers))
    gunicorn_on_starting(server)


def child_exit(server: Any, worker: Any) -> None:
    """Drop a dead worker's live gauges from the multiprocess metrics."""
    from licensesvc.observability import gunicorn_child_exit

    gunicorn_child_exit(server, worker)


def post_worker_init(worker: Any) -> None:
    """The event loop answers /healthz between the request threads' turns: hand the GIL over
    every millisecond (Python's default is 5 ms), so a burst of busy threads delays it little;
    and keep the loaded app out of the garbage collector's full passes (gc.freeze), which
    stop every thread of the process, the event loop's included, for as long as they take."""
    import gc

    sys.setswitchinterval(0.001)
    gc.freeze()
