"""Fixtures of the e2e tier: a fresh fake Slack, and the bot as a process in HTTP or Socket Mode
(tests/bot_process.py starts and stops it)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from bot_process import BotProcess, start_http_bot, start_socket_bot, stop_bot
from fakes.slack import FakeSlack


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    """A fresh fake Slack (Web API + Socket Mode) for one test; afterwards, nothing the bot sent may hold a
    live mention or link it did not write itself (fakes/markup.py)."""
    with FakeSlack() as fake:
        yield fake
        assert fake.errors == []
        assert fake.live_markup() == []


@pytest.fixture
def http_bot(slack: FakeSlack, tmp_path: Path, docker_api: Any) -> Iterator[BotProcess]:
    """`docker-chatops run` in HTTP mode on the real engine, answering /healthz."""
    bot = start_http_bot(slack, tmp_path)
    yield bot
    stop_bot(bot)
    assert "Traceback" not in bot.output(), bot.output()


@pytest.fixture
def socket_bot(slack: FakeSlack, tmp_path: Path, docker_api: Any) -> Iterator[BotProcess]:
    """`docker-chatops run` in Socket Mode, connected to the fake's WebSocket."""
    bot = start_socket_bot(slack, tmp_path)
    yield bot
    stop_bot(bot)
    assert "Traceback" not in bot.output(), bot.output()
