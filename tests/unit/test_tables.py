"""Golden tests for bot.render.table: hand-built models rendered to the Docker CLI's exact text.

The golden files under tests/golden/tables/ were checked against the real docker CLI 28.2.2 (served these
same models by a stand-in Engine API); regenerate them with UPDATE_GOLDEN=1 only after such a check.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import golden
import pytest

from bot.models import (
    BuildCacheRow,
    ComposeLsResult,
    ComposeProject,
    ComposePsResult,
    ContainerRow,
    DiskUsageResult,
    ImageRow,
    ImagesResult,
    Port,
    PsResult,
    VolumeRow,
    VolumesResult,
)
from bot.render.table import (
    render_compose_ls,
    render_compose_ps,
    render_images,
    render_ps,
    render_system_df,
    render_volumes,
    summarize_compose_ls,
    summarize_images,
    summarize_ps,
    summarize_system_df,
    summarize_volumes,
)

GOLDEN_DIR = Path(__file__).resolve().parent.parent / "golden" / "tables"
NOW = 1_700_000_000.0
T = int(NOW)
MINUTE, HOUR, DAY = 60, 3600, 86400
ALL_V4 = "0.0.0.0"  # noqa: S104 - a published port's host IP in a fixture, nothing listens


def hexid(seed: str) -> str:
    """A stable 64-hex ID for a fixture object."""
    return hashlib.sha256(seed.encode()).hexdigest()


BUSYBOX_ID = "sha256:" + hexid("busybox-image")
PYTHON_ID = "sha256:" + hexid("python-image")
POSTGRES_ID = "sha256:" + hexid("postgres-image")
PY_DIGEST = "sha256:" + hexid("python-digest")
COMPOSE_FILES = "/srv/shop/compose.yml,/srv/shop/compose.override.yml"


def compose_labels(project: str, service: str, files: str = COMPOSE_FILES) -> dict[str, str]:
    """The labels docker compose puts on a service container."""
    return {
        "com.docker.compose.project": project,
        "com.docker.compose.service": service,
        "com.docker.compose.project.config_files": files,
    }


def containers() -> tuple[ContainerRow, ...]:
    """Containers in the daemon's order (newest first), covering every column rule."""
    return (
        ContainerRow(
            id=hexid("web"),
            names=("/other/webalias", "/shop-web-1"),
            image="chatops-test/busybox:latest",
            image_id=BUSYBOX_ID,
            command='nginx -g "daemon off;"',
            created=T - 45,
            state="running",
            status="Up 44 seconds (healthy)",
            ports=(
                Port(443, "udp", "::", 18443),
                Port(80, "tcp", "127.0.0.1", 18080),
                Port(443, "udp", ALL_V4, 18443),
                Port(9001, "tcp"),
                Port(9000, "tcp"),
                Port(9002, "tcp"),
                Port(7000, "tcp", ALL_V4, 7000),
                Port(7001, "tcp", ALL_V4, 7001),
            ),
            labels=compose_labels("shop", "web"),
            size_rw=2_048,
            size_root_fs=1_986_048,
            local_volumes=1,
        ),
        ContainerRow(
            id=hexid("worker"),
            names=("/shop-worker-1",),
            image=f"docker.io/library/python:3.11-slim@{PY_DIGEST}",
            image_id=PYTHON_ID,
            command="python -m worker --queue default",
            created=T - 2 * HOUR,
            state="running",
            status="Up 2 hours (unhealthy)",
            labels=compose_labels("shop", "worker"),
            size_rw=21_600_000,
            size_root_fs=212_000_000,
        ),
        ContainerRow(
            id=hexid("db"),
            names=("/shop-db-1",),
            image="postgres",
            image_id=POSTGRES_ID,
            command="docker-entrypoint.sh postgres",
            created=T - 3 * DAY,
            state="exited",
            status="Exited (1) 2 days ago",
            ports=(Port(5432, "tcp"),),
            labels=compose_labels("shop", "db"),
            size_rw=0,
            size_root_fs=0,
            mounts=("shop_pgdata",),
        ),
        ContainerRow(
            id=hexid("byid"),
            names=("/rtest-byid",),
            image=BUSYBOX_ID,
            image_id=BUSYBOX_ID,
            command="true",
            created=T - 90,
            state="created",
            status="Created",
        ),
        ContainerRow(
            id=hexid("cjk"),
            names=("/rtest-cjk",),
            image="chatops-test/busybox:latest",
            image_id=BUSYBOX_ID,
            command="sh -c 'echo 日本語のテキストです; sleep 3000'",
            created=T - 5 * MINUTE,
            state="paused",
            status="Up 5 minutes (Paused)",
        ),
        ContainerRow(
            id=hexid("quote"),
            names=("/rtest-quote",),
            image="localhost:5000/team/api:v2",
            image_id="sha256:" + hexid("api-image"),
            command="sh -c \"printf 'a\\tb\\n'\"\tdone",
            created=T - 7 * HOUR,
            state="restarting",
            status="Restarting (137) 3 seconds ago",
        ),
        ContainerRow(
            id=hexid("old"),
            names=("/rtest-old",),
            image="busybox@sha256:" + hexid("busybox-digest"),
            image_id="sha256:" + hexid("old-busybox"),
            command="",
            created=T - 30 * DAY,
            state="exited",
            status="Exited (0) 3 weeks ago",
        ),
        ContainerRow(
            id=hexid("dead"),
            names=("/rtest-dead",),
            image="",
            image_id="",
            command="sleep 1",
            created=T - 400 * DAY,
            state="dead",
            status="Dead",
        ),
    )


def ps_result(**options: bool) -> PsResult:
    """`docker ps -a` over the fixture containers, with the given flags."""
    return PsResult(rows=containers(), now=NOW, all=True, **options)


def images() -> tuple[ImageRow, ...]:
    """Images as GET /images/json lists them: tags, dangling, digest-only, tag plus digest."""
    return (
        ImageRow(
            id=BUSYBOX_ID,
            repo_tags=(
                "chatops-test/busybox:latest",
                "chatops-test/busybox:1.36",
                "chatops-test/busybox:stable",
            ),
            repo_digests=(),
            created=T - 5 * MINUTE,
            size=1_984_216,
            shared_size=0,
            containers=4,
        ),
        ImageRow(
            id="sha256:" + hexid("dangling"),
            repo_tags=("<none>:<none>",),
            repo_digests=("<none>@<none>",),
            created=T - 6 * MINUTE,
            size=1_883,
            shared_size=0,
            containers=0,
        ),
        ImageRow(
            id=PYTHON_ID,
            repo_tags=("python:3.11-slim",),
            repo_digests=(f"python@{PY_DIGEST}",),
            created=T - 9 * DAY,
            size=130_999_500,
            shared_size=1_984_216,
            containers=1,
        ),
        ImageRow(
            id="sha256:" + hexid("old-busybox"),
            repo_tags=(),
            repo_digests=("busybox@sha256:" + hexid("busybox-digest"),),
            created=T - 400 * DAY,
            size=4_261_550,
            shared_size=0,
            containers=1,
        ),
        ImageRow(
            id=POSTGRES_ID,
            repo_tags=("postgres:latest",),
            repo_digests=(),
            created=0,
            size=999_500_000,
            shared_size=-1,
            containers=-1,
        ),
    )


def volumes() -> tuple[VolumeRow, ...]:
    """Volumes in an order the CLI re-sorts naturally; usage data as /system/df reports it."""
    anonymous = {"com.docker.volume.anonymous": ""}
    return (
        VolumeRow(name="vol10", driver="local", ref_count=0, size=0),
        VolumeRow(name=hexid("anon"), driver="local", labels=anonymous, ref_count=1, size=12_345),
        VolumeRow(name="shop_pgdata", driver="local", ref_count=1, size=48_000_000),
        VolumeRow(name="vol2", driver="local", ref_count=0, size=1_000_000),
        VolumeRow(name="Backups", driver="local", ref_count=0, size=-1),
    )


def build_cache() -> tuple[BuildCacheRow, ...]:
    """Build-cache records: in use, shared, never used."""
    return (
        BuildCacheRow(
            id="k3j4h5g6f7d8s9a0p1o2i3u4y",
            type="regular",
            size=52_000_000,
            in_use=False,
            shared=False,
            created_at="2023-11-14T20:13:20Z",
            last_used_at="2023-11-14T21:13:20.999999999Z",
            usage_count=3,
        ),
        BuildCacheRow(
            id="a1b2c3d4e5f6g7h8i9j0",
            type="source.local",
            size=4_096,
            in_use=True,
            shared=False,
            created_at="2023-11-01T00:00:00Z",
            last_used_at="2023-11-14T22:00:00Z",
            usage_count=12,
        ),
        BuildCacheRow(
            id="z9y8x7w6v5u4t3s2r1q0",
            type="frontend",
            size=7_000_000,
            in_use=False,
            shared=True,
            created_at="2023-10-01T12:00:00+00:00",
            usage_count=1,
        ),
    )


def disk_usage(*, verbose: bool = False) -> DiskUsageResult:
    """`docker system df` over the fixtures (containers with their writable sizes)."""
    return DiskUsageResult(
        images=images(),
        containers=containers(),
        volumes=volumes(),
        build_cache=build_cache(),
        layers_size=1_138_000_000,
        now=NOW,
        verbose=verbose,
    )


def empty_disk_usage(*, verbose: bool = False) -> DiskUsageResult:
    """`docker system df` on an engine with nothing on it."""
    return DiskUsageResult((), (), (), (), 0, NOW, verbose=verbose)


def compose_projects() -> tuple[ComposeProject, ...]:
    """Two projects; `blog` is given out of order and takes its config files from labels."""
    shop = tuple(row for row in containers() if row.labels.get("com.docker.compose.project") == "shop")
    blog = (
        ContainerRow(
            id=hexid("blog-web"),
            names=("/blog-web-1",),
            image="ghost:5",
            image_id="sha256:" + hexid("ghost"),
            command="node current/index.js",
            created=T - 3 * HOUR,
            state="exited",
            status="Exited (0) 2 hours ago",
            labels=compose_labels("blog", "web", "/srv/blog/compose.yml"),
        ),
        ContainerRow(
            id=hexid("blog-db"),
            names=("/blog-db-1",),
            image="mysql:8",
            image_id="sha256:" + hexid("mysql"),
            command="docker-entrypoint.sh mysqld",
            created=T - 3 * HOUR,
            state="running",
            status="Up 3 hours",
            labels=compose_labels("blog", "db", "/srv/blog/compose.yml,/srv/blog/db.yml"),
        ),
    )
    return (
        ComposeProject(name="shop", containers=shop, config_files=COMPOSE_FILES),
        ComposeProject(name="blog", containers=blog),
    )


GOLDENS: dict[str, Callable[[], str]] = {
    "ps": lambda: render_ps(ps_result()),
    "ps_size": lambda: render_ps(ps_result(size=True)),
    "ps_no_trunc": lambda: render_ps(ps_result(no_trunc=True)),
    "ps_quiet": lambda: render_ps(ps_result(quiet=True)),
    "ps_quiet_no_trunc": lambda: render_ps(ps_result(quiet=True, no_trunc=True)),
    "ps_empty": lambda: render_ps(PsResult(rows=(), now=NOW)),
    "images": lambda: render_images(ImagesResult(rows=images(), now=NOW)),
    "images_quiet": lambda: render_images(ImagesResult(rows=images(), now=NOW, quiet=True)),
    "images_no_trunc": lambda: render_images(ImagesResult(rows=images(), now=NOW, no_trunc=True)),
    "system_df": lambda: render_system_df(disk_usage()),
    "system_df_verbose": lambda: render_system_df(disk_usage(verbose=True)),
    "system_df_empty": lambda: render_system_df(DiskUsageResult((), (), (), (), 0, NOW)),
    "system_df_empty_verbose": lambda: render_system_df(
        DiskUsageResult((), (), (), (), 0, NOW, verbose=True)
    ),
    "volumes": lambda: render_volumes(VolumesResult(rows=volumes())),
    "volumes_quiet": lambda: render_volumes(VolumesResult(rows=volumes(), quiet=True)),
    "compose_ls": lambda: render_compose_ls(ComposeLsResult(projects=compose_projects())),
    "compose_ls_quiet": lambda: render_compose_ls(ComposeLsResult(projects=compose_projects(), quiet=True)),
    "compose_ps": lambda: render_compose_ps(ComposePsResult(project="shop", rows=containers()[:3], now=NOW)),
    "compose_ps_quiet": lambda: render_compose_ps(
        ComposePsResult(project="shop", rows=containers()[:3], now=NOW, quiet=True)
    ),
}


def check_golden(name: str, text: str) -> None:
    """tests/golden/tables/NAME.txt holds `text` plus a final newline (UPDATE_GOLDEN=1 rewrites it)."""
    golden.check_golden("tables", f"{name}.txt", text + "\n")


@pytest.mark.parametrize("name", sorted(GOLDENS))
def test_table_matches_golden(name: str) -> None:
    """Each fixture renders byte for byte as the docker CLI printed it (golden file plus final newline)."""
    check_golden(name, GOLDENS[name]())


def test_tables_have_no_trailing_newline() -> None:
    """Renderers return the CLI's output without its final newline, as one string."""
    for name, render in GOLDENS.items():
        assert not render().endswith("\n"), name


def test_ps_quiet_empty_is_empty_string() -> None:
    """`docker ps -q` with no containers prints nothing at all."""
    assert render_ps(PsResult(rows=(), now=NOW, quiet=True)) == ""


def test_images_quiet_repeats_ids_per_tag() -> None:
    """The CLI does not dedupe `docker images -q`: an image with three tags prints its ID three times."""
    lines = render_images(ImagesResult(rows=images()[:1], now=NOW, quiet=True)).splitlines()
    assert lines == [BUSYBOX_ID[7:19]] * 3


def test_ps_summary() -> None:
    """summarize_ps counts states in a fixed order, with unhealthy and non-zero exits in brackets."""
    assert summarize_ps(ps_result()) == (
        "8 containers: 2 running (1 unhealthy), 2 exited (1 non-zero), "
        "1 paused, 1 restarting, 1 created, 1 dead"
    )


@pytest.mark.parametrize(
    ("rows", "expected"),
    [
        ((), "0 containers"),
        (containers()[6:7], "1 container: 1 exited"),
        (containers()[:1], "1 container: 1 running"),
    ],
)
def test_ps_summary_counts(rows: tuple[ContainerRow, ...], expected: str) -> None:
    """summarize_ps says "container" for one, and only the total when there are none."""
    assert summarize_ps(PsResult(rows=rows, now=NOW)) == expected


def test_images_summary() -> None:
    """summarize_images counts unique image IDs and reports dangling images with their size."""
    rows = (*images(), images()[0])
    assert summarize_images(ImagesResult(rows=rows, now=NOW)) == "5 images, 1.14GB; 1 dangling (1.88kB)"


def test_images_summary_without_dangling() -> None:
    """Without dangling images the summary is just the count and the size."""
    assert summarize_images(ImagesResult(rows=images()[:1], now=NOW)) == "1 image, 1.98MB"


def test_system_df_summary() -> None:
    """summarize_system_df adds the four RECLAIMABLE figures and the four SIZE figures."""
    assert summarize_system_df(disk_usage()) == "1.056GB reclaimable of 1.261GB"


def test_volumes_summary() -> None:
    """summarize_volumes reports anonymous volumes and, when reference counts are known, unused ones."""
    assert summarize_volumes(VolumesResult(rows=volumes())) == "5 volumes: 1 anonymous, 3 unused"
    plain = VolumesResult(rows=(VolumeRow(name="data", driver="local"),))
    assert summarize_volumes(plain) == "1 volume"
    assert summarize_volumes(VolumesResult(rows=())) == "0 volumes"


def test_compose_ls_summary() -> None:
    """summarize_compose_ls counts projects and their containers by state."""
    result = ComposeLsResult(projects=compose_projects())
    assert (
        summarize_compose_ls(result)
        == "2 projects, 5 containers: 3 running (1 unhealthy), 2 exited (1 non-zero)"
    )
    assert summarize_compose_ls(ComposeLsResult(projects=())) == "0 projects, 0 containers"


def test_ps_masks_secrets_in_the_command_column() -> None:
    """A password on a container's command line never reaches the table, whole or cut off."""
    row = replace(ps_result().rows[0], command="mysql -uroot -pSuperSecret123 shop")
    for no_trunc in (True, False):
        text = render_ps(replace(ps_result(no_trunc=no_trunc), rows=(row,)))
        assert "SuperSecret123" not in text
        assert "Supe" not in text
    assert '"mysql -uroot -p••• shop"' in render_ps(replace(ps_result(no_trunc=True), rows=(row,)))
