"""`events --since X --until Y` against `docker events --since X --until Y` on the same engine: the same
lines, line by line, for a container the test creates, starts and stops (X and Y absolute RFC 3339 times,
Y already past, so neither side waits for anything)."""

from __future__ import annotations

import math
import time
from datetime import UTC, datetime

import pytest

from bot.commands.parser import parse
from bot.engine import Engine
from bot.models import EventsResult

from ._oracle import run_bot, run_docker
from .world import Scratch


def _rfc3339(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.fixture
def window(scratch: Scratch) -> tuple[str, str, str]:
    """A container created, started and stopped inside a window that is over: (name, since, until)."""
    since = math.floor(time.time()) - 1
    name = scratch.container("events", labels={"zeta": "1", "alpha": "x y"})
    scratch.api.stop(name, timeout=0)
    until = math.ceil(time.time()) + 1
    while time.time() < until + 0.5:  # the window is over: the CLI returns at once, the bot clamps nothing
        time.sleep(0.1)
    return name, _rfc3339(since), _rfc3339(until)


def test_events_lines_are_the_clis(window: tuple[str, str, str]) -> None:
    name, since, until = window
    words = ["--since", since, "--until", until, "-f", f"container={name}"]
    cli = run_docker("events", *words).stdout.splitlines()
    assert [line.split()[2] for line in cli][:2] == ["create", "start"], cli
    bot = run_bot("events " + " ".join(words))
    assert bot.returncode == 0, bot.describe()
    summary, *lines = bot.stdout.splitlines()
    assert summary.startswith(f"{len(cli)} events from "), bot.stdout
    assert lines == cli


def test_events_format_json_and_a_template_are_the_clis(window: tuple[str, str, str]) -> None:
    name, since, until = window
    for fmt in ("json", "{{.Type}} {{.Action}} {{.Actor.Attributes.name}} {{.Actor.Attributes.nokey}}"):
        words = ["--since", since, "--until", until, "-f", f"container={name}", "-f", "event=start"]
        cli = run_docker("events", *words, "--format", fmt).stdout.splitlines()
        assert len(cli) == 1, cli
        bot = run_bot("events " + " ".join(words) + f" --format '{fmt}'")
        assert bot.returncode == 0, bot.describe()
        assert bot.stdout.splitlines() == cli


def test_the_engine_reads_a_window_and_never_follows(engine: Engine, window: tuple[str, str, str]) -> None:
    """An `--until` in the future is read as now: the call returns at once instead of following."""
    name, since, _ = window
    (command,) = parse(f"events --since {since} --until 2099-01-01T00:00:00Z -f container={name}")
    started = time.monotonic()
    result = engine.events(command.args)
    assert time.monotonic() - started < 5
    assert isinstance(result, EventsResult)
    assert result.clamped
    assert [event.action for event in result.events][:2] == ["create", "start"]
    assert all(event.attributes.get("name") == name for event in result.events)
