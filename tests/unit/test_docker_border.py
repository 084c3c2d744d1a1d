"""Only `bot/engine/` talks to Docker: the docker SDK and the HTTP stack under it (requests, urllib3,
paramiko) are imported nowhere else in `bot/`, so no code above the engine can call a raw client or catch one
of their exceptions; everything else sees `bot.errors` types (`bot.engine.hosts.docker_errors`)."""

from __future__ import annotations

import ast
from pathlib import Path

BOT = Path(__file__).resolve().parents[2] / "bot"
ENGINE = BOT / "engine"
DOCKER_STACK = frozenset({"docker", "requests", "urllib3", "paramiko"})


def _imported(tree: ast.AST) -> list[tuple[int, str]]:
    """(line, top-level module) of every import in `tree`, also those inside functions."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name.split(".")[0]) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module.split(".")[0]))
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute | ast.Name)
            and (node.func.attr if isinstance(node.func, ast.Attribute) else node.func.id)
            in ("import_module", "__import__")
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            found.append((node.lineno, node.args[0].value.split(".")[0]))
    return found


def test_the_docker_sdk_and_its_http_stack_are_imported_only_under_bot_engine() -> None:
    outside = [
        f"{path.relative_to(BOT.parent)}:{line} imports {module}"
        for path in sorted(BOT.rglob("*.py"))
        if ENGINE not in path.parents
        for line, module in _imported(ast.parse(path.read_text(encoding="utf-8"), str(path)))
        if module in DOCKER_STACK
    ]
    assert outside == []


def test_the_engine_does_import_them_so_the_check_above_looks_at_real_imports() -> None:
    """The walk finds the engine's own imports (a guard that found nothing anywhere would prove nothing)."""
    modules = {
        module for _, module in _imported(ast.parse((ENGINE / "hosts.py").read_text(encoding="utf-8")))
    }
    assert {"docker", "requests", "urllib3"} <= modules


def test_the_walk_sees_every_spelling_of_an_import() -> None:
    source = "import docker.errors\nfrom requests import exceptions\ndef f():\n    import urllib3\n"
    source += "importlib.import_module('paramiko')\n"
    assert [module for _, module in sorted(_imported(ast.parse(source)))] == [
        "docker",
        "requests",
        "urllib3",
        "paramiko",
    ]
