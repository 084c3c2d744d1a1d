"""Named Docker hosts and their clients, and the one place where Docker's errors become ours.

Each host gets one low-level `docker.APIClient` per thread (docker-py does not promise thread safety) with a
timeout on every call. The API version is negotiated once per host and reused. `docker_errors` maps
docker-py and requests exceptions to `NotFound`, `Conflict`, `OperationFailed` and `EngineUnavailable`;
nothing above the engine ever sees a docker-py exception.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import docker
import docker.errors
import docker.tls
import requests.exceptions

from bot.errors import Conflict, EngineUnavailable, NotFound, OperationFailed, UsageError
from bot.settings import HostConfig, Settings

DEFAULT_SOCKET = "unix:///var/run/docker.sock"
ENGINE_HINT = "start dockerd, or point DOCKER_HOST (or [[hosts]] in CHATOPS_CONFIG) at a running engine"


@dataclass(frozen=True, slots=True)
class Host:
    """Where one Docker engine answers, and how long to wait for it."""

    name: str
    url: str
    timeout: float
    tls: docker.tls.TLSConfig | bool = False


class RedirectRefused(requests.exceptions.RequestException):
    """The Engine API answered a redirect (3xx). The bot never follows one: dockerd redirects a path holding
    `..` to its cleaned form, and following it would send the request to an object nobody authorized."""


def _refuse_redirects(response: requests.Response, *args: Any, **kwargs: Any) -> requests.Response:
    # a response hook runs before requests would follow the redirect; raising here sends no second request
    if response.is_redirect or 300 <= response.status_code < 400:
        location = response.headers.get("Location", "?")
        response.close()
        answer = f"the Engine API answered {response.status_code} (redirect to {location[:200]})"
        raise RedirectRefused(answer, response=response)
    return response


def open_api_client(host: Host, version: str = "auto", timeout: float | None = None) -> Any:
    """A new low-level `docker.APIClient` for `host` that never follows a redirect.

    Every Docker client of the bot comes from here (commands, the event watcher), so no path can reach the
    Engine API through a 3xx. `timeout` defaults to the host's.
    """
    client = docker.APIClient(
        base_url=host.url,
        version=version,
        timeout=host.timeout if timeout is None else timeout,
        tls=host.tls,
    )
    client.max_redirects = 0
    client.hooks["response"] = [_refuse_redirects]
    return client


class HostClient:
    """Lazily connected, per-thread low-level clients for one host."""

    def __init__(self, host: Host) -> None:
        self.host = host
        self._local = threading.local()
        self._version: str | None = None
        self._lock = threading.Lock()

    @property
    def api(self) -> Any:
        """This thread's `docker.APIClient`; the first use negotiates the API version."""
        client = getattr(self._local, "client", None)
        if client is None:
            # Negotiating the version is a call to the engine: never hold the lock across it, or one hung
            # engine would serialize every worker behind that lock.
            version = self._version or "auto"
            client = open_api_client(self.host, version)
            with self._lock:
                self._version = self._version or client.api_version
            self._local.client = client
        return client

    def close(self) -> None:
        """Close this thread's client, if any."""
        client = getattr(self._local, "client", None)
        if client is not None:
            client.close()
            self._local.client = None


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
    return Host(config.name, config.url, config.timeout or default_timeout, tls)


@contextmanager
def docker_errors(host: Host) -> Iterator[None]:
    """Translate every docker-py / requests exception raised inside into one of our typed errors."""
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
            raise EngineUnavailable(
                f"Docker on host {host.name} ({host.url}) did not answer within {host.timeout:g} s",
                hint="the engine may be overloaded or hung; CHATOPS_DOCKER_TIMEOUT sets the wait",
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
