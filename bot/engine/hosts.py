"""Named Docker hosts and their clients, and the one place where Docker's errors become ours.

Each host gets one low-level `docker.APIClient` per thread (docker-py does not promise thread safety). The API
version is negotiated once per host and reused. `docker_errors` maps docker-py, requests, urllib3 and
socket exceptions, and an answer that is not JSON (or JSON of another shape than its route sends), to
`NotFound`, `Conflict`, `OperationFailed` and `EngineUnavailable`; nothing above the engine ever sees a
docker-py exception (only `bot/engine/` imports the docker SDK and the HTTP stack under it,
`tests/unit/test_docker_border.py`; `tests/component/test_engine_escapes.py` drives every engine call
through a fake engine's bad answers).

Every call a `HostClient` makes has a wall-clock deadline, not only requests' per-read timeout (which an
engine sending a byte now and then never reaches): when the deadline passes, the sockets of that thread's
client are shut down, the call fails at once and is answered "did not answer within N s", and the client is
thrown away so no half-read connection is ever reused. A call that may legitimately wait longer (a `stop`'s
grace time) is given that much more, and grants it to the command it runs for (`bot.pool.grant`).

A `HostHealth` breaker per host answers at once while the host is down. A call that got no answer counts
against the host only when the engine then fails a quick check too (`GET /_ping` and a one-row
`GET /containers/json`, each answered at once by a healthy dockerd), so a call slow by its own nature (a
container slow to stop or remove, a big `system df`) never marks a host down, while a wedged dockerd that
answers `/_ping` but no listing does. The same check is the probe of a half-open breaker: a host is back
only when it lists again. The event watcher's stream (`bot.engine.events`) comes from `open_api_client`
without a guard and has no such deadline.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import re
import socket
import threading
import time
import weakref
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import docker
import docker.errors
import docker.tls
import requests.exceptions
import urllib3.exceptions

from bot.durations import seconds_text
from bot.errors import (
    ChatOpsError,
    ConfigError,
    Conflict,
    EngineUnavailable,
    NotFound,
    OperationFailed,
    UsageError,
)
from bot.pool import Admission, CircuitBreaker, CircuitOpen, Deadlines, Outage, grant
from bot.settings import HostConfig, Settings

T = TypeVar("T")
CUT_AGAIN_EVERY = 0.05  # seconds: after a deadline, its call's sockets are shut down again until it returns
# The wall-clock budget of a call that legitimately streams for long (`pull`): bounded, but not by the
# host's per-call timeout. A stuck pull holds one worker of its own host's share for at most this long.
LONG_CALL_DEADLINE = 1800.0
# The wall-clock budget of the quick check (`GET /_ping`, then a one-row `GET /containers/json`) that tells a
# call slow by its nature from an engine that does not answer; at most the host's own timeout.
CHECK_DEADLINE = 1.0

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
        self.grace = 0.0  # seconds each request of the call may wait beyond the client's timeout
        self._started = 0.0
        self._given = 0.0  # the budget the call was given (its own, or a request's longer wait)
        self._extra = 0.0  # the most a request of the call was allowed beyond the client's timeout
        self._connections: weakref.WeakSet[Any] = weakref.WeakSet()
        self._lock = threading.Lock()

    def begin(self, seconds: float, grace: float = 0.0) -> None:
        """A call starts: it must end within `seconds` (unless one of its requests asks for more); each of
        its requests may wait `grace` seconds beyond the client's timeout (a `stop`'s grace time)."""
        self._started = time.monotonic()
        self.due = self._started + seconds
        self.grace = max(0.0, grace)
        self._given = seconds
        self._extra = 0.0

    def allow(self, seconds: float, extra: float = 0.0) -> None:
        """A request of the call may take `seconds` by its nature (docker-py adds a `stop`'s or `restart`'s
        grace time to the client's timeout; `extra` is that grace): the deadline moves to at least that far
        from now, and the command running the call is granted the grace (once per call, not per request)."""
        if self.due is None:
            return
        self.due = max(self.due, time.monotonic() + seconds)
        self._given = max(self._given, seconds)
        if extra > self._extra:
            grant(extra - self._extra)
            self._extra = extra

    def budget(self) -> float:
        """The wall-clock seconds the call in progress was given (its own budget, or the longer wait one of
        its requests asked for), as a message names it."""
        return self._given

    def elapsed(self) -> float:
        """The seconds since the call in progress began."""
        return time.monotonic() - self._started

    def end(self) -> float:
        """The call is over; the budget it had."""
        budget = self.budget()
        self.due = None
        self.grace = 0.0
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


class UnexpectedAnswer(Exception):
    """The Engine API answered JSON of another shape than it sends for that route (a list for an object, a
    row that is not an object…): `docker_errors` makes it an `OperationFailed`."""


def _objects(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(item, Mapping) for item in value)


def _object_of_lists(*keys: str) -> Callable[[Any], bool]:
    """An object whose `keys` are each null or a list of objects (and, for API 1.52's `/system/df`, each
    `…Usage` object's `Items` too)."""

    def check(value: Any) -> bool:
        if not isinstance(value, Mapping):
            return False
        usages = [v.get("Items") for k, v in value.items() if k.endswith("Usage") and isinstance(v, Mapping)]
        return all(value.get(k) is None or _objects(value.get(k)) for k in keys) and all(
            items is None or _objects(items) for items in usages
        )

    return check


def _is_object(value: Any) -> bool:
    return isinstance(value, Mapping)


# What the Engine API answers on the routes the bot reads (the path without its /v1.NN prefix); a route not
# named here may answer anything JSON.
_SHAPES: tuple[tuple[str, re.Pattern[str], Callable[[Any], bool]], ...] = (
    ("GET", re.compile(r"/(containers|images)/json"), _objects),
    ("GET", re.compile(r"/networks"), _objects),
    ("GET", re.compile(r"/volumes"), _object_of_lists("Volumes")),
    ("GET", re.compile(r"/system/df"), _object_of_lists("Images", "Containers", "Volumes", "BuildCache")),
    # docker-py itself reads `Config.Tty` of an inspected container (before a log stream)
    ("GET", re.compile(r"/containers/[^/]+/json"), lambda v: _is_object(v) and _is_object(v.get("Config"))),
    ("GET", re.compile(r"/(images/.+/json|volumes/[^/]+|info|version)"), _is_object),
    ("DELETE", re.compile(r"/images/.+"), _objects),
    ("POST", re.compile(r"/(build|containers|images|networks|volumes)/prune"), _is_object),
)
_VERSION_PREFIX = re.compile(r"^/v\d+\.\d+(?=/)")


def _check_shape(response: Any, value: Any) -> None:
    """Raise `UnexpectedAnswer` when `value`, the JSON `response` held, is not of its route's shape."""
    request = getattr(response, "request", None)
    method = str(getattr(request, "method", "") or "")
    path = _VERSION_PREFIX.sub("", str(getattr(request, "path_url", "") or "").split("?", 1)[0])
    for wanted, route, fits in _SHAPES:
        if method == wanted and route.fullmatch(path):
            if not fits(value):
                raise UnexpectedAnswer(f"{method} {path[:200]} answered JSON of an unexpected shape")
            return


class _EngineAPIClient(docker.APIClient):  # type: ignore[misc]  # docker-py ships no type information
    """docker-py's low-level client that never follows a redirect (also while negotiating the version), takes
    only JSON of the shape the Engine API sends (`_SHAPES`; every item of a decoded stream an object) and,
    with a `CallGuard`, lets that guard see its connections and bound each request by the call's deadline."""

    def __init__(self, *args: Any, guard: CallGuard | None = None, **kwargs: Any) -> None:
        self._chatops_guard = guard  # before requests' Session.__init__, which mounts adapters
        super().__init__(*args, **kwargs)

    def mount(self, prefix: str, adapter: Any) -> None:
        if self._chatops_guard is not None:
            _watch_pools(adapter, self._chatops_guard)
        super().mount(prefix, adapter)

    def _result(self, response: Any, json: bool = False, binary: bool = False) -> Any:
        result = super()._result(response, json=json, binary=binary)
        if json:
            _check_shape(response, result)
        return result

    def _stream_helper(self, response: Any, decode: bool = False) -> Iterator[Any]:
        for item in super()._stream_helper(response, decode=decode):
            if decode and not isinstance(item, Mapping):
                raise UnexpectedAnswer("a streamed answer held an item that is not a JSON object")
            yield item

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
        kwargs["allow_redirects"] = False
        guard = self._chatops_guard
        if guard is not None:
            timeout = kwargs.get("timeout")
            if isinstance(timeout, int | float) and self.timeout is not None:
                if guard.grace > 0:  # the wait the daemon will really take (a container's own stop timeout)
                    timeout = max(float(timeout), self.timeout + guard.grace)
                if timeout > self.timeout:  # docker-py's own longer wait for this request (stop -t N)
                    guard.allow(float(timeout), float(timeout) - self.timeout)
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
    (refused connections, calls without an answer whose quick check failed too) the host is down and calls
    are refused at once until a probe (the quick check) succeeds."""

    def __init__(self, host: Host, breaker: CircuitBreaker | None = None) -> None:
        self.host = host
        self.breaker = breaker or CircuitBreaker()

    def refusal(self) -> EngineUnavailable | None:
        """The answer for a command to this host right now if it is down, else None (nothing changes)."""
        outage = self.breaker.outage()
        return self.down(outage) if outage is not None else None

    def down(self, outage: Outage, *, probed: bool = False) -> EngineUnavailable:
        """`host X is down since 14:03:22 UTC; retrying in 4 s` (`probed`: after its quick check failed)."""
        wait = max(1, math.ceil(outage.retry_in))
        retry = "retrying now" if outage.probing else f"retrying in {wait} s"
        sent = "only the quick check was sent, and failed" if probed else "nothing was sent to it now"
        return EngineUnavailable(
            f"host {self.host.name} is down since {_clock_time(outage.since)}; {retry}",
            hint=f"{outage.failures} calls in a row got no answer, the last: {outage.last_error}; {sent}",
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
        self._open: list[Any] = []  # every thread's client, for `close_all`

    def call(self, fn: Callable[[Any], T], deadline: float | None = None, *, grace: float = 0.0) -> T:
        """`fn(api)` with this thread's client, ending within `deadline` seconds (default: the host's
        timeout) plus `grace` of wall-clock time; docker-py's errors come out as ours (`docker_errors`).
        `grace`: how much longer than usual each request of the call may wait for its answer (the stop
        timeout the daemon will wait out), granted to the command running the call.

        While the host is down the call is refused at once (`EngineUnavailable`, nothing sent); the first
        call after the cool-down first runs the quick check (the probe), and only one at a time does. A
        call that gets no answer in time counts against the host only if the quick check then fails too.
        """
        limit = (self.host.timeout if deadline is None else deadline) + max(0.0, grace)
        try:
            admission = self.health.breaker.admit()
        except CircuitOpen as exc:
            raise self.health.down(exc.outage) from None
        if admission is Admission.PROBE:
            self._probe()
        try:
            result = self._attempt(fn, limit, grace)
        except _Unanswered as cut:
            raise self._judged(cut) from cut.__cause__
        except EngineUnavailable as exc:
            self.health.breaker.failed(exc.message)
            raise
        except ChatOpsError:  # the engine answered (not found, conflict, its own error): it is up
            self.health.breaker.succeeded()
            raise
        self.health.breaker.succeeded()
        return result

    def _probe(self) -> None:
        """The one probe of a half-open breaker, the quick check: the host is back when it lists again (a
        wedged dockerd answers `/_ping` but no listing). A failed probe keeps it down, for longer."""
        problem = self._check()
        if problem is None:
            self.health.breaker.probe_succeeded()
            return
        self.health.breaker.probe_failed(problem)
        outage = self.health.breaker.outage()
        if outage is None:  # a call in flight got an answer meanwhile: the host is up after all
            return
        raise self.health.down(outage, probed=True)

    def _judged(self, cut: _Unanswered) -> EngineUnavailable:
        """A call got no answer in time: the host's failure only when the engine fails the quick check too;
        otherwise the call was slow by its own nature and the host is up."""
        problem = self._check()
        error = _no_answer(self.host, cut.seconds, answering=problem is None)
        if problem is None:
            self.health.breaker.succeeded()
        else:
            self.health.breaker.failed(f"{error.message}; {problem}")
        return error

    def _check(self) -> str | None:
        """The quick check: `GET /_ping`, then a one-row `GET /containers/json`, both within `CHECK_DEADLINE`
        (at most the host's timeout). None when the engine answered, else what went wrong."""
        seconds = min(CHECK_DEADLINE, self.host.timeout)
        try:
            self._attempt(_quick_check, seconds)
        except _Unanswered:
            within = seconds_text(seconds)
            return f"a quick check (GET /_ping, GET /containers/json) got no answer within {within} s"
        except EngineUnavailable as exc:
            return exc.message
        except ChatOpsError:  # an answer, if not a happy one
            return None
        return None

    def _attempt(self, fn: Callable[[Any], T], limit: float, grace: float = 0.0) -> T:
        """`fn(api)` under one wall-clock deadline; `_Unanswered` when it got no answer in time (the deadline
        fired, or a request's own timeout did)."""
        guard = self._guard()
        watch = _Watch(guard)
        guard.begin(limit, grace)
        timer = _CALL_DEADLINES.call_later(limit, watch.expire)
        try:
            with docker_errors(self.host, guard.budget):
                result = fn(self._api(guard))
        except BaseException as exc:
            elapsed = guard.elapsed()
            fired, budget = self._end(watch, timer)
            if fired:
                raise _Unanswered(budget) from exc
            if isinstance(exc, EngineUnavailable) and _timed_out(exc):
                raise _Unanswered(min(budget, elapsed)) from exc.__cause__
            raise
        fired, budget = self._end(watch, timer)
        if fired:
            raise _Unanswered(budget)
        return result

    def _end(self, watch: _Watch, timer: Any) -> tuple[bool, float]:
        """The call is over: stop its deadline. When the deadline had fired, throw the client away (its
        connections may be half-read). Whether it had fired, and the budget the call had."""
        fired = watch.finish()
        timer.cancel()
        budget = watch.guard.end()
        if fired:
            self.close()
        return fired, budget

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
                self._open.append(client)
            self._local.client = client
        return client

    def close(self) -> None:
        """Close this thread's client, if any; the next call opens a fresh one."""
        client = getattr(self._local, "client", None)
        self._local.client = None
        self._local.guard = None
        if client is not None:
            with self._lock:
                if client in self._open:
                    self._open.remove(client)
            client.close()

    def close_all(self) -> None:
        """Close every thread's client (when the owner stops; a thread calling again reconnects)."""
        with self._lock:
            clients, self._open = self._open, []
        for client in clients:
            with contextlib.suppress(Exception):
                client.close()


def hosts_from_settings(settings: Settings) -> list[Host]:
    """The `[[hosts]]` of the config file, or one host from DOCKER_HOST (else the local socket)."""
    if settings.file.hosts:
        return [_host_from_config(h, settings.chatops_docker_timeout) for h in settings.file.hosts]
    url = settings.docker_host or DEFAULT_SOCKET
    tls: docker.tls.TLSConfig | bool = False
    if os.environ.get("DOCKER_TLS_VERIFY") and url.startswith("tcp://"):
        try:
            tls = docker.utils.kwargs_from_env().get("tls", False)
        except docker.errors.TLSParameterError as exc:  # DOCKER_CERT_PATH without its files
            raise ConfigError(f"DOCKER_CERT_PATH: {exc}") from None
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


class _Unanswered(Exception):
    """A call got no answer within the `seconds` it was given (internal: `HostClient.call` turns it into an
    `EngineUnavailable` once the quick check has told whether the engine answers at all)."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"no answer within {seconds_text(seconds)} s")
        self.seconds = seconds


def _quick_check(api: Any) -> None:
    api.ping()
    api.containers(limit=1)


def _timed_out(exc: EngineUnavailable) -> bool:
    """Whether `docker_errors` made `exc` of a request's own timeout (not of a refused connection)."""
    return exc.__cause__ is not None and _caused_by(exc.__cause__, requests.exceptions.Timeout)


def _no_answer(host: Host, seconds: float, *, answering: bool | None = None) -> EngineUnavailable:
    """`Docker on host X did not answer within N s`; `answering`: whether the engine then passed the quick
    check (the call was slow by its nature) or not (the host counts as failing), None when unknown."""
    if answering:
        hint = (
            "the engine answers other calls, so this one is slow by its nature (a container slow to stop or "
            "remove, a big listing); the host is not counted as down; a change already sent to Docker may "
            "still complete"
        )
    else:
        hint = (
            "the engine may be overloaded or hung"
            + (" (it did not answer a quick check either)" if answering is False else "")
            + "; CHATOPS_DOCKER_TIMEOUT (or `timeout` in [[hosts]]) sets the wait; a change already sent to "
            "Docker may still complete"
        )
    return EngineUnavailable(
        f"Docker on host {host.name} did not answer within {seconds_text(seconds)} s ({host.url})", hint=hint
    )


@contextmanager
def docker_errors(host: Host, waited: Callable[[], float] | None = None) -> Iterator[None]:
    """Translate every docker-py / requests / urllib3 / socket exception raised inside, and an answer that
    is not JSON, into one of our typed errors (`waited()`: the wait a timeout names, by default the host's
    timeout)."""
    try:
        yield
    except docker.errors.NotFound as exc:
        raise NotFound(_explanation(exc), daemon_message=_said(exc)) from exc
    except docker.errors.InvalidArgument as exc:  # docker-py refusing a value before any request
        raise UsageError(str(exc)) from exc
    except docker.errors.APIError as exc:
        if exc.status_code == 409:
            raise Conflict(_explanation(exc), daemon_message=_said(exc)) from exc
        said = f"Docker on {host.name}: {_explanation(exc)}"
        raise OperationFailed(said, daemon_message=_said(exc)) from exc
    except UnexpectedAnswer as exc:
        raise OperationFailed(
            f"Docker on {host.name}: {exc}",
            hint=f"is {host.url} a Docker engine (or a proxy in front of one that works)?",
        ) from exc
    except RedirectRefused as exc:
        raise OperationFailed(
            f"Docker on {host.name}: {exc}; the bot never follows redirects from the Engine API, so nothing "
            "was sent there",
            hint="an object reference that is not in Docker's own form (a path holding '..', '//' or '%')",
        ) from exc
    except (json.JSONDecodeError, docker.errors.StreamParseError) as exc:  # requests' JSONDecodeError too
        raise OperationFailed(
            f"Docker on {host.name} answered with something that is not the Engine API's JSON "
            f"({_first_line(exc)})",
            hint=f"is {host.url} a Docker engine (or a proxy in front of one that works)?",
        ) from exc
    except (
        requests.exceptions.RequestException,
        docker.errors.DockerException,
        urllib3.exceptions.HTTPError,  # a streamed body docker-py reads past requests (events, pull, logs)
        OSError,  # a socket docker-py reads itself (a log stream), reset or timed out
    ) as exc:
        # docker-py wraps failures of its version negotiation in a bare DockerException: look at the cause.
        if _caused_by(exc, requests.exceptions.Timeout):
            raise _no_answer(host, host.timeout if waited is None else waited()) from exc
        broken = _broken_answer(exc)
        if broken is not None:
            raise EngineUnavailable(
                f"the connection to Docker on host {host.name} broke off in the middle of an answer "
                f"({broken})",
                hint="the engine, or a proxy in front of it, closed the connection; a change already sent to "
                "Docker may still complete",
            ) from exc
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


def _broken_answer(exc: BaseException) -> str | None:
    """How an answer broke off after it had begun (`the answer was cut short`, `connection reset`), or None
    when `exc` is no such break (no answer came at all)."""
    seen: BaseException | None = exc
    while seen is not None:
        text = str(seen)
        if "IncompleteRead" in type(seen).__name__ or "IncompleteRead" in text:
            return "the answer was cut short"
        if isinstance(seen, requests.exceptions.ChunkedEncodingError) or "Connection broken" in text:
            return "connection reset" if "reset" in text.lower() else "the answer was cut short"
        seen = seen.__cause__ or seen.__context__
    return None


def _first_line(exc: BaseException) -> str:
    """The first line of what `exc` says, at most 200 characters (never a traceback)."""
    text = str(exc).strip()
    return text.splitlines()[0][:200] if text else type(exc).__name__


def _said(exc: docker.errors.APIError) -> str | None:
    """The daemon's own message in its error response (docker-py's `explanation`), if it sent one."""
    text = exc.explanation
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return str(text).strip() if text else None


def _explanation(exc: docker.errors.APIError) -> str:
    """The daemon's message (its JSON `message`); for an answer that is a web page, not the Engine API's
    JSON (a proxy's error page), its status and what it is instead of its markup."""
    text = _said(exc)
    if not text and exc.response is not None:
        text = exc.response.reason
    shown = str(text or exc).strip()
    if shown.startswith("<"):
        response = exc.response
        status = f"{response.status_code} {response.reason}" if response is not None else "an error"
        return f"the Engine API answered {status} with a web page, not its JSON"
    return shown[:2000]


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
            or next((a for a in seen.args if isinstance(a, BaseException)), None)
        )
    text = str(exc)
    for marker in ("No such file", "Connection refused", "Permission denied", "Name or service not known"):
        if marker in text:
            return marker.lower()
    return _first_line(exc)


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
