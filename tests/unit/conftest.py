"""The pure tier: a unit test opens no socket and starts no process (those belong in tests/component).

The guard below makes a test that tries fail at once, naming what it tried, so the tier stays fast and
needs nothing from the machine. Creating a socket object is allowed (libraries build clients eagerly);
connecting, binding or sending is not.
"""

from __future__ import annotations

import socket
import subprocess
from collections.abc import Iterator
from typing import Any, NoReturn

import pytest


class ImpureUnitTest(AssertionError):
    """A unit test reached for the network or a process."""


@pytest.fixture(autouse=True)
def _pure(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Refuse sockets and processes; fail the test afterwards too, in case the code under test swallowed
    the refusal (an error border that turns any failure into "host down")."""
    tried: list[str] = []

    def _refuse(what: str) -> Any:
        def refuse(*_args: Any, **_kwargs: Any) -> NoReturn:
            tried.append(what)
            raise ImpureUnitTest(f"a unit test may not {what}: move it to tests/component")

        return refuse

    for name in ("connect", "connect_ex", "bind", "sendto", "sendall"):
        monkeypatch.setattr(socket.socket, name, _refuse(f"use a socket (socket.{name})"))
    monkeypatch.setattr(socket, "create_connection", _refuse("open a connection (socket.create_connection)"))
    monkeypatch.setattr(socket, "socketpair", _refuse("open a socket pair (socket.socketpair)"))
    monkeypatch.setattr(subprocess.Popen, "__init__", _refuse("start a process (subprocess.Popen)"))
    yield
    if tried:
        pytest.fail(f"a unit test may not {tried[0]}: move it to tests/component", pytrace=False)
