"""The report scheduler's thread: it follows an injected clock, stops at once, and outlives a failing
schedule (threads and short waits, so not in the unit tier)."""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from typing import Any

from report_schedules import BERLIN, FakeClock, Recorder, scheduler, stamp

from bot.notify.service import ReportScheduler
from bot.settings import ReportConfig


def wait_for(predicate: Any, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.01)


def test_the_thread_follows_an_injected_clock() -> None:
    """The scheduler thread fires when the fake clock reaches each fire time, however long that is."""
    clock = FakeClock(stamp(2026, 3, 27, 23, 0))  # a Friday; weekdays only
    fire = Recorder()
    schedule = scheduler("30 8 * * mon-fri", fire, clock=clock, max_nap=0.01)
    schedule.start()
    try:
        time.sleep(0.1)
        assert fire.calls == []
        clock.set(stamp(2026, 3, 30, 8, 30, 1))  # the weekend passes in an instant: Monday 08:30
        wait_for(lambda: len(fire.calls) == 1)
        clock.set(stamp(2026, 3, 31, 8, 30, 5))
        wait_for(lambda: len(fire.calls) == 2)
        time.sleep(0.1)
    finally:
        schedule.stop()
    assert [due.isoformat() for due in fire.calls] == [
        "2026-03-30T08:30:00+02:00",
        "2026-03-31T08:30:00+02:00",
    ]


def test_stop_wakes_a_sleeping_scheduler() -> None:
    """A scheduler napping for 30 s stops at once."""
    schedule = scheduler("0 8 * * *", Recorder(), max_nap=30.0)
    schedule.start()
    started = time.monotonic()
    schedule.stop()
    assert time.monotonic() - started < 1.0


def test_no_schedules_no_thread() -> None:
    """Without reports the scheduler starts no thread and has no next fire time."""
    schedule = ReportScheduler([], Recorder())
    schedule.start()
    assert schedule.next_fire() is None
    schedule.stop()


class _Flaky:
    """A schedule firing every minute, whose next fire time cannot be computed while `fail` > 0."""

    expression = "* * * * *"

    def __init__(self) -> None:
        self.fail = 0

    def next_after(self, moment: datetime) -> datetime:
        if self.fail > 0:
            self.fail -= 1
            raise ValueError("no fire time within the horizon")
        return moment.replace(second=0, microsecond=0) + timedelta(minutes=1)


def test_a_schedule_error_is_logged_and_the_thread_lives_on() -> None:
    """An exception from the schedule itself never ends the scheduler thread, nor fires a report twice."""
    clock = FakeClock(stamp(2026, 3, 27, 8, 0))
    fire, flaky = Recorder(), _Flaky()
    schedule = ReportScheduler([(ReportConfig(cron="* * * * *"), flaky)], fire, clock=clock, max_nap=0.01)  # type: ignore[list-item]
    schedule.start()
    try:
        wait_for(lambda: len(fire.calls) == 1)  # 08:00, due as it started
        flaky.fail = 1
        clock.set(stamp(2026, 3, 27, 8, 1, 1))
        wait_for(lambda: len(fire.calls) == 2)
        clock.set(stamp(2026, 3, 27, 8, 2, 1))
        wait_for(lambda: len(fire.calls) == 3)
        time.sleep(0.05)
    finally:
        schedule.stop()
    assert [due.astimezone(BERLIN).strftime("%H:%M") for due in fire.calls] == ["08:00", "08:01", "08:02"]
