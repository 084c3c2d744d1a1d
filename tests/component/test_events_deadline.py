"""`events` is bounded by the host's wall-clock deadline even when the engine keeps the stream open: an
engine that never answers, or dribbles a byte now and then (so no per-read timeout fires), is answered
"did not answer within N s" in about N s, never a stream read forever."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from fakes.engine import Behaviour, FakeEngine

from bot.commands.parser import parse
from bot.engine import Engine, Host
from bot.errors import EngineUnavailable

EVENT = {"Type": "container", "Action": "start", "Actor": {"ID": "a" * 64, "Attributes": {"name": "web"}}}


@pytest.mark.parametrize("behaviour", ["silent", "trickle"])
def test_an_open_stream_ends_at_the_deadline(tmp_path: Path, behaviour: Behaviour) -> None:
    with FakeEngine(tmp_path / "e.sock", answers={"/events": EVENT}, trickle_interval=0.2) as fake:
        engine = Engine(Host("slow", fake.url, 1.0))
        try:
            engine.ping()
            fake.behave(routes={"/events": behaviour})
            (command,) = parse("events --since 5m")
            started = time.monotonic()
            with pytest.raises(EngineUnavailable) as caught:
                engine.events(command.args)
            assert time.monotonic() - started < 4
            assert "did not answer within 1 s" in caught.value.message
        finally:
            engine.close()


def test_every_answer_sends_both_ends_of_the_window(tmp_path: Path) -> None:
    with FakeEngine(tmp_path / "e.sock", answers={"/events": EVENT}) as fake:
        engine = Engine(Host("fake", fake.url, 2.0))
        try:
            (command,) = parse("events")
            result = engine.events(command.args)
        finally:
            engine.close()
    assert [event.actor_id for event in result.events] == ["a" * 64]
    paths = [request.path for request in fake.requests() if "/events" in request.path]
    assert len(paths) == 1
    assert "since=" in paths[0]
    assert "until=" in paths[0]
