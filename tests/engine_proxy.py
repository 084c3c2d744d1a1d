"""A recording Engine API proxy: a small HTTP server on a unix socket in front of the real Docker socket.

The bot talks to it as to any engine (`unix://…/proxy.sock`); every request it sends is recorded (method and
the raw request target, exactly as it went over the wire) and then, by the proxy's mode:
- forwarded to the real engine, answer relayed byte for byte (the default);
- answered 3xx with a `Location` instead, for requests `redirect` picks (the bot must refuse, not follow);
- with `forward_mutations=False`, only reads (GET, HEAD) are forwarded: every other request is recorded and
  answered with a plausible success without reaching the engine, so a fuzz can run thousands of mutating
  chains against a real engine's listings and change nothing;
- for requests `trickle` picks, the real engine's whole answer relayed one byte every N seconds (an engine
  that dribbles one kind of answer, `/logs` say, while the rest is healthy).

Each connection carries one request (`Connection: close` both ways), which keeps the relay trivially correct
for streamed answers (events, logs, pull progress).
"""

from __future__ import annotations

import contextlib
import json
import re
import socket
import socketserver
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Self
from urllib.parse import unquote, urlsplit

UPSTREAM = "/var/run/docker.sock"
_MAX_HEADER = 64 * 1024
_OBJECT_PATH = re.compile(
    r"^/v[0-9.]+/(?P<kind>containers|images|volumes|networks)/(?P<ref>.+?)"
    r"(?:/(?P<verb>start|stop|restart|kill|pause|unpause|json|logs|top|wait|push|tag|history))?$"
)


@dataclass(frozen=True, slots=True)
class Recorded:
    """One request as it reached the proxy."""

    method: str
    target: str  # the raw request target: path and query, still URL-encoded

    @property
    def path(self) -> str:
        """The raw path, without the query."""
        return urlsplit(self.target).path

    @property
    def mutating(self) -> bool:
        """Anything but a read."""
        return self.method not in {"GET", "HEAD"}

    def object(self) -> tuple[str, str, str] | None:
        """(kind, decoded reference, verb) for a request on one object (`/containers/ID/stop`), else None."""
        match = _OBJECT_PATH.match(self.path)
        if match is None or match.group("ref") in {"json", "create", "prune", "search", "load", "get"}:
            return None
        return match.group("kind"), unquote(match.group("ref")), match.group("verb") or ""


Redirect = Callable[[str, str], str | None]  # (method, target) -> Location, or None to pass
Trickle = Callable[[str, str], float | None]  # (method, target) -> seconds between two bytes, or None


class EngineProxy:
    """Serves `socket_path`, forwarding to `upstream`; `requests` lists what arrived, oldest first."""

    def __init__(
        self,
        socket_path: Path,
        *,
        upstream: str = UPSTREAM,
        forward_mutations: bool = True,
        redirect: Redirect | None = None,
        trickle: Trickle | None = None,
    ) -> None:
        self.socket_path = socket_path
        self.upstream = upstream
        self.forward_mutations = forward_mutations
        self.redirect = redirect
        self.trickle = trickle
        self._stopped = threading.Event()
        self._recorded: list[Recorded] = []
        self._lock = threading.Lock()
        self._server: socketserver.ThreadingUnixStreamServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """The `unix://` URL a client uses."""
        return f"unix://{self.socket_path}"

    @property
    def requests(self) -> list[Recorded]:
        """Every request so far."""
        with self._lock:
            return list(self._recorded)

    def clear(self) -> None:
        """Forget what was recorded."""
        with self._lock:
            self._recorded.clear()

    def start(self) -> Self:
        proxy = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                proxy._serve_one(self.request)

        server = socketserver.ThreadingUnixStreamServer(str(self.socket_path), Handler)
        server.daemon_threads = True
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, name="engine-proxy", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopped.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=10)
        with contextlib.suppress(FileNotFoundError):
            self.socket_path.unlink()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.stop()

    # ---- one request --------------------------------------------------------------------------------------

    def _serve_one(self, client: socket.socket) -> None:
        head, rest = _read_head(client)
        if head is None:
            return
        request_line, *header_lines = head.decode("latin-1").split("\r\n")
        method, target, _version = request_line.split(" ", 2)
        headers = [line for line in header_lines if line]
        length = _content_length(headers)
        body = rest
        while len(body) < length:
            chunk = client.recv(65536)
            if not chunk:
                break
            body += chunk
        with self._lock:
            self._recorded.append(Recorded(method, target))
        location = self.redirect(method, target) if self.redirect else None
        if location is not None:
            client.sendall(
                f"HTTP/1.1 301 Moved Permanently\r\nLocation: {location}\r\nContent-Length: 0\r\n"
                "Connection: close\r\n\r\n".encode("latin-1")
            )
            return
        if method not in {"GET", "HEAD"} and not self.forward_mutations:
            client.sendall(_pretend(method, target))
            return
        interval = self.trickle(method, target) if self.trickle else None
        if interval is not None:
            self._dribble(client, method, target, headers, body, interval=interval)
            return
        self._forward(client, method, target, headers, body)

    def _dribble(
        self,
        client: socket.socket,
        method: str,
        target: str,
        headers: list[str],
        body: bytes,
        *,
        interval: float,
    ) -> None:
        """The real engine's whole answer, then relayed one byte every `interval` s (until the client or
        the proxy gives up)."""
        kept = [h for h in headers if h.split(":", 1)[0].strip().lower() != "connection"]
        request = "\r\n".join([f"{method} {target} HTTP/1.1", *kept, "Connection: close", "", ""])
        answer = b""
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as engine:
            engine.connect(self.upstream)
            engine.sendall(request.encode("latin-1") + body)
            while chunk := engine.recv(65536):
                answer += chunk
        for index in range(len(answer)):
            if self._stopped.wait(interval if index else 0):
                return
            try:
                client.sendall(answer[index : index + 1])
            except OSError:
                return

    def _forward(
        self, client: socket.socket, method: str, target: str, headers: list[str], body: bytes
    ) -> None:
        kept = [h for h in headers if h.split(":", 1)[0].strip().lower() != "connection"]
        request = "\r\n".join([f"{method} {target} HTTP/1.1", *kept, "Connection: close", "", ""])
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as engine:
            engine.connect(self.upstream)
            engine.sendall(request.encode("latin-1") + body)
            while chunk := engine.recv(65536):
                try:
                    client.sendall(chunk)
                except OSError:  # the client gave up (a deadline, a closed stream): stop relaying
                    return


def _read_head(client: socket.socket) -> tuple[bytes | None, bytes]:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = client.recv(65536)
        if not chunk or len(data) > _MAX_HEADER:
            return None, b""
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    return head, rest


def _content_length(headers: list[str]) -> int:
    for header in headers:
        name, _, value = header.partition(":")
        if name.strip().lower() == "content-length":
            return int(value.strip() or 0)
    return 0


def _pretend(method: str, target: str) -> bytes:
    """A plausible success for a mutation that is recorded but never reaches the engine."""
    path = urlsplit(target).path
    body: bytes = b""
    status = "204 No Content"
    if method == "DELETE" and "/images/" in path:
        status, body = "200 OK", json.dumps([{"Untagged": unquote(path.split("/images/", 1)[1])}]).encode()
    elif path.endswith("/build/prune"):
        status, body = "200 OK", b'{"CachesDeleted":[],"SpaceReclaimed":0}'
    elif path.endswith("/prune"):
        status, body = "200 OK", b"{}"
    elif path.endswith("/images/create"):
        status, body = "200 OK", b'{"status":"Status: Image is up to date (proxy)"}\r\n'
    head = f"HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n"
    return (head + "Connection: close\r\n\r\n").encode("latin-1") + body
