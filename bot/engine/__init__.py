"""The Docker engine layer: named hosts and the `Engine` of each (its operations in read, act, prune and
pull), models out, `bot.errors` types for every failure."""

from bot.engine.hosts import Host, hosts_from_settings, own_container_id
from bot.engine.operations import Engine

__all__ = ["Engine", "Host", "hosts_from_settings", "own_container_id"]
