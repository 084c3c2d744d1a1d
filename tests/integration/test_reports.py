"""Disk reports on the real engine: the content against the Docker CLI, and the schedule through the real
outbox to a fake Slack, on an injected clock, across a restart."""

from __future__ import annotations

import contextlib
import io
import json
import tarfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import docker.errors
import pytest
from fakes.slack import FakeSlack
from report_schedules import FakeClock

from bot.engine import Engine, hosts_from_settings
from bot.engine.plans import unique_size
from bot.models import DiskReport, DiskUsageResult
from bot.notify.reports import build_disk_report
from bot.notify.service import NotificationService
from bot.render.blocks import escape_code, limit_violations
from bot.render.blocks.report import LISTED_MAX, disk_report_blocks, disk_report_text
from bot.render.format import human_size
from bot.render.table import render_system_df
from bot.settings import FileConfig, Settings, load_settings

from ._oracle import run_docker, table

BERLIN = ZoneInfo("Europe/Berlin")
STATE_DEADLINE_S = 30.0
CHURN_DEADLINE_S = 30.0


@dataclass(frozen=True)
class DiskObjects:
    """What a test made on the engine: a dangling image, the image that took its tag, an exited container."""

    dangling_id: str
    tagged_id: str
    reference: str
    exited: str


def tiny_tar(text: str) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        data = text.encode()
        info = tarfile.TarInfo("note.txt")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def import_image(api: Any, text: str, reference: str) -> str:
    """`docker import` of a one-file image tagged `reference`; its ID."""
    repository, tag = reference.rsplit(":", 1)
    answer = api.import_image_from_data(tiny_tar(text), repository=repository, tag=tag)
    for line in reversed(str(answer).splitlines()):
        status = json.loads(line).get("status", "")
        if status.startswith("sha256:"):
            return str(status)
    pytest.fail(f"docker import answered no image id: {answer!r}")


def wait_exited(api: Any, name: str) -> None:
    deadline = time.monotonic() + STATE_DEADLINE_S
    while api.inspect_container(name)["State"]["Status"] != "exited":
        if time.monotonic() > deadline:
            pytest.fail(f"{name} did not exit")
        time.sleep(0.05)


@pytest.fixture
def disk_objects(
    docker_api: Any, test_image: str, unique_name: Callable[[str], str]
) -> Iterator[DiskObjects]:
    """Two imports to the same tag (the first becomes dangling) and a container that exited with 3."""
    reference = unique_name("report") + ":1"
    exited = unique_name("exited")
    made: list[str] = []
    try:
        made.append(import_image(docker_api, f"first {reference}\n", reference))
        made.append(import_image(docker_api, f"second {reference}\n", reference))
        docker_api.create_container(test_image, ["sh", "-c", "exit 3"], name=exited)
        docker_api.start(exited)
        wait_exited(docker_api, exited)
        yield DiskObjects(made[0], made[1], reference, exited)
    finally:
        with contextlib.suppress(docker.errors.NotFound):
            docker_api.remove_container(exited, force=True)
        for image_id in made:
            with contextlib.suppress(docker.errors.NotFound):
                docker_api.remove_image(image_id, force=True)


@pytest.fixture
def engine() -> Iterator[Engine]:
    """The engine of DOCKER_HOST (or the local socket), named as the bot names it ("local")."""
    (host,) = hosts_from_settings(load_settings(None))
    made = Engine(host)
    yield made
    made.close()


def images_reclaimable(usage: DiskUsageResult) -> int:
    """What `system df` calls reclaimable for images: the layers no image used by a container holds."""
    used = sum(i.size - i.shared_size for i in usage.images if i.containers != 0 and i.shared_size >= 0)
    return usage.layers_size - used


def report_matching_the_cli(engine: Engine) -> tuple[DiskReport, list[str], list[str]]:
    """A report whose df table the CLI printed just before or just after it (retried while other clients
    of the shared engine change it); returns it with the CLI's tables."""
    deadline = time.monotonic() + CHURN_DEADLINE_S
    while True:
        before = table(run_docker("system", "df").stdout, "TYPE")
        report = build_disk_report(engine)
        after = table(run_docker("system", "df").stdout, "TYPE")
        lines = render_system_df(report.usage).splitlines()
        if lines in (before, after) or before == after or time.monotonic() > deadline:
            return report, before, after
        time.sleep(0.5)


def test_disk_report_on_the_real_engine(engine: Engine, disk_objects: DiskObjects) -> None:
    """The df table is the CLI's; the dangling image, the exited container and the reclaim figure are in."""
    report, before, after = report_matching_the_cli(engine)
    assert render_system_df(report.usage).splitlines() in (before, after), (
        render_system_df(report.usage),
        before,
        after,
    )
    dangling = {image.id: image for image in report.dangling}
    assert disk_objects.dangling_id in dangling
    assert disk_objects.tagged_id not in dangling
    assert disk_objects.dangling_id in {target.id for target in report.prune.targets}
    (exited,) = [row for row in report.exited if row.name == disk_objects.exited]
    assert exited.status.startswith("Exited (3) ")
    # what `image prune` would free: at least our image's own layers, at most what df calls reclaimable
    own = unique_size(dangling[disk_objects.dangling_id])
    assert own > 0
    assert own <= (report.prune.reclaim or 0) <= images_reclaimable(report.usage)

    when = datetime.fromtimestamp(report.usage.now, BERLIN)
    text = disk_report_text(report, when)
    assert disk_objects.dangling_id.removeprefix("sha256:")[:12] in text or len(report.dangling) > 5
    assert f"image prune would free about {human_size(report.prune.reclaim or 0)} now" in text

    blocks = disk_report_blocks(report, when, "asked by <@U0ADMIN> with `notify report`")
    assert limit_violations(blocks) == []
    rendered = json.dumps(blocks)
    assert json.dumps(f"```{escape_code(render_system_df(report.usage))}```")[1:-1] in rendered
    actions = [e for b in blocks if b["type"] == "actions" for e in b["elements"]]
    assert [(e["action_id"], json.loads(e["value"])) for e in actions] == [
        ("run_prune", {"text": "image prune", "host": "local"})
    ]


def test_exited_container_names_are_in_the_report(engine: Engine, disk_objects: DiskObjects) -> None:
    """Ours is named in the message with its status when among the five newest exited containers; behind
    more of them (other clients of the shared engine) it is in the count of the rest."""
    report = build_disk_report(engine)
    names = [row.name for row in report.exited]
    rendered = json.dumps(disk_report_blocks(report, datetime.now(BERLIN), "x"), ensure_ascii=False)
    if names.index(disk_objects.exited) < LISTED_MAX:
        assert f"`{disk_objects.exited}` Exited (3) " in rendered
    else:
        assert f"(and {len(names) - LISTED_MAX} more)" in rendered
        assert f"`{disk_objects.exited}`" not in rendered


# ---- the schedule, end to end through the outbox ----------------------------------------------------------


def report_settings(slack: FakeSlack, state: Path) -> Settings:
    config = FileConfig.model_validate(
        {
            "notify": {
                "timezone": "Europe/Berlin",
                "routes": [{"channel": "C0DISK", "events": ["disk"]}],
                "reports": [{"kind": "disk", "cron": "0 8 * * mon-fri", "hosts": ["*"]}],
            }
        }
    )
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        slack_bot_token=slack.bot_token,
        slack_api_url=slack.api_url,
        chatops_state_path=state,
        file=config,
    )


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    with FakeSlack() as fake:
        yield fake
        assert fake.errors == []


def test_scheduled_report_fires_on_time_and_once_across_a_restart(
    slack: FakeSlack, tmp_path: Path, docker_api: Any
) -> None:
    """08:00 on a Monday (injected clock): one report; a restart 40 s later posts nothing more; Tuesday 08:00
    posts the next one."""
    settings = report_settings(slack, tmp_path / "state.db")
    hosts = hosts_from_settings(settings)
    clock = FakeClock(datetime(2026, 3, 2, 7, 59, 50, tzinfo=BERLIN).timestamp())
    first = NotificationService(settings, hosts, clock=clock, report_nap=0.02)
    first.start()
    try:
        time.sleep(0.3)
        assert slack.messages(channel="C0DISK") == []
        clock.set(datetime(2026, 3, 2, 8, 0, 3, tzinfo=BERLIN).timestamp())
        (posted,) = slack.wait_for_messages(channel="C0DISK", timeout=20)
    finally:
        first.stop()
    assert (posted.text or "").startswith("Disk report for local: ")
    text = json.dumps(posted.blocks, ensure_ascii=False)
    assert "Disk report for local, 2026-03-02 08:00 CET" in text
    assert "cron `0 8 * * mon-fri` (Europe/Berlin)" in text

    clock.set(datetime(2026, 3, 2, 8, 0, 40, tzinfo=BERLIN).timestamp())  # restarted within the minute
    second = NotificationService(settings, hosts, clock=clock, report_nap=0.02)
    second.start()
    try:
        time.sleep(1.5)
        assert len(slack.messages(channel="C0DISK")) == 1
        assert second.outbox.counts()["sent"] == 1
        clock.set(datetime(2026, 3, 3, 8, 0, 1, tzinfo=BERLIN).timestamp())
        _monday, tuesday = slack.wait_for_messages(count=2, channel="C0DISK", timeout=20)
    finally:
        second.stop()
    assert "Disk report for local, 2026-03-03 08:00 CET" in json.dumps(tuesday.blocks, ensure_ascii=False)
    assert len(slack.messages(channel="C0DISK")) == 2
