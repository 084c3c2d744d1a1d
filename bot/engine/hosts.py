"""Named Docker hosts and their clients, and the one place where Docker's errors become ours.

Each host gets one low-level `docker.APIClient` per thread (docker-py does not promise thread safety). The API
version is negotiated once per host and reused. `docker_errors` maps docker-py and requests exceptions to
`NotFound`, `Conflict`, `OperationFailed` and `EngineUnavailable`; nothing above the engine ever sees a
docker-py exception.

Every call a `HostClient` makes has a wall-clock deadline, not only requests' per-read timeout (which an
engine sending a byte now and then never reaches): when the deadline passes, the sockets of that thread's
client are shut down, the call fails at once and is answered "did not answer within N s", and the client is
thrown away so no half-read connection is ever reused. A `HostHealth` breaker per host answers at once while
the host is down and lets one probe (`GET /_ping`) through at a time. The event watcher's clients, which
read an endless stream, come from `open_api_client` without a guard and have no such deadline.
"""

from __future__ import annotations

import math
import os
import re
import socket
import threading
import time
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import docker
import docker.errors
import docker.tls
import requests.exceptions

from bot.errors import ChatOpsError, Conflict, EngineUnavailable, NotFound, OperationFailed, UsageError
from bot.pool import Admission, CircuitBreaker, CircuitOpen, Deadlines, Outage
from bot.settings import HostConfig, Settings

T = TypeVar("T")
CUT_AGAIN_EVERY = 0.05  # seconds: after a deadline, its call's sockets are shut down again until it returns
# The wall-clock budget of a call that legitimately streams for long (`pull`): bounded, but not by the
# host's per-call timeout. A stuck pull holds one worker of its own host's share for at most this long.
LONG_CALL_DEADLINE = 1800.0

DEFAULT_SOCKET = "unix:///var/run/docker.sock"
ENGINE_HINT = "start dockerd, or point DOCKER_HOST (or [[hosts]] in CHATOPS_CONFIG) at a running engine"


@dataclass(frozen=True, slots=True)
class Host:
    """Where one Docker engine answers, and how long to wait for it."""

    name: str
    url: str
    timeout: float  # seconds one Engine API call may take, wall clock
    tls: docker.tls.TLSConfig | bool = False
    workers: int | None = None  # this host's share of CHATOPS_WORKERS; None: an even split


class RedirectRefused(requests.exceptions.RequestException):
    """The Engine API answered a redirect (3xx). The bot never follows one: dockerd redirects a path holding
    `..` to its cleaned form, and following it would send the request to an object nobody authorized."""


# Every 3xx that sends a client elsewhere. Not 304 Not Modified: dockerd answers it to `start` of a running
# container and `stop` of a stopped one, which the Docker CLI (and the bot) report as done.
_REDIRECTS = frozenset({300, 301, 302, 303, 305, 307, 308})


def _refuse_redirects(response: requests.Response, *args: Any, **kwargs: Any) -> requests.Response:
    # a response hook runs before requests would follow the redirect; raising here sends no second request
    if response.is_redirect or response.status_code in _REDIRECTS:
        location = response.headers.get("Location", "?")
        response.close()
        answer = f"the Engine API answered {response.status_code} (redirect to {location[:200]})"
        raise RedirectRefused(answer, response=response)
    return response


class CallGuard:
    """What a wall-clock deadline needs to end one client's call: every HTTP connection that client opened
    (held weakly), and the instant the current call must end (None between calls).

    One guard belongs to one client, and a client to one thread, so the connections a deadline cuts are
    those of the call it times (and idle ones of the same client, which is thrown away anyway).
    """

    def __init__(self) -> None:
        self.due: float | None = None  # time.monotonic() deadline of the call in progress
        self._started = 0.0
        self._connections: weakref.WeakSet[Any] = weakref.WeakSet()
        self._lock = threading.Lock()

    def begin(self, seconds: float) -> None:
        """A call starts: it must end within `seconds` (unless one of its requests asks for more)."""
        self._started = time.monotonic()
        self.due = self._started + seconds

    def allow(self, seconds: float) -> None:
        """A request of the call may take `seconds` by its nature (docker-py adds a `stop`'s or `restart`'s
        grace time to the client's timeout): the deadline moves to at least that far from now."""
        if self.due is not None:
            self.due = max(self.due, time.monotonic() + seconds)

    def budget(self) -> float:
        """The wall-clock seconds the call in progress may take (its deadline, counted from its start)."""
        return (self.due or self._started) - self._started

    def end(self) -> float:
        """The call is over; the budget it had."""
        budget = self.budget()
        self.due = None
        return budget

    def adopt(self, connection: Any) -> None:
        """Track a connection the client's pool just made."""
        with self._lock:
            self._connections.add(connection)

    def clamp(self, timeout: Any) -> Any:
        """A request's timeout, no longer than what is left of the call's deadline (connect included)."""
        if self.due is None:
            return timeout
        left = max(0.001, self.due - time.monotonic())
        if timeout is None:
            return left
        if isinstance(timeout, tuple):
            return tuple(left if t is None else min(float(t), left) for t in timeout)
        return min(float(timeout), left)

    def cut(self) -> int:
        """Shut down (not close: the reading thread owns the close) every socket of the client; how many."""
        with self._lock:
            connections = list(self._connections)
        cut = 0
        for connection in connections:
            sock = getattr(connection, "sock", None)
            if sock is not None and _shut_down(sock):
                cut += 1
        return cut


def _shut_down(sock: Any) -> bool:
    try:
        if isinstance(sock, socket.socket):
            # the plain socket's shutdown, also for TLS: SSLSocket.shutdown would unwrap it under the reader
            socket.socket.shutdown(sock, socket.SHUT_RDWR)
        else:  # paramiko's channel (ssh://) and the like
            sock.shutdown(socket.SHUT_RDWR)
    except (OSError, AttributeError, ValueError):
        return False
    return True


def _watch_pools(adapter: Any, guard: CallGuard) -> None:
    """Make every connection pool `adapter` hands out report the connections it opens to `guard`."""
    for name in ("get_connection_with_tls_context", "get_connection"):
        original = getattr(adapter, name, None)
        if not callable(original):
            continue

        def handing_out(*args: Any, _original: Callable[..., Any] = original, **kwargs: Any) -> Any:
            pool = _original(*args, **kwargs)
            _watch_pool(pool, guard)
            return pool

        setattr(adapter, name, handing_out)


def _watch_pool(pool: Any, guard: CallGuard) -> None:
    if getattr(pool, "_chatops_guard", None) is guard or not callable(getattr(pool, "_new_conn", None)):
        return
    make = pool._new_conn

    def new_connection() -> Any:
        connection = make()
        guard.adopt(connection)
        return connection

    pool._new_conn = new_connection
    pool._chatops_guard = guard


class _EngineAPIClient(docker.APIClient):  # type: ignore[misc]  # docker-py ships no type information
    """docker-py's low-level client that never follows a redirect (also while negotiating the version) and,
    with a `CallGuard`, lets that guard see its connections and bound each request by the call's deadline."""

    def __init__(self, *args: Any, guard: CallGuard | None = None, **kwargs: Any) -> None:
        self._chatops_guard = guard  # before requests' Session.__init__, which mounts adapters
        super().__init__(*args, **kwargs)

    def mount(self, prefix: str, adapter: Any) -> None:
        if self._chatops_guard is not None:
            _watch_pools(adapter, self._chatops_guard)
        super().mount(prefix, adapter)

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
        kwargs["allow_redirects"] = False
        guard = self._chatops_guard
        if guard is not None:
            timeout = kwargs.get("timeout")
            if isinstance(timeout, int | float) and self.timeout is not None and timeout > self.timeout:
                guard.allow(float(timeout))  # docker-py's own longer wait for this request (stop -t N)
            kwargs["timeout"] = guard.clamp(timeout)
        return super().request(method, url, *args, **kwargs)


def open_api_client(
    host: Host, version: str = "auto", timeout: float | None = None, *, guard: CallGuard | None = None
) -> Any:
    """A new low-level `docker.APIClient` for `host` that never follows a redirect.

    Every Docker client of the bot comes from here (commands, the event watcher), so no path can reach the
    Engine API through a 3xx. `timeout` (per socket read) defaults to the host's. With a `guard` (what
    `HostClient` passes) the client's calls can be held to a wall-clock deadline; without one (the event
    watcher's endless stream) nothing but the per-read timeout applies.
    """
    client = _EngineAPIClient(
        base_url=host.url,
        version=version,
        timeout=host.timeout if timeout is None else timeout,
        tls=host.tls,
        guard=guard,
    )
    client.max_redirects = 0
    client.hooks["response"] = [_refuse_redirects]
    return client


_CALL_DEADLINES = Deadlines("chatops-call-deadlines")


class _Watch:
    """One call's deadline: when it fires before the call returned, the call's sockets are shut down (and
    again every `CUT_AGAIN_EVERY` s, for a connection still being opened), and the call counts as timed out
    whatever it returns (a body cut short can look complete)."""

    def __init__(self, guard: CallGuard) -> None:
        self.guard = guard
        self.fired = False
        self._done = False
        self._lock = threading.Lock()

    def expire(self) -> None:
        with self._lock:
            if self._done:
                return
            due = self.guard.due
            left = due - time.monotonic() if due is not None else 0.0
            if not self.fired and left > 0.001:  # a request of the call was allowed longer: wait for that
                _CALL_DEADLINES.call_later(left, self.expire)
                return
            self.fired = True
        self.guard.cut()
        with self._lock:
            if not self._done:
                _CALL_DEADLINES.call_later(CUT_AGAIN_EVERY, self.expire)

    def finish(self) -> bool:
        """The call returned or raised: stop cutting; True when the deadline had fired."""
        with self._lock:
            self._done = True
            return self.fired


class HostHealth:
    """One host's circuit breaker, in the host's words: after repeated failures for want of an answer
    (timeouts, refused connections) the host is down and calls are refused at once until a probe succeeds."""

    def __init__(self, host: Host, breaker: CircuitBreaker | None = None) -> None:
        self.host = host
        self.breaker = breaker or CircuitBreaker()

    def refusal(self) -> EngineUnavailable | None:
        """The answer for a command to this host right now if it is down, else None (nothing changes)."""
        outage = self.breaker.outage()
        return self.down(outage) if outage is not None else None

    def down(self, outage: Outage) -> EngineUnavailable:
        """`host X is down since 14:03:22 UTC; retrying in 4 s`."""
        wait = max(1, math.ceil(outage.retry_in))
        retry = "retrying now" if outage.probing else f"retrying in {wait} s"
        return EngineUnavailable(
            f"host {self.host.name} is down since {_clock_time(outage.since)}; {retry}",
            hint=f"{outage.failures} calls in a row got no answer, the last: {outage.last_error}; "
            "nothing was sent to it now",
        )


def _clock_time(when: float) -> str:
    stamp = time.gmtime(when)
    if time.time() - when > 12 * 3600:
        return time.strftime("%Y-%m-%d %H:%M:%S UTC", stamp)
    return time.strftime("%H:%M:%S UTC", stamp)


class HostClient:
    """Lazily connected, per-thread low-level clients for one host, every call held to a wall-clock deadline
    and to the host's circuit breaker."""

    def __init__(self, host: Host, health: HostHealth | None = None) -> None:
        self.host = host
        self.health = health or HostHealth(host)
        self._local = threading.local()
        self._version: str | None = None
        self._lock = threading.Lock()

    def call(self, fn: Callable[[Any], T], deadline: float | None = None) -> T:
        """`fn(api)` with this thread's client, ending within `deadline` seconds (default: the host's
        timeout) of wall-clock time; docker-py's errors come out as ours (`docker_errors`).

        While the host is down the call is refused at once (`EngineUnavailable`, nothing sent); the first
        call after the cool-down first probes `GET /_ping`, and only one at a time does.
        """
        limit = self.host.timeout if deadline is None else deadline
        try:
            admission = self.health.breaker.admit()
        except CircuitOpen as exc:
            raise self.health.down(exc.outage) from None
        if admission is Admission.PROBE:
            self._probe(limit)
        try:
            result = self._attempt(fn, limit)
        except EngineUnavailable as exc:
            self.health.breaker.failed(exc.message)
            raise
        except ChatOpsError:  # the engine answered (not found, conflict, its own error): it is up
            self.health.breaker.succeeded()
            raise
        self.health.breaker.succeeded()
        return result

    def _probe(self, limit: float) -> None:
        """The one probe of a half-open breaker; whatever happens, the breaker hears how it went."""
        error = "the probe failed"
        try:
            self._attempt(lambda api: api.ping(), limit)
        except EngineUnavailable as exc:
            error = exc.message
            raise
        except ChatOpsError:  # an answer, if not a happy one: the host is up
            error = ""
        else:
            error = ""
        finally:
            if error:
                self.health.breaker.probe_failed(error)
            else:
                self.health.breaker.probe_succeeded()

    def _attempt(self, fn: Callable[[Any], T], limit: float) -> T:
        guard = self._guard()
        watch = _Watch(guard)
        guard.begin(limit)
        timer = _CALL_DEADLINES.call_later(limit, watch.expire)
        try:
            with docker_errors(self.host, guard.budget):
                result = fn(self._api(guard))
        except BaseException as exc:
            budget = self._end(watch, timer)
            if budget is not None:
                raise _no_answer(self.host, budget) from exc
            raise
        budget = self._end(watch, timer)
        if budget is not None:
            raise _no_answer(self.host, budget)
        return result

    def _end(self, watch: _Watch, timer: Any) -> float | None:
        """The call is over: stop its deadline. When the deadline had fired, throw the client away (its
        connections may be half-read) and return the budget the call had; else None."""
        fired = watch.finish()
        timer.cancel()
        budget = watch.guard.end()
        if not fired:
            return None
        self.close()
        return budget

    def _guard(self) -> CallGuard:
        guard: CallGuard | None = getattr(self._local, "guard", None)
        if guard is None:
            guard = self._local.guard = CallGuard()
        return guard

    def _api(self, guard: CallGuard) -> Any:
        """This thread's `docker.APIClient`; the first use negotiates the API version (a call to the engine,
        under the deadline of the call that needed it)."""
        client = getattr(self._local, "client", None)
        if client is None:
            # Never hold the lock across the negotiation, or one hung engine would serialize every worker.
            client = open_api_client(self.host, self._version or "auto", guard=guard)
            with self._lock:
                self._version = self._version or client.api_version
            self._local.client = client
        return client

    def close(self) -> None:
        """Close this thread's client, if any; the next call opens a fresh one."""
        client = getattr(self._local, "client", None)
        self._local.client = None
        self._local.guard = None
        if client is not None:
            client.close()


def hosts_from_settings(settings: Settings) -> list[Host]:
    """The `[[hosts]]` of the config file, or one host from DOCKER_HOST (else the local socket)."""
    if settings.file.hosts:
        return [_host_from_config(h, settings.chatops_docker_timeout) for h in settings.file.hosts]
    url = settings.docker_host or DEFAULT_SOCKET
    tls: docker.tls.TLSConfig | bool = False
    if os.environ.get("DOCKER_TLS_VERIFY") and url.startswith("tcp://"):
        tls = docker.utils.kwargs_from_env().get("tls", False)
    return [Host(settings.chatops_host_name, url, settings.chatops_docker_timeout, tls)]


def _host_from_config(config: HostConfig, default_timeout: float) -> Host:
    tls: docker.tls.TLSConfig | bool = False
    if config.tls_verify or config.tls_client_cert:
        client_cert = None
        if config.tls_client_cert and config.tls_client_key:
            client_cert = (str(config.tls_client_cert), str(config.tls_client_key))
        tls = docker.tls.TLSConfig(
            client_cert=client_cert,
            ca_cert=str(config.tls_ca_cert) if config.tls_ca_cert else None,
            verify=config.tls_verify,
        )
    return Host(config.name, config.url, config.timeout or default_timeout, tls, config.workers)


def _no_answer(host: Host, seconds: float) -> EngineUnavailable:
    return EngineUnavailable(
        f"Docker on host {host.name} did not answer within {seconds:g} s ({host.url})",
        hint="the engine may be overloaded or hung; CHATOPS_DOCKER_TIMEOUT (or `timeout` in [[hosts]]) sets "
        "the wait; a change already sent to Docker may still complete",
    )


@contextmanager
def docker_errors(host: Host, waited: Callable[[], float] | None = None) -> Iterator[None]:
    """Translate every docker-py / requests exception raised inside into one of our typed errors
    (`waited()`: the wait a timeout names, by default the host's timeout)."""
    try:
        yield
    except docker.errors.NotFound as exc:
        raise NotFound(_explanation(exc)) from exc
    except docker.errors.InvalidArgument as exc:  # docker-py refusing a value before any request
        raise UsageError(str(exc)) from exc
    except docker.errors.APIError as exc:
        if exc.status_code == 409:
            raise Conflict(_explanation(exc)) from exc
        raise OperationFailed(f"Docker on {host.name}: {_explanation(exc)}") from exc
    except RedirectRefused as exc:
        raise OperationFailed(
            f"Docker on {host.name}: {exc}; the bot never follows redirects from the Engine API, so nothing "
            "was sent there",
            hint="an object reference that is not in Docker's own form (a path holding '..', '//' or '%')",
        ) from exc
    except (requests.exceptions.RequestException, docker.errors.DockerException) as exc:
        # docker-py wraps failures of its version negotiation in a bare DockerException: look at the cause.
        if _caused_by(exc, requests.exceptions.Timeout):
            raise _no_answer(host, host.timeout if waited is None else waited()) from exc
        raise EngineUnavailable(
            f"no Docker engine answers on host {host.name}: tried {host.url} ({_reason(exc)})",
            hint=ENGINE_HINT,
        ) from exc


def _caused_by(exc: BaseException, kind: type[BaseException]) -> bool:
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, kind) or kind.__name__ in str(seen) or "timed out" in str(seen):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _explanation(exc: docker.errors.APIError) -> str:
    text = exc.explanation
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    if not text and exc.response is not None:
        text = exc.response.reason
    return str(text or exc).strip()


def _reason(exc: BaseException) -> str:
    """A short cause for an unreachable engine: walk the exception chain for the OS-level error."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, FileNotFoundError):
            return "no such socket"
        if isinstance(seen, ConnectionRefusedError):
            return "connection refused"
        if isinstance(seen, PermissionError):
            return "permission denied: the bot's user cannot open the Docker socket"
        seen = (
            seen.__cause__
            or seen.__context__
            or next((a for a in getattr(seen, "args", ()) if isinstance(a, BaseException)), None)
        )
    text = str(exc)
    for marker in ("No such file", "Connection refused", "Permission denied", "Name or service not known"):
        if marker in text:
            return marker.lower()
    return text.splitlines()[0][:200] if text else type(exc).__name__


_CONTAINER_ID = re.compile(r"/containers/([0-9a-f]{64})/")


def own_container_id(mountinfo: Path = Path("/proc/self/mountinfo")) -> str | None:
    """The ID of the container this process runs in (from its /etc/hostname mount), or None outside one.

    Mutating commands refuse to touch it: the bot must never stop or remove itself.
    """
    try:
        text = mountinfo.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    for line in text.splitlines():
        if " /etc/hostname " in line:
            match = _CONTAINER_ID.search(line)
            if match:
                return match.group(1)
    return None
