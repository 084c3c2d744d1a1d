"""Disk reports without an engine: the message (limits, button, content), the routing, and the scheduler on
an injected clock."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from fakes.markup import live_markup
from report_schedules import BERLIN, Recorder, scheduler, stamp

from bot.models import ContainerRow, DiskReport, DiskUsageResult, ImageRow, Plan, Target
from bot.notify.reports import disk_report_messages, report_channels
from bot.notify.service import LATE_GRACE
from bot.render.blocks import limit_violations
from bot.render.blocks.report import disk_report_blocks, disk_report_text
from bot.render.table import render_system_df
from bot.settings import NotifyConfig

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


def test_a_report_of_hostile_names_fits_and_renders_nothing_live() -> None:
    """Exited containers with 5,000-character names full of mentions, and a hostile host name: the
    report stays within Slack's limits and every mention, link and backtick is inert text."""
    hostile = "<!channel> <https://evil.example|x> <@U0EVIL> `tick` "
    disk = report(dangling=3, exited=0)
    dead = tuple(container((hostile * 100)[:5000] + str(n), f"Exited (1) {hostile}") for n in range(40))
    usage = DiskUsageResult(
        images=disk.usage.images,
        containers=dead,
        volumes=(),
        build_cache=(),
        layers_size=disk.usage.layers_size,
        now=NOW,
    )
    closing = "scheduled report"  # the closing line is the bot's own mrkdwn (it may mention the asker)
    blocks = disk_report_blocks(DiskReport(hostile * 3, usage, disk.prune), WHEN, closing)
    assert limit_violations(blocks) == []
    assert live_markup({"blocks": blocks}, users=(), channels=()) == []
