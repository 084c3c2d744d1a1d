"""Notifications while the bot serves Slack: one watcher per host → rules → outbox → the routed channels;
and the scheduled reports (`[[notify.reports]]`), posted through the same outbox."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from slack_sdk import WebClient

from bot.engine import Engine, Host
from bot.errors import ChatOpsError
from bot.mentions import user_ref
from bot.models import Notification
from bot.notify.cron import CronSchedule
from bot.notify.messages import outgoing_messages
from bot.notify.outbox import Outbox, OutgoingMessage
from bot.notify.reports import build_disk_report, disk_report_messages, report_channels
from bot.notify.rules import Rules
from bot.notify.watcher import HostWatcher, start_watchers
from bot.policy.scopes import host_matches
from bot.render.blocks import slack_refs
from bot.settings import ReportConfig, Settings, notify_zone
from bot.startup import report_schedules
from bot.store import Store
from bot.store.notify import SqliteCursorStore

log = logging.getLogger(__name__)

LATE_GRACE = 60.0  # seconds: a fire time missed by less (a restart, a slow engine) still goes out
MAX_NAP = 30.0  # seconds: the scheduler re-reads the clock at least this often (suspend, clock steps)

Schedules = Sequence[tuple[ReportConfig, CronSchedule]]
Fire = Callable[[ReportConfig, CronSchedule, datetime], None]


class ReportScheduler:
    """One thread that fires each `[[notify.reports]]` entry at its cron times.

    It sleeps until the next fire time of any report (waking at least every `max_nap` seconds to read the
    clock again, and at once on `stop`), then calls `fire(report, schedule, fire_time)` for each report due.
    The schedule starts `LATE_GRACE` seconds before `begin`'s time: a report due during a quick restart
    still goes out (the fire time in its dedupe key keeps it from being posted twice). A fire time found
    more than `LATE_GRACE` late (the bot was down, the machine asleep) is skipped, never caught up.
    `clock` gives Unix seconds; tests pass a fake one and a short `max_nap`.
    """

    def __init__(
        self,
        schedules: Schedules,
        fire: Fire,
        *,
        clock: Callable[[], float] = time.time,
        max_nap: float = MAX_NAP,
    ) -> None:
        self.schedules = tuple(schedules)
        self._fire = fire
        self._clock = clock
        self._max_nap = max_nap
        self._next: list[datetime] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def begin(self, now: float) -> None:
        """Set each report's first fire time: the first one after `now - LATE_GRACE`."""
        start = _instant(now - LATE_GRACE)
        self._next = [schedule.next_after(start) for _, schedule in self.schedules]

    def next_fire(self) -> float | None:
        """When the next report is due (Unix seconds), or None without reports."""
        return min((moment.timestamp() for moment in self._next), default=None)

    def run_due(self, now: float) -> list[tuple[int, datetime]]:
        """Fire every report due at `now` (skipping fire times missed by LATE_GRACE or more), and move each
        one on to its next fire time; returns (report index, fire time) of every report fired."""
        fired: list[tuple[int, datetime]] = []
        for index, (report, schedule) in enumerate(self.schedules):
            while self._next[index].timestamp() <= now:
                due = self._next[index]
                late = now - due.timestamp()
                if late < LATE_GRACE:
                    following = schedule.next_after(due)  # first: a schedule that cannot go on fires once
                    self._fire_one(report, schedule, due)
                    fired.append((index, due))
                    self._next[index] = following
                else:
                    log.info("notify.reports.%d: skipping %s, missed by %.0f s", index + 1, due, late)
                    self._next[index] = schedule.next_after(max(due, _instant(now - LATE_GRACE)))
        return fired

    def _fire_one(self, report: ReportConfig, schedule: CronSchedule, due: datetime) -> None:
        try:
            self._fire(report, schedule, due)
        except Exception:  # one failing report never stops the schedule
            log.exception("the %s report due at %s failed", report.kind, due.isoformat())

    def start(self) -> None:
        """Start the thread (a no-op without reports)."""
        if not self.schedules:
            return
        self.begin(self._clock())
        self._thread = threading.Thread(target=self._run, name="notify-reports", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Wake the thread and wait for it (a report being built finishes first)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self) -> None:
        while not self._stop.is_set():
            wait = self._max_nap
            try:
                self.run_due(self._clock())
                upcoming = self.next_fire()
                if upcoming is not None:
                    wait = upcoming - self._clock()
            except Exception:  # e.g. a schedule with no fire time left: log it, keep the others going
                log.exception("the report schedule failed; trying again in %.0f s", self._max_nap)
            self._stop.wait(min(self._max_nap, max(wait, 0.0)))


def _instant(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


class NotificationService:
    """Started by `run` when `[[notify.routes]]` exist; stopped with the bot."""

    def __init__(
        self,
        settings: Settings,
        hosts: Sequence[Host],
        *,
        clock: Callable[[], float] = time.time,
        report_nap: float = MAX_NAP,
    ) -> None:
        self.settings = settings
        self.hosts = tuple(hosts)
        self.config = settings.file.notify
        token = settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else None
        # no RateLimitErrorRetryHandler here: the outbox paces channels and honours Retry-After itself
        self.client = WebClient(token=token, base_url=settings.slack_api_url, timeout=10)
        self.outbox = Outbox(settings.chatops_state_path, self.client)
        self.mutes = Store(settings.chatops_state_path)
        self.rules = Rules(self.config, mutes=self.mutes)
        self.watchers: list[HostWatcher] = []
        self.cursors: SqliteCursorStore | None = None
        self.zone = notify_zone(self.config.timezone)
        self.clock = clock
        self.engines = {host.name: Engine(host) for host in self.hosts}
        self.scheduler = ReportScheduler(
            report_schedules(self.config), self.post_scheduled, clock=clock, max_nap=report_nap
        )

    def deliver(self, note: Notification) -> None:
        """The watchers' sink: queue the notification for every channel it is routed to."""
        for message in outgoing_messages(note):
            self.outbox.enqueue(message)

    def send_test(self, user_id: str) -> list[str]:
        """`notify test`: one test message to every routed channel; returns the channels.

        The asker is named by a ref rendered for Slack before the message is queued: the outbox keeps its
        texts across restarts, and a ref is only read by the process that wrote it (`bot.mentions`)."""
        channels = sorted({route.channel for route in self.config.routes})
        stamp = f"{time.time():.6f}"
        for channel in channels:
            self.outbox.enqueue(
                OutgoingMessage(
                    channel=channel,
                    text=slack_refs(
                        f":bell: test notification from docker-chatops, asked by {user_ref(user_id)}"
                    ),
                    dedupe_key=f"test:{stamp}:{channel}",
                )
            )
        return channels

    def send_report(self, user_id: str, host: str) -> list[str]:
        """`notify report`: the disk report of `host`, now, to its disk channels; returns the channels.

        Raises our typed errors (the engine's) for the router to answer with. The asker is named as in
        `send_test`.
        """
        channels = report_channels(self.config, host)
        engine = self.engines.get(host)
        if not channels or engine is None:
            return []
        report = build_disk_report(engine)
        context = slack_refs(f"asked by {user_ref(user_id)} with `notify report`")
        when = datetime.fromtimestamp(self.clock(), self.zone)
        key = f"report:disk:{host}:asked:{report.usage.now:.6f}"
        for message in disk_report_messages(report, when, channels, key=key, context=context):
            self.outbox.enqueue(message)
        return list(channels)

    def post_scheduled(self, report: ReportConfig, schedule: CronSchedule, due: datetime) -> None:
        """The scheduler's `fire`: the report of every matching host, keyed by its fire time."""
        stamp = due.astimezone(UTC).strftime("%Y-%m-%dT%H:%MZ")
        context = f"scheduled report · cron `{schedule.expression}` ({self.config.timezone})"
        for host, engine in self.engines.items():
            channels = report_channels(self.config, host)
            if not host_matches(report.hosts, host) or not channels:
                continue
            try:
                built = build_disk_report(engine)
                key = f"report:disk:{host}:{stamp}"
                messages = disk_report_messages(built, due, channels, key=key, context=context)
                queued = sum(self.outbox.enqueue(message) for message in messages)
            except ChatOpsError as exc:
                log.warning("the disk report of %s due at %s failed: %s", host, stamp, exc.message)
                continue
            except Exception:  # one host's surprise never costs the other hosts their report
                log.exception("the disk report of %s due at %s failed", host, stamp)
                continue
            log.info("disk report of %s due at %s: queued for %d channel(s)", host, stamp, queued)

    def start(self) -> None:
        """Start the outbox (re-sending what was pending), then one watcher per host, then the reports."""
        self.outbox.start()
        self.watchers, self.cursors = start_watchers(
            self.hosts, self.rules, self.deliver, self.settings.chatops_state_path
        )
        self.scheduler.start()
        routes, reports = len(self.config.routes), len(self.config.reports)
        log.info(
            "notifications: %d route(s), %d report(s), watching %s",
            routes,
            reports,
            ", ".join(h.name for h in self.hosts),
        )

    def stop(self) -> None:
        """Stop the reports, the watchers, then the outbox (what is pending goes out after the next start)."""
        self.scheduler.stop()
        for watcher in self.watchers:
            watcher.stop()
        if self.cursors is not None:
            self.cursors.close()
        self.outbox.stop(5.0)
        self.mutes.close()
        for engine in self.engines.values():
            engine.close()
