"""`port`, `top`, `image history`, `images PATTERN`: parsing and rendering, as the Docker CLI prints them."""

from __future__ import annotations

import pytest

from bot.commands import parse
from bot.errors import UsageError
from bot.models import HistoryResult, HistoryRow, PortMapping, PortResult, TopResult
from bot.policy.rules import Policy, Principal
from bot.render.result import render_result
from bot.render.table import render_history, render_port, render_top

NOW = 1_800_000_000.0
ANY_V4 = "0.0.0.0"  # noqa: S104 - a port binding as the engine reports it, nothing binds here
IMAGE_ID = "sha256:" + "bf9577315fdc" + "0" * 52


def one(text: str) -> tuple[str, dict[str, object]]:
    (command,) = parse(text)
    return command.spec.name, command.args.model_dump()


@pytest.mark.parametrize(
    ("text", "name", "expected"),
    [
        ("port web", "port", {"container": "web", "port": None}),
        ("container port web 80", "port", {"container": "web", "port": "80"}),
        ("docker port web 53/udp", "port", {"container": "web", "port": "53/udp"}),
        ("top web", "top", {"container": "web"}),
        ("container top web-1", "top", {"container": "web-1"}),
        ("image history app:1.0", "image history", {"image": "app:1.0", "human": True}),
        ("history -q --no-trunc app", "image history", {"quiet": True, "no_trunc": True}),
        ("history --human=false app", "image history", {"human": False}),
        ("images 'web-*'", "images", {"reference": "web-*"}),
        ("images 'repo:*'", "images", {"reference": "repo:*"}),
    ],
)
def test_parses(text: str, name: str, expected: dict[str, object]) -> None:
    got_name, args = one(text)
    assert got_name == name
    assert expected.items() <= args.items()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("port web abc", "invalid port (abc)"),
        ("port web 70000", "invalid port (70000)"),
        ("port web 80/TCP", "invalid port (80)"),
        ("port web '80/tcp x'", "invalid port (80)"),
        ("port 'we b'", "not a valid container name"),
        # ps options would run as `ps` arguments on the engine's host: none is taken
        ("top web aux", "requires exactly 1 argument"),
        ("top web -ef", "unknown shorthand flag"),
        ("history 'app:1.0 x'", "not a valid image reference"),
        ("history", "requires exactly 1 argument"),
        ("images 'web-$(id)'", "not a valid image reference or pattern"),
        ("images '../x'", "not a valid image reference or pattern"),
        ("images 'a b'", "not a valid image reference or pattern"),
    ],
)
def test_refused(text: str, message: str) -> None:
    with pytest.raises(UsageError) as caught:
        parse(text)
    assert message in caught.value.message


def test_port_lines_in_natural_order_with_ipv6_brackets() -> None:
    result = PortResult(
        container="web",
        mappings=(
            PortMapping("8080/tcp", ANY_V4, "19000"),
            PortMapping("900/tcp", "::", "18080"),
            PortMapping("900/tcp", ANY_V4, "18080"),
            PortMapping("53/udp", "127.0.0.1", "32768"),
        ),
    )
    assert render_port(result).splitlines() == [
        "53/udp -> 127.0.0.1:32768",
        "900/tcp -> 0.0.0.0:18080",
        "900/tcp -> [::]:18080",
        "8080/tcp -> 0.0.0.0:19000",
    ]


def test_one_port_prints_only_the_host_side_and_no_summary() -> None:
    result = PortResult(
        container="web",
        mappings=(PortMapping("80/tcp", "::", "8080"), PortMapping("80/tcp", ANY_V4, "8080")),
        private="80/tcp",
    )
    rendered = render_result(result)
    assert rendered.summary is None
    assert rendered.kind == "text"  # no header line for Slack to repeat atop each chunk
    assert rendered.body == "0.0.0.0:8080\n[::]:8080"


def test_top_is_tabwriter_min_width_20_and_masks_the_command() -> None:
    result = TopResult(
        container="db",
        titles=("UID", "PID", "PPID", "C", "STIME", "TTY", "TIME", "CMD"),
        processes=(("root", "10473", "10453", "3", "18:04", "?", "00:00:00", "mysqld --password=hunter2"),),
    )
    lines = render_top(result).splitlines()
    assert lines[0] == "".join(t.ljust(20) for t in result.titles[:-1]) + "CMD"
    assert lines[1].startswith("root" + " " * 16 + "10473" + " " * 15)
    assert "hunter2" not in lines[1]
    assert render_result(result).summary == "1 process in db"


def _history(**kwargs: bool) -> HistoryResult:
    rows = (
        HistoryRow(
            IMAGE_ID,
            int(NOW) - 3 * 7 * 86_400,
            "sh -c echo hi > /f; dd if=/dev/zero of=/big bs=1k",
            1_536_003,
            "a comment",
        ),
        HistoryRow("<missing>", int(NOW) - 3600, '/bin/sh -c #(nop)\tCMD ["sh"]', 0),
    )
    return HistoryResult(image="app:1.0", rows=rows, now=NOW, **kwargs)


def test_history_table_as_the_cli_prints_it() -> None:
    assert render_history(_history()).splitlines() == [
        "IMAGE          CREATED             CREATED BY                                      "
        "SIZE      COMMENT",
        "bf9577315fdc   3 weeks ago         sh -c echo hi > /f; dd if=/dev/zero of=/big …   "
        "1.54MB    a comment",
        '<missing>      About an hour ago   /bin/sh -c #(nop) CMD ["sh"]                    0B        ',
    ]


def test_history_no_trunc_quiet_and_not_human() -> None:
    assert render_history(_history(quiet=True)).splitlines() == ["bf9577315fdc", "<missing>"]
    assert render_history(_history(quiet=True, no_trunc=True)).splitlines() == [IMAGE_ID, "<missing>"]
    wide = render_history(_history(no_trunc=True)).splitlines()
    assert "dd if=/dev/zero of=/big bs=1k" in wide[1]
    raw = render_history(_history(human=False)).splitlines()
    assert raw[0].startswith("IMAGE          CREATED AT             CREATED BY")
    assert raw[1].split()[1] == "2026-12-25T08:00:00Z"
    assert "   1536003   a comment" in raw[1]


def test_the_new_reads_are_reads_for_everyone_by_default() -> None:
    policy = Policy.default()
    for name in ("port", "top", "image history"):
        decision = policy.decide(Principal("U1", "C1"), command=name, action_class="read", host="local")
        assert decision.allowed, decision.reason
