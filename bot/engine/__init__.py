"""The Docker operations module: named hosts, typed errors, models out."""

from bot.engine.hosts import Host, hosts_from_settings, own_container_id
from bot.engine.operations import Engine

__all__ = ["Engine", "Host", "hosts_from_settings", "own_container_id"]
