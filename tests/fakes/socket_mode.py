"""A local stand-in for Slack's Socket Mode WebSocket endpoint, on 127.0.0.1.

apps.connections.open (served by the fake Web API) asks issue_url() for a one-time ``ws://`` URL; a client
that connects with it gets ``hello`` like Slack sends, then whatever envelopes the test sends. The
acknowledgements the app sends back are recorded. ``send_disconnect()`` plays Slack's "refresh_requested":
the client must open a fresh URL through apps.connections.open and connect again.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any, TypeVar
from urllib.parse import parse_qs, urlsplit

from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response
from websockets.sync.server import Server, ServerConnection, serve

from .server import LOCALHOST, BackgroundServer

ENVELOPE_TYPES = frozenset({"slash_commands", "interactive", "events_api"})
_T = TypeVar("_T")

JsonDict = dict[str, Any]


@dataclass(frozen=True)
class Ack:
    """What the app sent back for one envelope: {"envelope_id": ..., "payload": ...?}."""

    envelope_id: str
    payload: JsonDict | None
    raw: str
    connection_id: int
    time: float  # time.monotonic()


@dataclass(frozen=True)
class Envelope:
    """An envelope the fake sent to the app."""

    envelope_id: str
    type: str
    payload: JsonDict
    connection_id: int
    time: float


class FakeSocketMode(BackgroundServer[Server]):
    """Slack's Socket Mode server on 127.0.0.1, a free port; start()/stop() or use it as a context manager."""

    description = "the fake Socket Mode server"
    thread_name = "fake-slack-socket"
    scheme = "ws"

    def __init__(
        self,
        *,
        app_id: str = "A1",
        ping_interval: float | None = None,
        ping_timeout: float = 5.0,
        close_timeout: float = 2.0,
    ) -> None:
        super().__init__()
        self.app_id = app_id
        self._ping_interval = (
            ping_interval  # None: the server sends no pings of its own (it always answers pongs)
        )
        self._ping_timeout = ping_timeout
        self._close_timeout = close_timeout
        self._cond = threading.Condition(threading.RLock())
        self._last_port = 0  # a client reconnecting after stop() gets this closed port: connection refused
        self._tickets: set[str] = set()
        self._open: dict[int, ServerConnection] = {}  # connection id -> connection, oldest first
        self._opened = 0
        self._rejected = 0
        self._acks: list[Ack] = []
        self._sent: list[Envelope] = []
        self._received: list[str] = []

    # ------------------------------------------------------------------ lifecycle

    def _make_server(self) -> Server:
        server = serve(
            self._handle,
            LOCALHOST,
            0,
            process_request=self._process_request,
            compression=None,
            ping_interval=self._ping_interval,
            ping_timeout=self._ping_timeout,
            close_timeout=self._close_timeout,
            open_timeout=5,
        )
        self._last_port = self._bound_port(server)
        return server

    def _serve(self, server: Server) -> None:
        server.serve_forever()

    def _shutdown(self, server: Server) -> None:
        """Close every connection (1001 going away) and the listening socket; the handlers then end."""
        server.shutdown()

    def _bound_port(self, server: Server) -> int:
        return int(server.socket.getsockname()[1])

    def issue_url(self) -> str:
        """A one-time ws://127.0.0.1:PORT/link/?ticket=… URL, as apps.connections.open answers it."""
        ticket = uuid.uuid4().hex
        with self._cond:
            self._tickets.add(ticket)
        return f"ws://{LOCALHOST}:{self._last_port}/link/?ticket={ticket}&app_id={self.app_id}"

    # ------------------------------------------------------------------ state

    @property
    def connections_opened(self) -> int:
        """How many WebSocket connections completed the handshake since start."""
        with self._cond:
            return self._opened

    @property
    def open_connections(self) -> int:
        with self._cond:
            return len(self._open)

    @property
    def rejected_handshakes(self) -> int:
        """Connection attempts refused for an unknown or already used ticket."""
        with self._cond:
            return self._rejected

    def acks(self) -> list[Ack]:
        with self._cond:
            return list(self._acks)

    def ping_latencies(self) -> list[float]:
        """Round-trip time of the last server ping per open connection; 0.0 until the client answered one."""
        with self._cond:
            return [connection.latency for connection in self._open.values()]

    def envelopes(self) -> list[Envelope]:
        with self._cond:
            return list(self._sent)

    def received(self) -> list[str]:
        """Every text frame the app sent, acks included, in order."""
        with self._cond:
            return list(self._received)

    def wait_for_connection(self, count: int = 1, timeout: float = 5.0) -> None:
        """Block until `count` connections have been opened in total since start."""
        self._wait(lambda: self._opened >= count or None, timeout, f"{count} connection(s)")

    def wait_for_ack(self, envelope_id: str, timeout: float = 5.0) -> Ack:
        def found() -> Ack | None:
            return next((ack for ack in self._acks if ack.envelope_id == envelope_id), None)

        return self._wait(found, timeout, f"the ack of envelope {envelope_id}")

    # ------------------------------------------------------------------ sending

    def send_envelope(
        self,
        type: str,  # Slack's field name
        payload: JsonDict,
        *,
        accepts_response_payload: bool | None = None,
        retry_attempt: int = 0,
        retry_reason: str = "",
        envelope_id: str | None = None,
        timeout: float = 5.0,
    ) -> str:
        """Send one envelope to the newest open connection (waiting up to `timeout` for one); return its id.

        accepts_response_payload defaults to Slack's habit: true for slash_commands, false otherwise.
        A redelivery names the `envelope_id` it repeats and its `retry_attempt` (1, 2…) and `retry_reason`.
        """
        if type not in ENVELOPE_TYPES:
            raise ValueError(f"unknown envelope type {type!r}; Slack sends {sorted(ENVELOPE_TYPES)}")
        envelope_id = envelope_id or str(uuid.uuid4())
        envelope: JsonDict = {
            "envelope_id": envelope_id,
            "type": type,
            "payload": payload,
            "accepts_response_payload": (
                type == "slash_commands" if accepts_response_payload is None else accepts_response_payload
            ),
        }
        if type == "events_api" or retry_attempt:
            envelope["retry_attempt"] = retry_attempt
            envelope["retry_reason"] = retry_reason
        connection_id = self._send_newest(envelope, timeout)
        with self._cond:
            self._sent.append(Envelope(envelope_id, type, payload, connection_id, time.monotonic()))
        return envelope_id

    def send_disconnect(
        self, reason: str = "refresh_requested", *, wait_reconnect: bool = True, timeout: float = 10.0
    ) -> None:
        """Send {"type": "disconnect", "reason": reason} on the newest connection, then close it.

        Slack leaves a refreshing connection open for a few seconds so the client can connect again first:
        with wait_reconnect this waits (up to `timeout`) for a new connection before closing the old one.
        """
        with self._cond:
            opened_before = self._opened
        message = {"type": "disconnect", "reason": reason, "debug_info": {"host": "fake-applink-1"}}
        connection_id = self._send_newest(message, timeout)
        if wait_reconnect:
            self._wait(
                lambda: self._opened > opened_before or None, timeout, "a new connection after disconnect"
            )
            # a well-behaved client closes the old connection itself once the new one is up; give it a moment
            with contextlib.suppress(TimeoutError):
                self._wait(
                    lambda: connection_id not in self._open or None, 0.5, "the old connection to close"
                )
        with self._cond:
            connection = self._open.get(connection_id)
        if connection is not None:
            connection.close(1000, reason)
        # the handler thread forgets the connection just after the close: let open_connections settle
        self._wait(
            lambda: connection_id not in self._open or None, self._close_timeout + 1, "the old connection"
        )

    def drop_connections(self) -> None:
        """Close every open connection at once (code 1001), as a network or server restart would."""
        with self._cond:
            connections = list(self._open.values())
        for connection in connections:
            connection.close(1001, "going away")
        self._wait(lambda: not self._open or None, self._close_timeout + 1, "every connection to close")

    # ------------------------------------------------------------------ internals

    def _wait(self, found: Callable[[], _T | None], timeout: float, what: str) -> _T:
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                item = found()
                if item is not None:
                    return item
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(
                        f"waited {timeout} s for {what}; opened {self._opened}, open {len(self._open)}, "
                        f"acks {[a.envelope_id for a in self._acks]}"
                    )
                self._cond.wait(remaining)

    def _send_newest(self, message: JsonDict, timeout: float) -> int:
        text = json.dumps(message)
        deadline = time.monotonic() + timeout
        while True:
            picked = self._wait(
                lambda: next(reversed(self._open.items()), None),
                max(deadline - time.monotonic(), 0.0),
                "a connection",
            )
            connection_id, connection = picked
            try:
                connection.send(text)
            except ConnectionClosed:
                with self._cond:
                    if self._open.get(connection_id) is connection:
                        del self._open[connection_id]
                if time.monotonic() >= deadline:
                    raise
                continue
            return connection_id

    def _process_request(self, connection: ServerConnection, request: Request) -> Response | None:
        parts = urlsplit(request.path)
        ticket = (parse_qs(parts.query).get("ticket") or [""])[0]
        with self._cond:
            valid = parts.path.rstrip("/") == "/link" and ticket in self._tickets
            if valid:
                self._tickets.discard(ticket)  # one connection per apps.connections.open, like Slack
            else:
                self._rejected += 1
        if valid:
            return None
        return connection.respond(HTTPStatus.UNAUTHORIZED, "invalid or used ticket\n")

    def _handle(self, connection: ServerConnection) -> None:
        with self._cond:
            self._opened += 1
            connection_id = self._opened
            self._open[connection_id] = connection
            hello = {
                "type": "hello",
                "num_connections": len(self._open),
                "debug_info": {
                    "host": "fake-applink-1",
                    "build_number": 1,
                    "approximate_connection_time": 18060,
                },
                "connection_info": {"app_id": self.app_id},
            }
            self._cond.notify_all()
        try:
            connection.send(json.dumps(hello))
            for frame in connection:
                self._on_text(connection_id, frame if isinstance(frame, str) else frame.decode("utf-8"))
        except ConnectionClosed:
            pass
        finally:
            with self._cond:
                if self._open.get(connection_id) is connection:
                    del self._open[connection_id]
                self._cond.notify_all()

    def _on_text(self, connection_id: int, text: str) -> None:
        try:
            message = json.loads(text)
        except json.JSONDecodeError:
            message = None
        with self._cond:
            self._received.append(text)
            if isinstance(message, dict) and isinstance(message.get("envelope_id"), str):
                payload = message.get("payload")
                self._acks.append(
                    Ack(
                        message["envelope_id"],
                        payload if isinstance(payload, dict) else None,
                        text,
                        connection_id,
                        time.monotonic(),
                    )
                )
            self._cond.notify_all()
