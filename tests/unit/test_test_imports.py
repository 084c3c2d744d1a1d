"""The tests' own layout: a helper shared by test modules lives in a helper module (tests/bot_process.py,
tests/unit/recording_engine.py, tests/e2e/watching.py, tests/integration/world.py …), never in a test
module or a conftest, so each test module and conftest can change without breaking another."""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]


def _imported(path: Path) -> list[str]:
    """The last component of every module `path` imports (`from .conftest import x` -> `conftest`)."""
    names: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.append(node.module.rsplit(".", 1)[-1])
        elif isinstance(node, ast.Import):
            names.extend(alias.name.rsplit(".", 1)[-1] for alias in node.names)
    return names


def test_no_test_module_imports_a_test_module_or_a_conftest() -> None:
    found = [
        f"{path.relative_to(TESTS)} imports {name}"
        for path in sorted(TESTS.rglob("*.py"))
        for name in _imported(path)
        if name == "conftest" or name.startswith("test_")
    ]
    assert found == []


def test_the_unit_tier_never_sleeps() -> None:
    """Unit tests are pure and fast: time is injected, never waited for (threaded and timing tests live in
    tests/component)."""
    for path in sorted((TESTS / "unit").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute | ast.Name):
                name = node.func.attr if isinstance(node.func, ast.Attribute) else node.func.id
                assert name != "sleep", f"{path.name}:{node.lineno} sleeps"
