"""The README's command reference is generated from the catalog and must stay in step with it."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from bot.commands import CATALOG, Catalog, parse
from bot.errors import UsageError
from bot.startup import read_checked

README = Path(__file__).resolve().parents[2] / "README.md"
BEGIN = (
    "<!-- commands:begin (generated from bot/commands/catalog.py;"
    " UPDATE_README=1 pytest tests/unit/test_readme.py) -->"
)
END = "<!-- commands:end -->"


def reference_markdown(catalog: Catalog) -> str:
    """One table row per visible command: usage, what it does, its options, its aliases."""
    lines = ["| command | what it does | options | also spelled |", "| --- | --- | --- | --- |"]
    for spec in catalog.visible():
        options = "<br>".join(f"`{o.display.strip()}`" for o in spec.options) or "—"
        aliases = "<br>".join(f"`{alias}`" for alias in spec.aliases) or "—"
        usage = spec.usage.replace("|", "\\|")
        lines.append(f"| `{usage}` | {spec.summary} | {options} | {aliases} |")
    return "\n".join(lines)


def test_readme_command_reference_matches_the_catalog() -> None:
    """Every visible catalog command, option and alias is in the README's reference, and nothing else is."""
    text = README.read_text(encoding="utf-8")
    assert BEGIN in text
    assert END in text
    head, rest = text.split(BEGIN, 1)
    current, tail = rest.split(END, 1)
    expected = "\n" + reference_markdown(CATALOG) + "\n"
    if os.environ.get("UPDATE_README") == "1":
        README.write_text(head + BEGIN + expected + END + tail, encoding="utf-8")
        current = expected
    assert current == expected, (
        "README reference is stale: run UPDATE_README=1 pytest tests/unit/test_readme.py"
    )


def test_every_config_example_in_the_readme_loads(tmp_path: Path) -> None:
    """Each ```toml block of the README is a config file the bot accepts as it stands."""
    blocks = re.findall(r"```toml\n(.*?)```", README.read_text(encoding="utf-8"), re.S)
    assert len(blocks) >= 3
    for number, block in enumerate(blocks, start=1):
        path = tmp_path / f"example-{number}.toml"
        path.write_text(block, encoding="utf-8")
        read_checked(path)  # a ConfigError names the bad line


def test_the_readme_shell_session_errors_are_what_the_shell_answers() -> None:
    """Each command of the README's opening shell session answered with `error:`/`hint:` lines is refused
    by the parser with exactly that message and hint (the shell prints them so)."""
    session = re.search(r"```\n\$ \./scripts/run\n(.*?)```", README.read_text(encoding="utf-8"), re.S)
    assert session is not None
    checked = 0
    for typed, answer in re.findall(r"docker@local> (.*)\n((?:(?:error|hint): .*\n)+)", session.group(1)):
        with pytest.raises(UsageError) as caught:
            parse(typed)
        expected = [f"error: {caught.value.message}"] + (
            [f"hint: {caught.value.hint}"] if caught.value.hint else []
        )
        assert answer.splitlines() == expected, typed
        checked += 1
    assert checked >= 3
