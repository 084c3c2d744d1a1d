"""The lifecycle every fake server shares: listen on 127.0.0.1 at a free port, serve from one thread.

A fake says how to make its server (bound and listening when made), how to serve it until shut down, how to
shut it down, and which port it got; `BackgroundServer` gives it `start()`/`stop()`, the context manager,
`port` and `url`.
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from types import TracebackType
from typing import ClassVar, Generic, Self, TypeVar

LOCALHOST = "127.0.0.1"
STOP_JOIN_TIMEOUT = 10.0  # seconds stop() waits for the serving thread

_Server = TypeVar("_Server")


class BackgroundServer(ABC, Generic[_Server]):
    """A server on 127.0.0.1 served by one daemon thread; `start()` is idempotent, `stop()` safe to repeat.

    Subclasses set `description` (for the "not started" error), `thread_name` and `scheme`, and implement
    `_make_server`, `_serve`, `_shutdown` and `_bound_port`.
    """

    description: ClassVar[str] = "the fake server"
    thread_name: ClassVar[str] = "fake-server"
    scheme: ClassVar[str] = "http"

    def __init__(self) -> None:
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # ---- what a subclass provides

    @abstractmethod
    def _make_server(self) -> _Server:
        """A server bound to 127.0.0.1 at a free port and listening, not yet serving."""
        raise NotImplementedError

    @abstractmethod
    def _serve(self, server: _Server) -> None:
        """Serve until `_shutdown(server)` is called (runs on the server thread)."""
        raise NotImplementedError

    @abstractmethod
    def _shutdown(self, server: _Server) -> None:
        """Stop serving and close the listening socket; return once no handler is left running."""
        raise NotImplementedError

    @abstractmethod
    def _bound_port(self, server: _Server) -> int:
        """The port `server` listens on."""
        raise NotImplementedError

    # ---- the lifecycle

    def start(self) -> Self:
        """Listen and serve in the background; a started server is left as it is."""
        if self._server is not None:
            return self
        server = self._make_server()
        thread = threading.Thread(target=self._serve, args=(server,), name=self.thread_name, daemon=True)
        self._server, self._thread = server, thread
        thread.start()
        return self

    def stop(self) -> None:
        """Shut the server down and wait for its thread. Safe to call twice, or before start()."""
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if server is None:
            return
        self._shutdown(server)
        if thread is not None:
            thread.join(timeout=STOP_JOIN_TIMEOUT)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def port(self) -> int:
        """The port the running server listens on; RuntimeError when it is not started."""
        if self._server is None:
            raise RuntimeError(f"{self.description} is not started")
        return self._bound_port(self._server)

    @property
    def url(self) -> str:
        """scheme://127.0.0.1:PORT, with no trailing slash."""
        return f"{self.scheme}://{LOCALHOST}:{self.port}"
