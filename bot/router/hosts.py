"""The router's Docker hosts by name."""

from __future__ import annotations

from collections.abc import Mapping

from bot.engine import Engine
from bot.errors import NotFound


def engine_named(engines: Mapping[str, Engine], host: str) -> Engine:
    """The engine of `host`, or a `NotFound` naming the hosts there are."""
    engine = engines.get(host)
    if engine is None:
        raise NotFound(f"no Docker host named {host!r}", hint=f"hosts: {', '.join(engines)}")
    return engine
