"""A watcher's sink for tests: keeps every notification and lets a test wait for the ones it expects."""

from __future__ import annotations

import threading

from bot.models import Notification


class Recorder:
    """The sink: keeps every notification and lets a test wait for the ones it expects."""

    def __init__(self) -> None:
        self.notes: list[Notification] = []
        self._changed = threading.Condition()

    def __call__(self, note: Notification) -> None:
        with self._changed:
            self.notes.append(note)
            self._changed.notify_all()

    def of(self, container: str, kind: str | None = None) -> list[Notification]:
        """What was received about one container (optionally of one kind), in arrival order."""
        with self._changed:
            return [n for n in self.notes if n.container == container and kind in (None, n.kind)]

    def wait(
        self, container: str, kind: str | None = None, count: int = 1, timeout: float = 10.0
    ) -> list[Notification]:
        """Wait until `count` notifications (of `kind`, or any) about `container` arrived; fail after
        `timeout`, naming what did arrive."""
        with self._changed:
            self._changed.wait_for(lambda: len(self.of(container, kind)) >= count, timeout)
        found = self.of(container, kind)
        what = kind or "notification(s)"
        assert len(found) >= count, f"waited {timeout} s for {count} {what} of {container}; got {self.notes}"
        return found
