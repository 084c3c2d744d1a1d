"""What every part of the `Engine` shares: the host, its client behind the circuit breaker (`_call`), and the
listings more than one part reads.

The parts (`read.py`, `act.py`, `prune.py`, `pull.py`) each subclass `EngineBase`; `operations.Engine`
is all of them in one type.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, tzinfo
from typing import Any, TypeVar

from bot.engine.convert import image_row
from bot.engine.hosts import Host, HostClient, HostHealth
from bot.models import Plan, Target

T = TypeVar("T")


class EngineBase:
    """One Docker host: every Engine API call goes through `_call`."""

    def __init__(self, host: Host, zone: tzinfo = UTC, *, health: HostHealth | None = None) -> None:
        self.host = host
        self.zone = zone  # where a typed time without an offset (`until=2024-05-01T10:00`) is read
        self.health = health or HostHealth(host)  # the host's circuit breaker; the router asks it too
        self._client = HostClient(host, self.health)

    @property
    def name(self) -> str:
        """The host's name, as replies show it."""
        return self.host.name

    def _call(self, fn: Callable[[Any], T], *, deadline: float | None = None, grace: float = 0.0) -> T:
        """`fn(api)` within a wall-clock `deadline` (default: the host's timeout) plus `grace` (a wait the
        daemon takes by design), through the host's circuit breaker; only our typed errors come out
        (`HostClient.call`)."""
        return self._client.call(fn, deadline, grace=grace)

    def ping(self) -> bool:
        """True when the engine answers; raises `EngineUnavailable` otherwise."""
        return bool(self._call(lambda api: api.ping()))

    def close(self) -> None:
        """Close this thread's connection to the host."""
        self._client.close()

    def _list_containers(self, *, all: bool = True, size: bool = False) -> list[dict[str, Any]]:
        return list(self._call(lambda api: api.containers(all=all, size=size)) or [])

    def _image_references(self) -> dict[str, str]:
        """Every tag and digest reference on the host → the ID of the image it names (one listing)."""
        refs: dict[str, str] = {}
        for raw in self._call(lambda api: api.images(all=True)) or ():
            row = image_row(raw)
            for ref in (*row.repo_tags, *row.repo_digests):
                if not ref.startswith("<none>"):  # `<none>:<none>` and `<none>@<none>` name nothing
                    refs[ref] = row.id
        return refs


def bind_ref(act: Callable[[Any, str], T], ref: str) -> Callable[[Any], T]:
    """`act(api, ref)` as the one-argument call `_call` takes."""
    return lambda api: act(api, ref)


def of_kind(plan: Plan, kind: str) -> list[Target]:
    """The plan's targets of one kind, in its order."""
    return [target for target in plan.targets if target.kind == kind]
