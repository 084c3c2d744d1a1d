"""A misbehaving Docker engine: just enough of the Engine API over HTTP/1.1 to be one host of the bot, on a
Unix socket (as dockerd listens) or on 127.0.0.1 TCP, answering each route well, never, or one byte at a time.

It stands for engines the real one cannot be made into on demand: a wedged dockerd that accepts and never
answers, and one that trickles a byte every few seconds so a per-read timeout never fires. Routes:

    GET/HEAD /_ping            "OK" (with a one-row listing, the bot's quick check and breaker probe)
    GET /version               {"ApiVersion": "1.41", …} (docker-py's API version negotiation)
    GET /containers/json       `listing` (a list of Engine API container objects; empty by default)
    anything else              404 {"message": "page not found"} (`others`: e.g. a `POST …/stop` that hangs)

Each route (also with a `/v1.NN` prefix) behaves as one of `BEHAVIOURS`, changeable while serving with
`behave(...)`:

    ok       the answer at once
    silent   read the request, never answer, hold the connection open until `stop()`
    trickle  the whole answer (status line, headers, body) one byte every `trickle_interval` seconds; the
             body is padded with spaces to `trickle_bytes`, so it lasts `trickle_bytes × interval` at least
    close    hang up without a byte

It records every request as `(connection number, method, path)` and counts connections (opened, open now,
the most open at once), so a test can see a half-read connection is never used again.

    with FakeEngine(tmp_path / "bad.sock", containers="trickle", trickle_interval=0.2) as engine:
        Host("bad", engine.url, 1.0)       # unix:///…/bad.sock
"""

from __future__ import annotations

import contextlib
import json
import socket
import socketserver
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Literal, Self

Behaviour = Literal["ok", "silent", "trickle", "close"]
BEHAVIOURS: tuple[Behaviour, ...] = ("ok", "silent", "trickle", "close")
API_VERSION = "1.41"
STOP_JOIN_TIMEOUT = 10.0


@dataclass(frozen=True, slots=True)
class EngineRequest:
    """One request the fake read: on which connection (numbered from 1), the method and the path."""

    connection: int
    method: str
    path: str


class FakeEngine:
    """The fake engine's server; `start()`/`stop()` or `with`. `url` is what a `Host` takes."""

    def __init__(
        self,
        path: Path | None = None,
        *,
        ping: Behaviour = "ok",
        version: Behaviour = "ok",
        containers: Behaviour = "ok",
        others: Behaviour = "ok",
        trickle_interval: float = 2.0,
        trickle_bytes: int = 4096,
        listing: list[dict[str, Any]] | None = None,
    ) -> None:
        self.path = path
        self.trickle_interval = trickle_interval
        self.trickle_bytes = trickle_bytes
        self.listing = listing or []
        self._behaviour: dict[str, Behaviour] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._requests: list[EngineRequest] = []
        self._sockets: set[socket.socket] = set()
        self._opened = 0
        self._peak = 0
        self._server: socketserver.BaseServer | None = None
        self._thread: threading.Thread | None = None
        self.behave(ping=ping, version=version, containers=containers, others=others)

    # ---- set-up and lifecycle

    def behave(
        self,
        *,
        ping: Behaviour | None = None,
        version: Behaviour | None = None,
        containers: Behaviour | None = None,
        others: Behaviour | None = None,
    ) -> None:
        """Change how routes answer from the next request on (requests already being answered go on)."""
        routes = (("/_ping", ping), ("/version", version), ("/containers/json", containers), ("*", others))
        for route, behaviour in routes:
            if behaviour is None:
                continue
            if behaviour not in BEHAVIOURS:
                raise ValueError(f"unknown behaviour {behaviour!r}; known: {', '.join(BEHAVIOURS)}")
            with self._lock:
                self._behaviour[route] = behaviour

    def start(self) -> Self:
        """Listen and serve in the background (idempotent)."""
        if self._server is not None:
            return self
        self._stop.clear()
        server: socketserver.BaseServer
        if self.path is not None:
            with contextlib.suppress(FileNotFoundError):
                self.path.unlink()
            server = _UnixServer(str(self.path), self._handler())
        else:
            server = _TcpServer(("127.0.0.1", 0), self._handler())
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="fake-engine", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, end every held or trickling answer, close every connection (safe to repeat)."""
        server, thread = self._server, self._thread
        self._server = self._thread = None
        self._stop.set()
        if server is None:
            return
        server.shutdown()
        with self._lock:
            sockets = list(self._sockets)
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        server.server_close()
        if thread is not None:
            thread.join(STOP_JOIN_TIMEOUT)
        if self.path is not None:
            with contextlib.suppress(FileNotFoundError):
                self.path.unlink()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """`unix:///…` or `tcp://127.0.0.1:PORT`."""
        if self.path is not None:
            return f"unix://{self.path}"
        if self._server is None:
            raise RuntimeError("the fake engine is not started")
        port = self._server.server_address[1]  # type: ignore[index]
        return f"tcp://127.0.0.1:{port}"

    # ---- what it saw

    def requests(self, path: str | None = None) -> list[EngineRequest]:
        """Every request read so far (those whose path, without the `/v1.NN` prefix, is `path`)."""
        with self._lock:
            seen = list(self._requests)
        return [r for r in seen if path is None or _route(r.path) == path]

    @property
    def connections(self) -> int:
        """Connections accepted so far."""
        with self._lock:
            return self._opened

    @property
    def open_connections(self) -> int:
        """Connections open now."""
        with self._lock:
            return len(self._sockets)

    @property
    def peak_connections(self) -> int:
        """The most connections open at once."""
        with self._lock:
            return self._peak

    def wait_for_requests(self, path: str, count: int, timeout: float = 10.0) -> bool:
        """Wait until at least `count` requests for `path` have been read."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if len(self.requests(path)) >= count:
                return True
            time.sleep(0.01)
        return False

    # ---- serving

    def _handler(self) -> type[socketserver.StreamRequestHandler]:
        engine = self

        class Handler(socketserver.StreamRequestHandler):
            def handle(self) -> None:
                engine._serve_connection(self.connection, self.rfile)

        return Handler

    def _serve_connection(self, sock: socket.socket, rfile: Any) -> None:
        with self._lock:
            self._opened += 1
            number = self._opened
            self._sockets.add(sock)
            self._peak = max(self._peak, len(self._sockets))
        try:
            while not self._stop.is_set():
                request = _read_request(rfile)
                if request is None:
                    return
                method, path = request
                with self._lock:
                    self._requests.append(EngineRequest(number, method, path))
                    behaviour = self._behaviour.get(_route(path)) or self._behaviour["*"]
                if not self._answer(sock, method, path, behaviour):
                    return
        except OSError:
            return
        finally:
            with self._lock:
                self._sockets.discard(sock)

    def _answer(self, sock: socket.socket, method: str, path: str, behaviour: Behaviour) -> bool:
        """Answer one request as `behaviour` says; False when the connection is done with."""
        if behaviour == "close":
            return False
        if behaviour == "silent":
            self._stop.wait()
            return False
        data = self._response(method, path, padded=behaviour == "trickle")
        if behaviour == "ok":
            sock.sendall(data)
            return True
        for index in range(len(data)):
            if self._stop.wait(self.trickle_interval if index else 0):
                return False
            sock.sendall(data[index : index + 1])
        return True

    def _response(self, method: str, path: str, *, padded: bool) -> bytes:
        route = _route(path)
        status, content_type = "200 OK", "application/json"
        if route == "/_ping":
            body, content_type = b"OK", "text/plain; charset=utf-8"
        elif route == "/version":
            body = json.dumps(_VERSION).encode()
        elif route == "/containers/json":
            body = json.dumps(self.listing).encode()
        else:
            status, body = "404 Not Found", b'{"message":"page not found"}'
        if padded and len(body) < self.trickle_bytes and content_type == "application/json":
            body += b" " * (self.trickle_bytes - len(body))
        head = (
            f"HTTP/1.1 {status}\r\nApi-Version: {API_VERSION}\r\nContent-Type: {content_type}\r\n"
            f"Content-Length: {len(body)}\r\nServer: fake-engine\r\n\r\n"
        ).encode()
        return head if method == "HEAD" else head + body


_VERSION = {
    "ApiVersion": API_VERSION,
    "MinAPIVersion": "1.12",
    "Version": "20.10-fake",
    "Os": "linux",
    "Arch": "amd64",
    "KernelVersion": "fake",
    "GoVersion": "go-fake",
    "GitCommit": "fake",
    "Components": [],
}


def _route(path: str) -> str:
    """`/v1.41/containers/json?all=1` → `/containers/json`."""
    path = path.split("?", 1)[0]
    parts = path.split("/", 2)
    if len(parts) > 2 and parts[1].startswith("v1."):
        return "/" + parts[2]
    return path


def _read_request(rfile: Any) -> tuple[str, str] | None:
    """The next request's method and path, its headers and body read; None when the client hung up."""
    line = rfile.readline(65537)
    if not line:
        return None
    try:
        method, path, _version = line.decode("latin-1").split()
    except ValueError:
        return None
    length = 0
    while True:
        header = rfile.readline(65537)
        if not header or header in (b"\r\n", b"\n"):
            break
        name, _, value = header.decode("latin-1").partition(":")
        if name.strip().lower() == "content-length":
            length = int(value.strip() or 0)
    if length:
        rfile.read(length)
    return method, path


class _UnixServer(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True
    block_on_close = False


class _TcpServer(socketserver.ThreadingMixIn, socketserver.TCPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True
