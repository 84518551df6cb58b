"""Operations: request ids, JSON logs without secrets, and Prometheus metrics at `/metrics`.

`init_observability(app, runtime)` is the one call `create_app` makes. It

- gives every request an id (the client's `X-Request-ID` when it is sane: 1 to 64 printable
  ASCII characters, no spaces; else a fresh one) and returns it as `X-Request-ID`;
- logs one JSON object a line (`LICENSESVC_LOG_FORMAT=text` for plain lines) with that id,
  and redacts API tokens (`lsc_…`) and license keys (`LK1.…`) from every line;
- counts requests and latency by endpoint and status, keys issued by kind, refusals by code,
  rate-limit hits, database errors and the connection pool's use, served at `GET /metrics`.

Under gunicorn set `PROMETHEUS_MULTIPROC_DIR` to an empty folder: each worker writes its
samples there and `/metrics` adds them up. The gunicorn configuration calls
`gunicorn_on_starting` (empties the folder) and `gunicorn_child_exit` (drops a dead worker's
live gauges) from its `on_starting` and `child_exit` hooks.

Keys issued and refusals are counted where the services issue or refuse
(licensesvc/platform/metrics.py: `count`), once the transaction commits: a rolled-back request
counts nothing. This module subscribes the Prometheus counters to those counts.
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from flask import Flask, Response, g, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from sqlalchemy import Engine, event

from .platform import metrics
from .runtime import Runtime

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
REQUEST_ID_HEADER = "X-Request-ID"
_SANE_REQUEST_ID = re.compile(r"[\x21-\x7e]{1,64}")

# -- secrets never reach a log line ------------------------------------------------------------

#: API tokens (lsc_cust_…, lsc_anl_…, any lsc_ prefix) and text license keys (LK1.payload.sig);
#: a token keeps its type prefix and four characters, which is what `token list` shows
_SECRETS = re.compile(
    r"(?P<token>lsc_[a-z]+_[A-Za-z0-9_-]{4})[A-Za-z0-9_-]+"
    r"|(?P<key>LK1\.)[A-Za-z0-9_.=-]+"
    r"|(?P<rl>LRL1\.)[A-Za-z0-9_.=-]{64,}"
    r"|(?P<reset>/reset-password/)[^/?#\s\"']+"
)

#: what the text log format shows escaped: C0 and C1 controls, DEL and the Unicode line and
#: paragraph separators (a `%0A` in a path must not start a line of its own)
_CONTROLS = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_NAMED_CONTROLS = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def redact(text: str) -> str:
    """text with API tokens, license keys and password-reset tokens (in a reset link's path)
    replaced by `<prefix>…[redacted]`."""
    if "lsc_" not in text and "LK1." not in text and "/reset-password/" not in text:
        return text  # nothing _SECRETS changes can be in it (most lines: one test each)

    def replace(match: re.Match[str]) -> str:
        if match.group("token"):
            return match.group("token") + "…[redacted]"
        if match.group("key"):
            return "LK1.…[redacted]"
        if match.group("reset"):
            return "/reset-password/…[redacted]"
        return match.group(0)  # revocation lists are public

    return _SECRETS.sub(replace, text)


def escape_controls(text: str) -> str:
    """text with every control character shown as an escape (`\\n`, `\\x1b`, `\\u2028`)."""

    def escape(match: re.Match[str]) -> str:
        char = match.group()
        named = _NAMED_CONTROLS.get(char)
        if named is not None:
            return named
        return f"\\x{ord(char):02x}" if ord(char) < 0x100 else f"\\u{ord(char):04x}"

    return _CONTROLS.sub(escape, text)


#: the attributes every LogRecord has; anything else came with `extra` (a path, an address)
_STANDARD_ATTRIBUTES = frozenset(vars(logging.makeLogRecord({})).keys()) | {"message", "asctime"}


class RedactSecrets(logging.Filter):
    """A filter (on our handler and our loggers): the formatted message of every record and
    every text it carries in `extra` (the access log's `path`), redacted."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, REDACTED, False):
            return True  # a second pass (the logger's filter, then the handler's) finds nothing
        for name, value in list(vars(record).items()):
            if name not in _STANDARD_ATTRIBUTES and isinstance(value, str):
                redacted_value = redact(value)
                if redacted_value != value:
                    setattr(record, name, redacted_value)
        try:
            message = record.getMessage()
        except Exception:  # a malformed record: let the formatter report it
            return True
        redacted = redact(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        setattr(record, REDACTED, True)
        return True


#: the mark RedactSecrets leaves on a record it has redacted (a name JsonFormatter leaves out)
REDACTED = "_licensesvc_redacted"


class TextFormatter(logging.Formatter):
    """`LICENSESVC_LOG_FORMAT=text`: one line a record, `time level logger message`, the
    message's control characters escaped (a newline in a path cannot forge a second record);
    a traceback follows on indented lines, escaped likewise."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        record.message = escape_controls(record.getMessage())
        if self.usesTime():
            record.asctime = self.formatTime(record, self.datefmt)
        line = self.formatMessage(record)
        # the traceback formatted here (never logging's cached exc_text, which another
        # handler may have filled unescaped)
        trace = ""
        if record.exc_info:
            trace = super().formatException(record.exc_info)
        elif record.exc_text:
            trace = record.exc_text
        if record.stack_info:
            trace = f"{trace}\n{record.stack_info}" if trace else record.stack_info
        if trace:
            line += "\n" + "\n".join("    " + escape_controls(t) for t in trace.splitlines())
        return line


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time, level, logger, message, request id and what the record
    carries in `extra`; exception text redacted too."""

    _STANDARD = _STANDARD_ATTRIBUTES

    def format(self, record: logging.LogRecord) -> str:
        # a record RedactSecrets has passed carries nothing left to redact
        clean: Any = redact if not getattr(record, REDACTED, False) else _unchanged
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": clean(record.getMessage()),
        }
        request_id = getattr(record, "request_id", None) or _current_request_id()
        if request_id:
            entry["request_id"] = request_id
        for name, value in vars(record).items():
            if name not in self._STANDARD and name != "request_id" and not name.startswith("_"):
                entry[name] = clean(value) if isinstance(value, str) else value
        if record.exc_info:
            entry["exception"] = redact(self.formatException(record.exc_info))
        return _LOG_JSON.encode(entry)


#: json.dumps(entry, default=str, ensure_ascii=False), made once
_LOG_JSON = json.JSONEncoder(default=str, ensure_ascii=False)


def _unchanged(text: str) -> str:
    return text


def _current_request_id() -> str | None:
    try:
        rid: str | None = g.get("request_id")
    except RuntimeError:  # outside a request or app context
        return None
    return rid


_HANDLER_MARK = "_licensesvc_handler"


def configure_logging(log_format: str | None = None) -> None:
    """Install (once per process) a stderr handler on the root logger: JSON lines by default,
    plain text with LICENSESVC_LOG_FORMAT=text; secrets redacted either way."""
    root = logging.getLogger()
    if any(getattr(h, _HANDLER_MARK, False) for h in root.handlers):
        return
    fmt = (log_format or os.environ.get("LICENSESVC_LOG_FORMAT", "json")).lower()
    handler = logging.StreamHandler(sys.stderr)
    setattr(handler, _HANDLER_MARK, True)
    handler.addFilter(RedactSecrets())
    if fmt == "text":
        handler.setFormatter(TextFormatter())
    else:
        handler.setFormatter(JsonFormatter())
    root.addHandler(handler)
    level = os.environ.get("LICENSESVC_LOG_LEVEL", "INFO").upper()
    root.setLevel(getattr(logging, level, logging.INFO))
    # every licensesvc logger's records pass the redaction, whichever handler gets them (a
    # logger's filter sees only the records logged on it, not those of its children)
    for name in _OUR_LOGGERS:
        logging.getLogger(name).addFilter(RedactSecrets())


#: the loggers that write what a request carried (its path, its address)
_OUR_LOGGERS = ("licensesvc", "licensesvc.access", "licensesvc.auth", "licensesvc.app")


# -- metrics -----------------------------------------------------------------------------------

REQUESTS = Counter(
    "licensesvc_http_requests_total",
    "HTTP requests answered, by endpoint, method and status",
    ["endpoint", "method", "status"],
)
LATENCY = Histogram(
    "licensesvc_http_request_duration_seconds",
    "Time to answer a request, by endpoint and status",
    ["endpoint", "status"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
KEYS_ISSUED = Counter(
    "licensesvc_keys_issued_total", "Signed keys issued (committed), by kind", ["kind"]
)
REFUSALS = Counter(
    "licensesvc_key_request_refusals_total",
    "Key requests refused (committed cases), by refusal code",
    ["code"],
)
RATE_LIMIT_HITS = Counter(
    "licensesvc_rate_limit_hits_total", "Requests refused by a rate limit, by limit", ["limit"]
)
DATABASE_ERRORS = Counter(
    "licensesvc_database_errors_total",
    "Errors raised by the database driver, by exception class",
    ["error"],
)
POOL_CHECKED_OUT = Gauge(
    "licensesvc_db_pool_connections_in_use",
    "Database connections checked out of the pool (summed over live workers)",
    multiprocess_mode="livesum",
)
POOL_SIZE = Gauge(
    "licensesvc_db_pool_size",
    "Configured size of the connection pool (summed over live workers)",
    multiprocess_mode="livesum",
)

CHANGE_FEED_LOST = Gauge(
    "licensesvc_change_feed_lost",
    "Live workers whose change feed cannot read the audit head (they answer verify from the "
    "database instead of their snapshot); 0 while every feed is current",
    multiprocess_mode="livesum",
)
SNAPSHOT_BYPASSED = Counter(
    "licensesvc_verify_snapshot_bypassed_total",
    "Online verifications answered from the database because the change feed was lost",
)


def count_rate_limit_hit(limit: str) -> None:
    """One request refused by the named limit (called by licensesvc.ratelimit)."""
    RATE_LIMIT_HITS.labels(limit=limit).inc()


def metrics_text() -> tuple[bytes, str]:
    """The exposition text and its content type: this process's samples, or every gunicorn
    worker's under PROMETHEUS_MULTIPROC_DIR."""
    if os.environ.get(MULTIPROC_ENV):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry), CONTENT_TYPE_LATEST
    from prometheus_client import REGISTRY

    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST


def gunicorn_on_starting(_server: Any = None) -> None:
    """gunicorn `on_starting` hook: empty PROMETHEUS_MULTIPROC_DIR (samples of an earlier run
    would be added to this one's), creating it if needed."""
    folder = os.environ.get(MULTIPROC_ENV)
    if not folder:
        return
    path = Path(folder)
    path.mkdir(parents=True, exist_ok=True)
    for file in path.glob("*.db"):
        file.unlink()


def gunicorn_child_exit(_server: Any, worker: Any) -> None:
    """gunicorn `child_exit` hook: drop the dead worker's live gauges (pool use)."""
    if os.environ.get(MULTIPROC_ENV):
        multiprocess.mark_process_dead(worker.pid)  # type: ignore[no-untyped-call]


_WATCHED: set[int] = set()


def _watch_engine(engine: Engine) -> None:
    if id(engine.pool) in _WATCHED:
        return
    _WATCHED.add(id(engine.pool))

    @event.listens_for(engine, "handle_error")
    def _on_error(context: Any) -> None:
        DATABASE_ERRORS.labels(error=type(context.original_exception).__name__).inc()

    @event.listens_for(engine, "checkout")
    def _on_checkout(*_args: Any) -> None:
        POOL_CHECKED_OUT.inc()

    @event.listens_for(engine, "checkin")
    def _on_checkin(*_args: Any) -> None:
        POOL_CHECKED_OUT.dec()

    size = getattr(engine.pool, "size", None)
    if callable(size):
        POOL_SIZE.inc(size())


def _count(name: str, labels: dict[str, str]) -> None:
    if name == metrics.KEYS_ISSUED:
        KEYS_ISSUED.labels(kind=labels.get("kind", "unknown")).inc()
    elif name == metrics.REFUSALS:
        REFUSALS.labels(code=labels.get("code", "unknown")).inc()
    elif name == metrics.CHANGE_FEED_UP:
        CHANGE_FEED_LOST.set(0)
    elif name == metrics.CHANGE_FEED_DOWN:
        CHANGE_FEED_LOST.set(1)
    elif name == metrics.SNAPSHOT_BYPASSED:
        SNAPSHOT_BYPASSED.inc()


def watch_sessions() -> None:
    """Count the keys and refusals the services commit in this process (idempotent)."""
    metrics.subscribe(_count)


# -- the request's id, access log and timing ---------------------------------------------------

#: the methods counted by name; any other (a client may send any token as a method) is
#: counted as `other`, so made-up methods cannot add a series each to /metrics
KNOWN_METHODS = frozenset(
    {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "CONNECT"}
)


def method_label(method: str) -> str:
    """The `method` label of a request: its method if standard, else `other`."""
    return method if method in KNOWN_METHODS else "other"


access_log = logging.getLogger("licensesvc.access")


def request_id_from(header: str | None) -> str:
    """The client's request id when it is sane (1-64 printable ASCII, no spaces), else new."""
    if header and _SANE_REQUEST_ID.fullmatch(header):
        return header
    return uuid.uuid4().hex


def _begin_request() -> None:
    g.request_id = request_id_from(request.headers.get(REQUEST_ID_HEADER))
    g.request_started = time.perf_counter()


#: (endpoint, method, status) -> the request counter's and the latency histogram's children:
#: `labels()` costs a lock and a dict build per call, which every request would pay twice
_CHILDREN: dict[tuple[str, str, int], tuple[Any, Any]] = {}


def _children(endpoint: str, method: str, status: int) -> tuple[Any, Any]:
    key = (endpoint, method, status)
    found = _CHILDREN.get(key)
    if found is None:
        text = str(status)
        found = (
            REQUESTS.labels(endpoint=endpoint, method=method, status=text),
            LATENCY.labels(endpoint=endpoint, status=text),
        )
        _CHILDREN[key] = found
    return found


def _finish_request(response: Response) -> Response:
    req = request._get_current_object()  # type: ignore[attr-defined]
    state = g._get_current_object()
    request_id = state.get("request_id") or request_id_from(None)
    response.headers[REQUEST_ID_HEADER] = request_id
    started = state.get("request_started")
    elapsed = time.perf_counter() - started if started is not None else 0.0
    record_request(
        req.endpoint or "unmatched",
        req.method,
        req.path,
        response.status_code,
        elapsed,
        req.remote_addr,
    )
    return response


def record_request(
    endpoint: str,
    method: str,
    path: str,
    status: int,
    elapsed: float,
    remote_addr: str | None,
    request_id: str | None = None,
) -> None:
    """A request answered: its two metric samples and its access log line (the Flask
    route's after_request hook, and verify's fast path, licensesvc/fast_verify.py).
    request_id: given where there is no Flask request context to take it from."""
    counted, timed = _children(endpoint, method_label(method), status)
    counted.inc()
    timed.observe(elapsed)
    extra: dict[str, Any] = {
        "method": method,
        "path": path,
        "endpoint": endpoint,
        "status": status,
        "duration_ms": round(elapsed * 1000, 2),
        "remote_addr": remote_addr,
    }
    if request_id is not None:
        extra["request_id"] = request_id
    access_log.info("%s %s %s", method, path, status, extra=extra)


def init_observability(app: Flask, runtime: Runtime) -> None:
    """Request ids, JSON logs, metrics and `GET /metrics` for app (the one call of create_app)."""
    configure_logging()
    watch_sessions()
    _watch_engine(runtime.engine)
    app.before_request(_begin_request)
    app.after_request(_finish_request)

    @app.get("/metrics")
    def metrics() -> Response:
        """Prometheus metrics (text exposition format)."""
        body, content_type = metrics_text()
        return Response(body, content_type=content_type)
