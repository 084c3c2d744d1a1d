"""Disk reports without an engine: the message (limits, button, content), the routing, and the scheduler on
an injected clock."""

from __future__ import annotations

import json
import threading
import time
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot.models import ContainerRow, DiskReport, DiskUsageResult, ImageRow, Plan, Target
from bot.notify.cron import CronSchedule, parse_cron
from bot.notify.reports import disk_report_messages, report_channels
from bot.notify.service import LATE_GRACE, ReportScheduler
from bot.render.blocks import limit_violations
from bot.render.blocks.report import disk_report_blocks, disk_report_text
from bot.render.table import render_system_df
from bot.settings import NotifyConfig, ReportConfig

BERLIN = ZoneInfo("Europe/Berlin")
WHEN = datetime(2026, 3, 2, 8, 0, tzinfo=BERLIN)
NOW = WHEN.timestamp()


def image(number: int, *, tags: tuple[str, ...] = (), size: int = 2_000_000, containers: int = 0) -> ImageRow:
    return ImageRow(
        id=f"sha256:{number:04x}{'e' * 60}",
        repo_tags=tags or ("<none>:<none>",),
        repo_digests=(),
        created=int(NOW) - 3600,
        size=size,
        shared_size=0,
        containers=containers,
    )


def container(name: str, status: str, *, state: str = "exited", size_rw: int = 1000) -> ContainerRow:
    return ContainerRow(
        id=f"{abs(hash(name)):064x}"[:64],
        names=(f"/{name}",),
        image="app:1",
        image_id="sha256:" + "a" * 64,
        command="true",
        created=int(NOW) - 7200,
        state=state,
        status=status,
        size_rw=size_rw,
    )


def report(dangling: int = 2, exited: int = 2, *, prunable: bool = True) -> DiskReport:
    used = image(1, tags=("app:1",), size=50_000_000, containers=1)
    images = (used, *(image(10 + n) for n in range(dangling)))
    running = container("web", "Up 2 hours", state="running")
    containers = (running, *(container(f"job-{n}", f"Exited ({n}) {n + 2} hours ago") for n in range(exited)))
    usage = DiskUsageResult(
        images=images,
        containers=containers,
        volumes=(),
        build_cache=(),
        layers_size=sum(i.size for i in images),
        now=NOW,
    )
    targets = tuple(
        Target("image", i.id, "<none>:<none>", {}, i.size, "dangling")
        for i in images
        if i.dangling and prunable
    )
    plan = Plan("image prune", "prod", "prune", targets, reclaim=sum(t.size or 0 for t in targets))
    return DiskReport("prod", usage, plan)


def texts(blocks: list[dict[str, Any]]) -> str:
    found: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                found.append(value) if key == "text" and isinstance(value, str) else walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(blocks)
    return "\n".join(found)


def buttons(blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e for b in blocks if b["type"] == "actions" for e in b["elements"]]


# ---- the message -----------------------------------------------------------------------------------------


def test_report_message_holds_table_images_containers_and_the_prune_button() -> None:
    """The df table, the dangling images, the exited containers with their status, and the button."""
    disk = report()
    blocks = disk_report_blocks(disk, WHEN, "scheduled report")
    assert limit_violations(blocks) == []
    text = texts(blocks)
    assert "Disk report for prod, 2026-03-02 08:00 CET" in text
    assert render_system_df(disk.usage).splitlines()[0] in text
    assert "TYPE" in render_system_df(disk.usage)
    assert "*Dangling images:* 2, 4MB in all" in text
    assert "`000aeeeeeeee` 2MB · `000beeeeeeee` 2MB" in text  # short IDs of the dangling images
    assert "`job-1` Exited (1) 3 hours ago" in text
    assert "`image prune` would free about 4MB now (2 images)" in text
    (button,) = buttons(blocks)
    assert button["action_id"] == "run_prune"
    assert button["text"]["text"] == "Prune dangling images"
    assert json.loads(button["value"]) == {"text": "image prune", "host": "prod"}
    assert blocks[-1]["type"] == "context"


def test_no_button_when_nothing_would_be_pruned() -> None:
    """Without anything `image prune` would take, the report offers no button."""
    assert buttons(disk_report_blocks(report(dangling=0), WHEN, "x")) == []
    assert buttons(disk_report_blocks(report(dangling=1, prunable=False), WHEN, "x")) == []


def test_long_lists_name_a_few_and_count_the_rest() -> None:
    """Forty exited containers and thirty dangling images: five of each named, the rest counted."""
    disk = report(dangling=30, exited=40)
    blocks = disk_report_blocks(disk, WHEN, "x")
    assert limit_violations(blocks) == []
    text = texts(blocks)
    assert "(and 35 more)" in text
    assert "(and 25 more)" in text
    assert "job-4" in text
    assert "job-5`" not in text


def test_text_form_for_the_shell_and_logs() -> None:
    """The plain-text report carries the same facts, the table exactly as the CLI prints it."""
    disk = report()
    text = disk_report_text(disk, WHEN)
    assert render_system_df(disk.usage) in text
    assert "Exited containers: 2, 2kB in their writable layers" in text
    assert "  job-0   Exited (0) 2 hours ago" in text
    assert "image prune would free about 4MB now" in text


def test_one_message_per_channel_with_its_own_dedupe_key() -> None:
    """The dedupe key is the report's key plus the channel; the fallback text is a summary line."""
    messages = disk_report_messages(report(), WHEN, ["C0A", "C0B"], key="report:disk:prod:T", context="x")
    assert [m.dedupe_key for m in messages] == ["report:disk:prod:T@C0A", "report:disk:prod:T@C0B"]
    assert messages[0].text.startswith("Disk report for prod: ")
    assert "2 dangling images, 2 exited containers" in messages[0].text


def test_report_channels_take_disk_routes_matching_the_host() -> None:
    """Only routes listening to "disk" whose hosts match; container patterns do not apply; once each."""
    config = NotifyConfig.model_validate(
        {
            "routes": [
                {"channel": "C0ALL", "events": ["died", "disk"], "containers": ["web-*"]},
                {"channel": "C0PROD", "events": ["disk"], "hosts": ["prod*"]},
                {"channel": "C0DIED", "events": ["died"]},
                {"channel": "C0ALL", "events": ["disk"]},
            ]
        }
    )
    assert report_channels(config, "prod") == ("C0ALL", "C0PROD")
    assert report_channels(config, "staging") == ("C0ALL",)


# ---- the scheduler ---------------------------------------------------------------------------------------


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


def test_fires_at_the_cron_time_and_not_before() -> None:
    """Nothing before 08:00; at 08:00 the report fires once, with its fire time; next is tomorrow."""
    fire = Recorder()
    schedule = scheduler("0 8 * * *", fire)
    schedule.begin(stamp(2026, 3, 2, 7, 0))
    assert schedule.run_due(stamp(2026, 3, 2, 7, 59, 59)) == []
    assert schedule.run_due(stamp(2026, 3, 2, 8, 0, 0)) == [(0, datetime(2026, 3, 2, 8, 0, tzinfo=BERLIN))]
    assert schedule.run_due(stamp(2026, 3, 2, 8, 0, 30)) == []
    assert schedule.next_fire() == stamp(2026, 3, 3, 8, 0)
    assert fire.calls == [datetime(2026, 3, 2, 8, 0, tzinfo=BERLIN)]


def test_a_start_just_after_the_fire_time_still_fires() -> None:
    """A restart 30 s after 08:00 still sends the 08:00 report (the outbox's dedupe key stops a repeat)."""
    fire = Recorder()
    schedule = scheduler("0 8 * * *", fire)
    schedule.begin(stamp(2026, 3, 2, 8, 0, 30))
    assert [due for _, due in schedule.run_due(stamp(2026, 3, 2, 8, 0, 30))] == [
        datetime(2026, 3, 2, 8, 0, tzinfo=BERLIN)
    ]


def test_missed_fire_times_are_not_caught_up() -> None:
    """Started 70 s after 08:00, or woken hours late: nothing is posted for the missed times."""
    fire = Recorder()
    schedule = scheduler("0 8 * * *", fire)
    schedule.begin(stamp(2026, 3, 2, 8, 1, 10))
    assert schedule.run_due(stamp(2026, 3, 2, 8, 1, 10)) == []
    assert schedule.next_fire() == stamp(2026, 3, 3, 8, 0)
    every_minute = scheduler("* * * * *", fire)
    every_minute.begin(stamp(2026, 3, 2, 9, 0))
    fired = every_minute.run_due(stamp(2026, 3, 2, 12, 0, 10))  # asleep for three hours
    assert [due.strftime("%H:%M") for _, due in fired] == ["12:00"]
    assert LATE_GRACE == 60.0
    assert len(fire.calls) == 1


def test_a_failing_report_does_not_stop_the_schedule() -> None:
    """An error while building one report is logged; the next fire time still comes."""
    fire = Recorder(fail=1)
    schedule = scheduler("*/5 * * * *", fire)
    schedule.begin(stamp(2026, 3, 2, 8, 1))
    assert len(schedule.run_due(stamp(2026, 3, 2, 8, 5))) == 1
    assert len(schedule.run_due(stamp(2026, 3, 2, 8, 10))) == 1
    assert len(fire.calls) == 2


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
