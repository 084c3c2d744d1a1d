"""The report scheduler's test doubles, for tests/unit/test_reports.py (pure: fire times from a given clock),
tests/component/test_report_scheduler.py (its thread, following an injected clock) and
tests/integration/test_reports.py (the schedule end to end through the outbox)."""

from __future__ import annotations

import threading
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from bot.notify.cron import CronSchedule, parse_cron
from bot.notify.service import ReportScheduler
from bot.settings import ReportConfig

BERLIN = ZoneInfo("Europe/Berlin")


class Recorder:
    """The scheduler's `fire`: remembers each call, optionally failing the first ones."""

    def __init__(self, fail: int = 0) -> None:
        self.calls: list[datetime] = []
        self.fail = fail
        self.lock = threading.Lock()

    def __call__(self, report: ReportConfig, schedule: CronSchedule, due: datetime) -> None:
        with self.lock:
            self.calls.append(due)
            if len(self.calls) <= self.fail:
                raise RuntimeError("the engine went away")


def scheduler(cron: str, fire: Recorder, **options: Any) -> ReportScheduler:
    return ReportScheduler([(ReportConfig(cron=cron), parse_cron(cron, BERLIN))], fire, **options)


def stamp(*parts: int) -> float:
    return datetime(*parts, tzinfo=BERLIN).timestamp()  # type: ignore[misc]


class FakeClock:
    """Unix seconds that move only when the test says so."""

    def __init__(self, now: float) -> None:
        self.now = now
        self.lock = threading.Lock()

    def __call__(self) -> float:
        with self.lock:
            return self.now

    def set(self, now: float) -> None:
        with self.lock:
            self.now = now
