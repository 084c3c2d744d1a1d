"""A misbehaving Docker engine: just enough of the Engine API over HTTP/1.1 to be one host of the bot, on a
Unix socket (as dockerd listens) or on 127.0.0.1 TCP, answering each route well, never, one byte at a time,
or badly.

It stands for engines the real one cannot be made into on demand: a wedged dockerd that accepts and never
answers, one that trickles a byte every few seconds so a per-read timeout never fires, and one (or a proxy
in front of one) whose answers are broken. Routes:

    GET/HEAD /_ping            "OK" (with a one-row listing, the bot's quick check and breaker probe)
    GET /version               {"ApiVersion": "1.41", …} (docker-py's API version negotiation)
    GET /containers/json       `listing` (a list of Engine API container objects; empty by default)
    a route of `answers`       its JSON (`answers={"/images/json": [...]}`, any method)
    anything else              404 {"message": "page not found"} (`others`: e.g. a `POST …/stop` that hangs)

Each route (also with a `/v1.NN` prefix) behaves as one of `BEHAVIOURS`, changeable while serving with
`behave(...)` (`ping=`, `version=`, `containers=`, `others=`, any route with `routes={"/info": …}`, or every
route at once with `everything=`):

    ok       the answer at once
    silent   read the request, never answer, hold the connection open until `stop()`
    trickle  the whole answer (status line, headers, body) one byte every `trickle_interval` seconds; the
             body is padded with spaces to `trickle_bytes`, so it lasts `trickle_bytes × interval` at least
    close    hang up without a byte

and the bad answers (`BAD_ANSWERS`), each sent at once:

    server_error       500 {"message": "fake engine: internal error"}
    server_error_text  500 with an HTML body that is not JSON (a proxy's error page)
    bad_json           200 application/json whose body is not JSON
    wrong_json         200 with JSON of another shape: an object where the route answers a list, a list of
                       strings where it answers an object (a stream: items that are not objects)
    truncated          200 announcing more body than it sends, then a hang-up
    reset              200, half the body, then a reset (an RST on TCP; on a Unix socket, which has none, a
                       hang-up)
    redirect           307 to another path (`Location`; the bot must not follow it)
    not_found          404 {"message": "No such object: fake"}
    conflict           409 {"message": "fake engine: conflict"}

A 200 of a route the Engine API streams (`/events`, `/images/create`, `/containers/{id}/logs`) is sent
chunked, as dockerd sends it; `truncated` and `reset` then break off inside a chunk.

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
import struct
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Literal, Self

Behaviour = Literal[
    "ok",
    "silent",
    "trickle",
    "close",
    "server_error",
    "server_error_text",
    "bad_json",
    "wrong_json",
    "truncated",
    "reset",
    "redirect",
    "not_found",
    "conflict",
]
BAD_ANSWERS: tuple[Behaviour, ...] = (
    "server_error",
    "server_error_text",
    "bad_json",
    "wrong_json",
    "truncated",
    "reset",
    "redirect",
    "not_found",
    "conflict",
)
BEHAVIOURS: tuple[Behaviour, ...] = ("ok", "silent", "trickle", "close", *BAD_ANSWERS)
STREAMED = ("/events", "/images/create")  # and every `/containers/{id}/logs`
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
        answers: Mapping[str, Any] | None = None,
    ) -> None:
        self.path = path
        self.trickle_interval = trickle_interval
        self.trickle_bytes = trickle_bytes
        self.listing = listing or []
        self.answers = dict(answers or {})
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
        routes: Mapping[str, Behaviour] | None = None,
        everything: Behaviour | None = None,
    ) -> None:
        """Change how routes answer from the next request on (requests already being answered go on).
        `routes`: any route (without the `/v1.NN` prefix) → its behaviour; `others`: every route without
        one of its own; `everything`: every route, forgetting what was set per route (applied first)."""
        if everything is not None:
            _check(everything)
            with self._lock:
                self._behaviour = {"*": everything}
        named = (("/_ping", ping), ("/version", version), ("/containers/json", containers), ("*", others))
        for route, behaviour in (*named, *(routes or {}).items()):
            if behaviour is None:
                continue
            _check(behaviour)
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
        if behaviour in BAD_ANSWERS:
            return self._bad_answer(sock, method, path, behaviour)
        data = self._response(method, path, padded=behaviour == "trickle")
        if behaviour == "ok":
            sock.sendall(data)
            return True
        for index in range(len(data)):
            if self._stop.wait(self.trickle_interval if index else 0):
                return False
            sock.sendall(data[index : index + 1])
        return True

    def _ok_body(self, route: str) -> tuple[str, bytes, str]:
        """The good answer of `route`: status, body, content type."""
        if route == "/_ping":
            return "200 OK", b"OK", "text/plain; charset=utf-8"
        if route == "/version":
            return "200 OK", json.dumps(_VERSION).encode(), "application/json"
        if route in self.answers:
            return "200 OK", json.dumps(self.answers[route]).encode(), "application/json"
        if route == "/containers/json":
            return "200 OK", json.dumps(self.listing).encode(), "application/json"
        return "404 Not Found", b'{"message":"page not found"}', "application/json"

    def _response(self, method: str, path: str, *, padded: bool) -> bytes:
        status, body, content_type = self._ok_body(_route(path))
        if padded and len(body) < self.trickle_bytes and content_type == "application/json":
            body += b" " * (self.trickle_bytes - len(body))
        head = _head(status, content_type, f"Content-Length: {len(body)}")
        return head if method == "HEAD" else head + body

    def _bad_answer(self, sock: socket.socket, method: str, path: str, behaviour: Behaviour) -> bool:
        """Send one of `BAD_ANSWERS`; False when the connection is done with (a hang-up or a reset)."""
        route = _route(path)
        _, good, content_type = self._ok_body(route)
        if good == b'{"message":"page not found"}':
            good = b'[{"Id": "f00d", "Names": ["/fake"], "State": "running"}]'
        fixed = _BAD_FIXED.get(behaviour)
        if fixed is not None:
            status, kind, body, extra = fixed
            head = _head(status, kind, f"Content-Length: {len(body)}", *extra)
            sock.sendall(head if method == "HEAD" else head + body)
            return True
        body = b'{"Id": "f00d", oops' if behaviour == "bad_json" else good
        if behaviour == "wrong_json":
            body = b'{"surprise": [1]}' if good.startswith(b"[") else b'["surprise", "again"]'
        whole = behaviour in ("bad_json", "wrong_json")  # sent in full, the connection kept
        streamed = route in STREAMED or route.endswith("/logs")
        if streamed:
            head = _head("200 OK", content_type, "Transfer-Encoding: chunked")
            chunk = f"{len(body) + 64:x}\r\n".encode() + body  # the chunk announces more than it holds
            if whole:
                chunk = f"{len(body):x}\r\n".encode() + body + b"\r\n0\r\n\r\n"
        else:
            head = _head("200 OK", content_type, f"Content-Length: {len(body) + 64 * (not whole)}")
            chunk = body
        if method == "HEAD":
            sock.sendall(head)
            return whole
        if whole:
            sock.sendall(head + chunk)
            return True
        if behaviour == "truncated":
            sock.sendall(head + chunk)
            return False
        sock.sendall(head + chunk[: max(1, len(chunk) // 2)])
        if sock.family != socket.AF_UNIX:  # an RST instead of a FIN when the socket closes
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            sock.close()
        return False


def _check(behaviour: str) -> None:
    if behaviour not in BEHAVIOURS:
        raise ValueError(f"unknown behaviour {behaviour!r}; known: {', '.join(BEHAVIOURS)}")


def _head(status: str, content_type: str, *fields: str) -> bytes:
    lines = [f"HTTP/1.1 {status}", f"Api-Version: {API_VERSION}", f"Content-Type: {content_type}", *fields]
    return ("\r\n".join([*lines, "Server: fake-engine"]) + "\r\n\r\n").encode()


# The bad answers that are the same for every route: status, content type, body, more header fields.
_BAD_FIXED: dict[str, tuple[str, str, bytes, tuple[str, ...]]] = {
    "server_error": (
        "500 Internal Server Error",
        "application/json",
        b'{"message":"fake engine: internal error"}',
        (),
    ),
    "server_error_text": (
        "500 Internal Server Error",
        "text/html",
        b"<html>\n<head><title>500 Internal Server Error</title></head>\n<body>proxy error</body>\n</html>\n",
        (),
    ),
    "redirect": ("307 Temporary Redirect", "text/plain", b"", ("Location: /v1.41/containers/other/json",)),
    "not_found": ("404 Not Found", "application/json", b'{"message":"No such object: fake"}', ()),
    "conflict": ("409 Conflict", "application/json", b'{"message":"fake engine: conflict"}', ()),
}

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
