"""The Engine API access of one host's event watcher: the event stream, the listing it reconciles with, the
daemon's clock and ping, and the details a notification carries (a container's last log lines, its state).

Everything goes through the one client factory (`hosts.open_api_client`, or a `HostClient` built on it) and
inside `hosts.docker_errors`, so only `bot.errors` types come out: a failing, garbled or broken-off stream
ends its iteration with `EngineUnavailable` or `OperationFailed`, never a docker-py, requests or socket
error, and one closed on purpose (`EventStream.close`) just ends.

Two kinds of client, as the watcher needs them:
- the stream's: one `docker.APIClient` per thread without a wall-clock deadline (an event stream is endless
  by design; only the per-read timeout applies, and the watcher's own watchdog pings to notice a dead one);
  the reader, a replacement reader and the watchdog each get their own (docker-py promises no thread
  safety), and `close` closes them all;
- the details': a `HostClient`, so fetching a log tail or an inspect has the wall-clock deadline and the
  circuit breaker of a command call, apart from the stream's.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from bot.engine.convert import container_row
from bot.engine.hosts import Host, HostClient, docker_errors, open_api_client
from bot.models import ContainerRow


class EventStream:
    """One subscription to `GET /events`: iterate it for the events (each a mapping, as the Engine API sends
    it); `close()` from any thread ends it (the iteration then just stops). Fails only with `bot.errors`
    types."""

    def __init__(self, host: Host, raw: Any) -> None:
        self.host = host
        self._raw = raw
        self._closed = threading.Event()

    def __iter__(self) -> Iterator[Mapping[str, Any]]:
        try:
            with docker_errors(self.host):
                for item in self._raw:
                    if isinstance(item, Mapping):
                        yield item
        except Exception:
            if self._closed.is_set():  # closed on purpose: whatever the cut socket raised means "ended"
                return
            raise

    def close(self) -> None:
        """End the stream (its socket is shut down under a reader blocked on it)."""
        self._closed.set()
        with contextlib.suppress(Exception):  # a stream already read to its end has no socket left
            self._raw.close()


def read_events(host: Host, raw: Any, limit: int) -> list[Mapping[str, Any]]:
    """At most `limit` events of a stream opened with an `until` (which the engine closes by itself once it
    has sent the window), then closed: the command `events` reads through the same decoding and border as
    the watcher. The caller's wall-clock deadline bounds it if the engine keeps the stream open anyway."""
    stream = EventStream(host, raw)
    items: list[Mapping[str, Any]] = []
    try:
        for item in stream:
            items.append(item)
            if len(items) >= limit:
                break
    finally:
        stream.close()
    return items


class EventSource:
    """What one host's watcher asks the engine, as typed calls that raise only `bot.errors` types."""

    def __init__(self, host: Host) -> None:
        self.host = host
        self._local = threading.local()
        self._all: list[Any] = []
        self._lock = threading.Lock()
        self._version: str | None = None
        self._details = HostClient(host)  # deadlines and a breaker of its own, apart from the stream's

    def _api(self) -> Any:
        """This thread's stream client (opened, and the API version negotiated once, on first use)."""
        client = getattr(self._local, "client", None)
        if client is None:
            client = open_api_client(self.host, self._version or "auto")
            with self._lock:
                self._version = self._version or client.api_version
                self._all.append(client)
            self._local.client = client
        return client

    def system_time(self) -> str | None:
        """The daemon's clock (`GET /info`, `SystemTime`), as the engine wrote it; None when it says none."""
        with docker_errors(self.host):
            info = self._api().info()
        value = info.get("SystemTime") if isinstance(info, Mapping) else None
        return str(value) if value else None

    def subscribe(self, since: str | None, filters: Mapping[str, Sequence[str]]) -> EventStream:
        """Subscribe to `GET /events` from `since` (`"<sec>.<nanos>"`, None: from now) with `filters`."""
        wanted = {key: list(values) for key, values in filters.items()}
        with docker_errors(self.host):
            raw = self._api().events(since=since, filters=wanted, decode=True)
        return EventStream(self.host, raw)

    def containers(self) -> list[ContainerRow]:
        """Every container, stopped ones too (one `GET /containers/json?all=1`)."""
        with docker_errors(self.host):
            raw = self._api().containers(all=True)  # a list of objects: the client checks the shape
        return [container_row(item) for item in raw]

    def ping(self) -> None:
        """`GET /_ping`; `EngineUnavailable` (or another `bot.errors` type) when it gets no good answer."""
        with docker_errors(self.host):
            self._api().ping()

    def log_tail(self, container_id: str, lines: int, within: float) -> tuple[str, ...]:
        """The last `lines` lines a container wrote (stdout and stderr, unmasked), within `within` s."""

        def read(api: Any) -> bytes:
            raw = api.logs(container_id, stdout=True, stderr=True, tail=lines)
            return raw if isinstance(raw, bytes) else str(raw).encode()

        text = self._details.call(read, within).decode("utf-8", "replace")
        return tuple(text.splitlines()[-lines:]) if lines else ()

    def container_state(self, container_id: str, within: float) -> Mapping[str, Any]:
        """A container's inspected `State` (empty when the engine sent none), within `within` s."""
        data = self._details.call(lambda api: api.inspect_container(container_id), within)
        state = data.get("State") if isinstance(data, Mapping) else None
        return state if isinstance(state, Mapping) else {}

    def close(self) -> None:
        """Close every client (a thread calling again reconnects)."""
        with self._lock:
            clients, self._all = self._all, []
        for client in clients:
            with contextlib.suppress(Exception):
                client.close()
        self._details.close_all()
