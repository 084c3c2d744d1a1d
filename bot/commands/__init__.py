"""The command catalog and the docker-CLI-style parser."""

from bot.commands.catalog import CATALOG, Catalog, CommandSpec
from bot.commands.parser import Command, parse

__all__ = ["CATALOG", "Catalog", "Command", "CommandSpec", "parse"]
