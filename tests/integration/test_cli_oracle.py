"""The bot's tables against the Docker CLI's on the same engine: same rows, same text, same alignment.

Whole outputs are compared (every object on the engine, not only the zoo's), each bot line against the CLI's
line just before or just after it, so only the clock may differ.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import pytest

from ._oracle import HEADERS, compare, run_docker
from .world import Zoo


def _column(lines: list[str], header: str, name: str) -> str:
    """The row of `lines` whose NAMES (or last) column is `name`."""
    rows = [line for line in lines[1:] if line.split()[-1] == name]
    assert rows, f"{name} is not in the table:\n" + "\n".join(lines)
    return rows[0]


def test_zoo_states_as_the_cli_sees_them(zoo: Zoo) -> None:
    """The zoo holds, according to the Docker CLI, a container in every state the bot must print."""
    out = run_docker(
        "ps",
        "-a",
        "--no-trunc",
        "-f",
        f"name={zoo.prefix}",
        "--format",
        "{{.Names}}\t{{.Status}}\t{{.Ports}}",
    ).stdout
    rows = {name: (status, ports) for name, status, ports in (line.split("\t") for line in out.splitlines())}
    assert set(rows) == set(zoo.containers)
    expected_status = {
        zoo.created: r"Created",
        zoo.web: r"Up .*",
        zoo.exited0: r"Exited \(0\) .*",
        zoo.exited3: r"Exited \(3\) .*",
        zoo.paused: r"Up .* \(Paused\)",
        zoo.restarting: r"(Restarting \(1\)|Up) .*",
        zoo.healthy: r"Up .* \(healthy\)",
        zoo.unhealthy: r"Up .* \(unhealthy\)",
        zoo.shop_web: r"Up .*",
        zoo.shop_db: r"Exited \(0\) .*",
    }
    for name, pattern in expected_status.items():
        assert re.fullmatch(pattern, rows[name][0]), (name, rows[name])
    web_ports = rows[zoo.web][1]
    assert re.search(r"127\.0\.0\.1:\d+->80/tcp", web_ports), web_ports
    assert re.search(r"0\.0\.0\.0:\d+->53/udp", web_ports), web_ports
    assert re.search(r"(^|, )443/tcp", web_ports), web_ports

    images = run_docker("images", "--format", "{{.Repository}}:{{.Tag}} {{.ID}}").stdout.splitlines()
    assert {*zoo.app_tags, zoo.base_tag} <= {line.split()[0] for line in images}
    dangling = run_docker("images", "-q", "--no-trunc", "-f", "dangling=true").stdout.split()
    assert zoo.dangling_id in dangling
    volumes = run_docker("volume", "ls", "-q").stdout.split()
    assert {zoo.named_volume, zoo.spare_volume, zoo.anonymous_volume} <= set(volumes)


@dataclass(frozen=True)
class Listing:
    """One listing both tools print: the docker arguments, the bot text, and what of the zoo must show."""

    docker_args: tuple[str, ...]
    bot_text: str
    header: str | None
    zoo_rows: Callable[[Zoo], Iterable[str]]
    zoo_absent: Callable[[Zoo], Iterable[str]] = lambda _zoo: ()


def _short(image_id: str) -> str:
    return image_id.removeprefix("sha256:")[:12]


QUOTED_NO_TRUNC = '"sh -c \'echo \\"hello world\\" && sleep 1000\'"'
RUNNING = ("web", "paused", "healthy", "unhealthy", "quoted", "logger", "shop_web")

LISTINGS = [
    Listing(("ps", "-a"), "ps -a", HEADERS["ps"], lambda z: z.containers),
    Listing(("ps", "-a", "-s"), "ps -a -s", HEADERS["ps"], lambda z: z.containers),
    Listing(
        ("ps", "-a", "--no-trunc"),
        "ps -a --no-trunc",
        HEADERS["ps"],
        lambda z: [*z.containers, QUOTED_NO_TRUNC],
    ),
    Listing(
        ("ps",),
        "ps",
        HEADERS["ps"],
        lambda z: [getattr(z, role) for role in RUNNING],
        lambda z: [z.created, z.exited0, z.exited3, z.shop_db],
    ),
    Listing(("ps", "-q", "-a"), "ps -q -a", None, lambda z: [_short(i) for i in z.container_ids]),
    Listing(
        ("images",),
        "images",
        HEADERS["images"],
        lambda z: [f"{z.prefix}app", f"{z.prefix}other", f"{z.prefix}base"],
    ),
    Listing(
        ("images", "-a"), "images -a", HEADERS["images"], lambda z: [f"{z.prefix}app", _short(z.dangling_id)]
    ),
    Listing(
        ("images", "-f", "dangling=true"),
        "images -f dangling=true",
        HEADERS["images"],
        lambda z: [_short(z.dangling_id)],
        lambda z: [f"{z.prefix}app"],
    ),
    Listing(
        ("system", "df"),
        "system df",
        HEADERS["system df"],
        lambda _z: ["Images", "Containers", "Local Volumes"],
    ),
    Listing(
        ("system", "df", "-v"),
        "system df -v",
        HEADERS["system df -v"],
        lambda z: [f"{z.prefix}app", z.web, z.created, z.named_volume, z.anonymous_volume],
    ),
    Listing(
        ("volume", "ls"),
        "volume ls",
        HEADERS["volume ls"],
        lambda z: [z.named_volume, z.spare_volume, z.anonymous_volume],
    ),
    Listing(
        ("volume", "ls", "-f", "dangling=true"),
        "volume ls -f dangling=true",
        HEADERS["volume ls"],
        lambda z: [z.spare_volume],
        lambda z: [z.named_volume, z.anonymous_volume],
    ),
]


@pytest.mark.parametrize("listing", LISTINGS, ids=[listing.bot_text for listing in LISTINGS])
def test_bot_table_equals_docker_cli(zoo: Zoo, listing: Listing) -> None:
    """The bot prints exactly the lines the Docker CLI prints for the same listing, up to the moving clock."""
    comparison = compare(listing.docker_args, listing.bot_text, listing.header)
    assert not comparison.mismatches, comparison.explain()
    shown = "\n".join(comparison.bot)
    for expected in listing.zoo_rows(zoo):
        assert expected in shown, f"{expected!r} missing from the bot's output\n{comparison.explain()}"
    for unexpected in listing.zoo_absent(zoo):
        assert unexpected not in shown, f"{unexpected!r} should not be listed\n{comparison.explain()}"
