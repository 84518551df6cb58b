"""A TCP proxy between licensesvc and PostgreSQL that injects faults on demand.

    proxy = FaultProxy(("127.0.0.1", 5432)); proxy.start()   # listens on proxy.port
    proxy.refuse()      # the port refuses connections; open connections are cut
    proxy.blackhole()   # connections open but nothing flows either way (a silent network)
    proxy.delay(0.5)    # each client message reaches the server 0.5 s late (a slow database)
    proxy.cut_after(is_commit)  # forward the matching client message, drop the server's reply
                                # and cut the connection (a COMMIT whose answer is lost)
    proxy.heal()        # pass everything through again

It reads the PostgreSQL wire protocol from the client side only as far as needed to split the
stream into messages (startup/SSLRequest untyped, then type byte + int32 length), so faults
can target one message. `faults` counts the faults injected (connections refused or cut,
messages delayed or held).
"""

from __future__ import annotations

import contextlib
import select
import socket
import struct
import threading
import time
from collections.abc import Callable

#: a client message: its type byte (b"" for the untyped startup messages) and its body
Matcher = Callable[[bytes, bytes], bool]

_SSL_REQUEST = 80877103
_GSSENC_REQUEST = 80877104


def is_commit(kind: bytes, body: bytes) -> bool:
    """A simple Query (or a Parse of the extended protocol) whose text is COMMIT."""
    if kind not in (b"Q", b"P"):
        return False
    text = body.split(b"\0", 2)[1 if kind == b"P" else 0]
    return text.strip().rstrip(b";").strip().upper() == b"COMMIT"


class FaultProxy:
    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        self.port = 0
        self.mode = "pass"
        self.delay_seconds = 0.0
        self.faults = 0
        self._matcher: Matcher | None = None
        self._lock = threading.Lock()
        self._listener: socket.socket | None = None
        self._pairs: set[tuple[socket.socket, socket.socket]] = set()
        self._stopping = threading.Event()
        self._accepting = threading.Event()

    # -- control ---------------------------------------------------------------------------
    def start(self) -> FaultProxy:
        self._listen()
        threading.Thread(target=self._accept_loop, name="faultproxy", daemon=True).start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self._close_listener()
        self.cut_all()

    def heal(self) -> None:
        with self._lock:
            self.mode, self.delay_seconds, self._matcher = "pass", 0.0, None
        if self._listener is None:
            self._listen()

    def refuse(self) -> None:
        """Close the listening port (new connections: ECONNREFUSED) and cut open ones."""
        with self._lock:
            self.mode = "refuse"
        self._close_listener()
        self.cut_all()

    def blackhole(self) -> None:
        with self._lock:
            self.mode = "blackhole"

    def delay(self, seconds: float) -> None:
        with self._lock:
            self.mode, self.delay_seconds = "delay", seconds

    def cut_after(self, matcher: Matcher) -> None:
        """The next client message matching matcher is forwarded; the server's answer is
        dropped and that connection cut (once; then the proxy passes everything again)."""
        with self._lock:
            self.mode, self._matcher = "cut_after", matcher

    def cut_all(self) -> None:
        with self._lock:
            pairs, self._pairs = list(self._pairs), set()
        for client, server in pairs:
            self._close(client, server)
            self._count()

    # -- machinery -------------------------------------------------------------------------
    def _count(self) -> None:
        with self._lock:
            self.faults += 1

    def _listen(self) -> None:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(128)
        listener.settimeout(0.2)
        self.port = listener.getsockname()[1]
        self._listener = listener

    def _close_listener(self) -> None:
        listener, self._listener = self._listener, None
        if listener is not None:
            listener.close()

    def _accept_loop(self) -> None:
        while not self._stopping.is_set():
            listener = self._listener
            if listener is None:
                time.sleep(0.05)
                continue
            try:
                client, _ = listener.accept()
            except (TimeoutError, OSError):
                continue
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        try:
            server = socket.create_connection(self.upstream, timeout=5)
        except OSError:
            client.close()
            return
        server.settimeout(None)
        client.settimeout(None)
        pair = (client, server)
        with self._lock:
            self._pairs.add(pair)
        cut = threading.Event()
        threading.Thread(target=self._server_to_client, args=(pair, cut), daemon=True).start()
        try:
            self._client_to_server(pair, cut)
        finally:
            self._close(client, server)
            with self._lock:
                self._pairs.discard(pair)

    def _hold_while_blackholed(self, pair: tuple[socket.socket, socket.socket]) -> bool:
        counted = False
        while self.mode == "blackhole":
            if not counted:
                self._count()
                counted = True
            if pair not in self._pairs:
                return False
            time.sleep(0.02)
        return pair in self._pairs

    def _client_to_server(
        self, pair: tuple[socket.socket, socket.socket], cut: threading.Event
    ) -> None:
        client, server = pair
        buffer = b""
        startup = True
        while True:
            message, buffer, startup = self._next_message(client, buffer, startup)
            if message is None:
                return
            kind, body, raw = message
            if not self._hold_while_blackholed(pair):
                return
            if self.mode == "delay" and self.delay_seconds:
                self._count()
                time.sleep(self.delay_seconds)
            matcher = self._matcher
            if self.mode == "cut_after" and matcher is not None and matcher(kind, body):
                with self._lock:
                    self.mode, self._matcher = "pass", None
                cut.set()  # the reply is dropped, then the connection cut
                with contextlib.suppress(OSError):
                    server.sendall(raw)
                time.sleep(0.2)  # let the server act on it (e.g. commit)
                self._count()
                return
            try:
                server.sendall(raw)
            except OSError:
                return

    @staticmethod
    def _next_message(
        client: socket.socket, buffer: bytes, startup: bool
    ) -> tuple[tuple[bytes, bytes, bytes] | None, bytes, bool]:
        header = 4 if startup else 5
        while True:
            if len(buffer) >= header:
                if startup:
                    (length,) = struct.unpack_from("!I", buffer, 0)
                    kind, total = b"", length
                else:
                    kind = buffer[:1]
                    (length,) = struct.unpack_from("!I", buffer, 1)
                    total = 1 + length
                if len(buffer) >= total:
                    raw, buffer = buffer[:total], buffer[total:]
                    body = raw[header:]
                    if startup:
                        code = struct.unpack_from("!I", raw, 4)[0] if len(raw) >= 8 else 0
                        startup = code in (_SSL_REQUEST, _GSSENC_REQUEST)
                    return (kind, body, raw), buffer, startup
            try:
                chunk = client.recv(65536)
            except OSError:
                return None, buffer, startup
            if not chunk:
                return None, buffer, startup
            buffer += chunk

    def _server_to_client(
        self, pair: tuple[socket.socket, socket.socket], cut: threading.Event
    ) -> None:
        client, server = pair
        while True:
            try:
                ready, _, _ = select.select([server], [], [], 0.2)
            except (OSError, ValueError):
                return
            if not ready:
                if pair not in self._pairs:
                    return
                continue
            try:
                chunk = server.recv(65536)
            except OSError:
                return
            if not chunk:
                self._close(client, server)
                return
            if not self._hold_while_blackholed(pair) or cut.is_set():
                continue  # dropped
            try:
                client.sendall(chunk)
            except OSError:
                return

    @staticmethod
    def _close(*sockets: socket.socket) -> None:
        for s in sockets:
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)
            with contextlib.suppress(OSError):
                s.close()
