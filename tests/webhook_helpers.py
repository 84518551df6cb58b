"""A real HTTP receiver on 127.0.0.1 (a free port) that keeps every request it gets, and can be
told to fail the next N requests (500), answer with a redirect, or answer slowly."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Arrival:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Behaviour:
    fail_next: int = 0
    status: int = 204
    redirect_to: str | None = None
    delay: float = 0.0
    arrivals: list[Arrival] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


class Receiver:
    """`url` takes POSTs; `arrivals` are what came, in order."""

    def __init__(self) -> None:
        behaviour = self.behaviour = Behaviour()

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's hook name
                length = min(int(self.headers.get("content-length", "0")), 1_000_000)
                body = self.rfile.read(length)
                with behaviour.lock:
                    behaviour.arrivals.append(
                        Arrival(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                    )
                    failing = behaviour.fail_next > 0
                    if failing:
                        behaviour.fail_next -= 1
                if behaviour.delay:
                    time.sleep(behaviour.delay)
                if failing:
                    self.send_response(500)
                elif behaviour.redirect_to:
                    self.send_response(302)
                    self.send_header("location", behaviour.redirect_to)
                else:
                    self.send_response(behaviour.status)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def port(self) -> int:
        return int(self.server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/licensesvc"

    @property
    def arrivals(self) -> list[Arrival]:
        with self.behaviour.lock:
            return list(self.behaviour.arrivals)

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)
