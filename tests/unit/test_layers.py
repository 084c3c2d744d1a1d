"""The layer rules docs/architecture.md states, checked on the source: the engine imports nothing from
render, and past the error border nothing reads docker-py's exceptions; every user-facing error type is
one of bot/errors.py."""

from __future__ import annotations

import ast
import importlib
import pkgutil
from pathlib import Path

import bot
from bot.errors import ChatOpsError

ENGINE = Path(bot.__file__).parent / "engine"


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_the_engine_imports_nothing_from_render() -> None:
    """The engine returns models; only bot/render words them."""
    for path in sorted(ENGINE.glob("*.py")):
        assert not [name for name in _imports(path) if name.startswith("bot.render")], path.name


def test_past_the_error_border_nothing_reads_the_sdks_exceptions() -> None:
    """Only hosts.py (the border, `docker_errors`) looks at docker-py's `explanation` or an exception's
    cause; the operations read what the border kept (`ChatOpsError.daemon_message`)."""
    for path in sorted(ENGINE.glob("*.py")):
        if path.name == "hosts.py":
            continue
        text = path.read_text(encoding="utf-8")
        assert ".explanation" not in text, path.name
        assert "__cause__" not in text, path.name


def test_every_user_facing_error_is_defined_in_bot_errors() -> None:
    """A door knows how to show each `ChatOpsError`: all of them live in one module."""
    for module in pkgutil.walk_packages(bot.__path__, "bot."):
        if module.name == "bot.__main__":
            continue  # runs the command line
        importlib.import_module(module.name)
    seen: list[type[ChatOpsError]] = [ChatOpsError]
    for error_type in seen:
        seen.extend(error_type.__subclasses__())
        assert error_type.__module__ == "bot.errors", error_type


BOT = Path(bot.__file__).parent
CORE = ("commands", "engine", "policy", "router", "store")


def test_block_kit_is_built_only_in_render() -> None:
    """Slack's Block Kit models (and hand-built `"type": "section"` payloads) appear only under
    bot/render/blocks, where `enforce_limits` checks every payload."""
    for path in sorted(BOT.rglob("*.py")):
        if path.is_relative_to(BOT / "render" / "blocks"):
            continue
        text = path.read_text(encoding="utf-8")
        assert not [name for name in _imports(path) if name.startswith("slack_sdk.models")], path
        for kind in ("section", "actions", "context", "header"):
            assert f'"type": "{kind}"' not in text, path


def test_the_core_knows_nothing_of_slack() -> None:
    """The router, policy, commands, engine and store import no Slack library and write no Slack markup
    (mentions travel as IDs in bot.mentions; each door renders them)."""
    for part in CORE:
        for path in sorted((BOT / part).rglob("*.py")):
            assert not [name for name in _imports(path) if name.startswith("slack")], path
            for literal in _string_literals(path.read_text(encoding="utf-8")):
                for markup in ("<@", "<#", "<!"):
                    assert markup not in literal, path


def _string_literals(code: str) -> list[str]:
    """Every string constant (f-string parts included) of a module; docstrings too, which is stricter."""
    return [
        node.value
        for node in ast.walk(ast.parse(code))
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
    ]


def test_the_store_imports_no_layer_above_it() -> None:
    """The store keeps state for the router, the watcher and the doors; it never reaches up into them."""
    above = ("bot.router", "bot.notify", "bot.slack", "bot.engine", "bot.commands", "bot.policy", "bot.cli")
    for path in sorted((BOT / "store").glob("*.py")):
        assert not [name for name in _imports(path) if name.startswith(above)], path
