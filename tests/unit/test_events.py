"""`events`: its WHEN values and bounded window, its filters, its lines as `docker events` prints them, its
`--format`, and the policy that asks for read on every container."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC
from zoneinfo import ZoneInfo

import pytest

from bot.commands import args as a
from bot.commands.catalog import CATALOG
from bot.commands.parser import parse
from bot.engine import Host
from bot.engine.convert import engine_event
from bot.engine.events import read_events
from bot.errors import UsageError
from bot.models import EngineEvent, EventsResult
from bot.policy import Policy, Principal
from bot.render import events as ev
from bot.render.result import render_result

NOW = 1_796_666_555.0  # 2026-12-07T18:02:35Z
CID = "3082ffec16f4001ef01779bff440fa62c023a38f7b3552e4f9c6e67a2a9c0a00"
START = {
    "status": "start",
    "id": CID,
    "from": "chatops-test/busybox:latest",
    "Type": "container",
    "Action": "start",
    "Actor": {
        "ID": CID,
        "Attributes": {
            "name": "evp2",
            "image": "chatops-test/busybox:latest",
            "chatops.test-image.recipe": "1",
        },
    },
    "scope": "local",
    "time": 1796666555,
    "timeNano": 1796666555778175356,
}


def _args(text: str) -> a.EventsArgs:
    (command,) = parse(text)
    assert isinstance(command.args, a.EventsArgs)
    return command.args


def _result(*events: EngineEvent, **extra: object) -> EventsResult:
    values: dict[str, object] = {
        "events": events,
        "since": NOW - 600,
        "until": NOW,
        "zone": UTC,
        "limit": a.MAX_EVENTS,
    }
    values |= extra
    return EventsResult(**values)  # type: ignore[arg-type]


# ---- the window --------------------------------------------------------------------------------------------


def test_defaults_are_the_last_ten_minutes_up_to_now() -> None:
    window = a.events_window(None, None, NOW)
    assert (window.since, window.until, window.clamped) == (NOW - 600, NOW, False)


@pytest.mark.parametrize(
    ("since", "until", "expected"),
    [
        ("10m", None, (NOW - 600, NOW)),
        ("1h", "50m", (NOW - 3600, NOW - 3000)),
        ("1796666000", "1796666300", (1796666000.0, 1796666300.0)),
        ("2026-12-07T17:55:00Z", "2026-12-07T18:00:00Z", (NOW - 455, NOW - 155)),
        ("2026-12-07T18:55:00+01:00", "0s", (NOW - 455, NOW)),
        (None, "5m", (NOW - 900, NOW - 300)),  # since: 10 minutes before until
    ],
)
def test_when_takes_what_the_cli_takes(
    since: str | None, until: str | None, expected: tuple[float, float]
) -> None:
    window = a.events_window(since, until, NOW)
    assert (window.since, window.until) == pytest.approx(expected)


def test_a_time_without_an_offset_is_read_in_the_zone() -> None:
    window = a.events_window("2026-12-07T18:55:00", "2026-12-07T19:00:00", NOW, ZoneInfo("Europe/Berlin"))
    assert window.since == pytest.approx(NOW - 455)


def test_an_until_in_the_future_is_now_never_a_following_stream() -> None:
    window = a.events_window("5m", "2026-12-07T19:00:00Z", NOW)
    assert (window.until, window.clamped) == (NOW, True)


@pytest.mark.parametrize(
    ("since", "until", "words"),
    [
        ("1h", None, "the window from --since to --until is 1h; events reads at most 10m"),
        ("20m", "9m", "is 11m"),
        ("2026-12-07T19:00:00Z", None, "in the future"),
        ("5m", "10m", "is after --until 10m"),
        ("yesterday", None, "expected a duration (10m, 1h30m), a Unix timestamp or an RFC 3339 time"),
        ("2026-02-30T00:00:00Z", None, "not a real date"),
    ],
)
def test_windows_it_refuses(since: str, until: str | None, words: str) -> None:
    with pytest.raises(ValueError, match=r".") as caught:
        a.events_window(since, until, NOW)
    assert words in str(caught.value)


def test_the_parser_refuses_a_long_window_with_the_usage_line() -> None:
    with pytest.raises(UsageError) as caught:
        parse("events --since 2h")
    assert "at most 10m" in caught.value.message
    assert caught.value.usage == "events [OPTIONS]"


def test_system_events_is_the_same_command() -> None:
    (command,) = parse("system events --since 5m -f type=container")
    assert command.spec.name == "events"
    assert command.args.filters == {"type": ("container",)}


# ---- filters -----------------------------------------------------------------------------------------------


def test_every_filter_of_the_cli_is_taken() -> None:
    args = _args(
        "events -f container=web -f event=die -f image=app:1.0 -f label=team=a -f network=shop_default "
        "-f type=network -f volume=data -f daemon=abc -f scope=local -f plugin=p -f node=n1 -f service=s "
        "-f config=c -f secret=s"
    )
    assert set(args.filters) == set(a.EventsArgs.filter_keys)


@pytest.mark.parametrize(
    ("flag", "words"),
    [
        ("bogus=1", "invalid filter 'bogus'"),
        ("type=bogus", "expected one of builder, config, container"),
        ("scope=global", "expected local or swarm"),
        ("event=Die Now", "expected an event name"),
        ("container=../web", "expected a container name or ID"),
        ("image=UPPER", "not an image reference"),
        ("network=a b", "expected a name or ID"),
        ("label==x", "expected KEY or KEY=VALUE"),
        ("container", "bad format of filter"),
    ],
)
def test_bad_filters_are_refused_before_docker(flag: str, words: str) -> None:
    with pytest.raises(UsageError) as caught:
        parse(f"events -f '{flag}'")
    assert words in caught.value.message


# ---- the lines ---------------------------------------------------------------------------------------------


def test_a_line_is_the_clis_line() -> None:
    line = ev.event_line(engine_event(START), UTC)
    assert line == (
        f"2026-12-07T18:02:35.778175356Z container start {CID} "
        "(chatops.test-image.recipe=1, image=chatops-test/busybox:latest, name=evp2)"
    )


def test_times_print_in_the_zone_with_nine_digits() -> None:
    assert ev.event_time(1796666555, 5, ZoneInfo("Europe/Berlin")) == "2026-12-07T19:02:35.000000005+01:00"
    assert ev.event_time(1796666555, 0, ZoneInfo("America/New_York")).endswith(".000000000-05:00")
    assert ev.event_time(1796666555, 0, ZoneInfo("Europe/London")).endswith("Z")  # Go: zero offset is Z


def test_an_event_without_attributes_or_time() -> None:
    bare = EngineEvent(type="daemon", action="reload", actor_id="X", attributes={})
    assert ev.event_line(bare, UTC) == "daemon reload X"
    old = EngineEvent(type="image", action="pull", actor_id="busybox", attributes={}, time=1796666555)
    assert ev.event_line(old, UTC) == "2026-12-07T18:02:35.000000000Z image pull busybox"


def test_user_text_is_masked_and_stays_on_one_line() -> None:
    hostile = EngineEvent(
        type="container",
        action="exec_create: mysql -uroot -phunter2",
        actor_id=CID,
        attributes={"name": "web\n2026-01-01T00:00:00Z container start fake", "secret": "password=hunter2"},
        time_nano=1796666555000000000,
    )
    line = ev.event_line(hostile, UTC)
    assert "\n" not in line
    assert "hunter2" not in line
    assert "-p•••" in line
    assert "password=•••" in line


def test_the_summary_and_an_honest_truncation_line() -> None:
    events = tuple(engine_event(START) for _ in range(3))
    rendered = render_result(_result(*events, truncated=True, limit=3))
    assert rendered.summary == "more than 3 events from 17:52:35 to 18:02:35 UTC"
    assert rendered.body.splitlines()[-1] == (
        "(more than 3 events in this window: only the first 3 are shown; narrow --since/--until or add -f "
        "filters)"
    )
    assert render_result(_result()).summary == "no events from 17:52:35 to 18:02:35 UTC"
    clamped = render_result(_result(engine_event(START), clamped=True)).summary or ""
    assert clamped.startswith("1 event from")
    assert "--until was in the future" in clamped


# ---- --format ----------------------------------------------------------------------------------------------


def test_format_fields_as_the_cli_shows_them() -> None:
    fmt = (
        '{{.Type}}\\t{{.Action}}|{{.Actor.Attributes.nokey}}|{{index .Actor.Attributes "nokey"}}|'
        "{{.Actor.Attributes.name}}|{{len .Actor.Attributes}}|{{.Status}}|{{.From}}|{{.Scope}}|{{.TimeNano}}"
    )
    rendered = render_result(_result(engine_event(START), format=_args(f"events --format '{fmt}'").format))
    assert rendered.summary is None
    assert rendered.body == (
        "container\\tstart|<no value>||evp2|3|start|chatops-test/busybox:latest|local|1796666555778175356"
    )


def test_format_json_is_the_message_in_go_order() -> None:
    body = render_result(_result(engine_event(START), format="json")).body
    assert body == (
        f'{{"status":"start","id":"{CID}","from":"chatops-test/busybox:latest","Type":"container",'
        f'"Action":"start","Actor":{{"ID":"{CID}","Attributes":{{"chatops.test-image.recipe":"1",'
        '"image":"chatops-test/busybox:latest","name":"evp2"}},"scope":"local","time":1796666555,'
        '"timeNano":1796666555778175356}'
    )
    network = dict(START, Type="network", Action="connect")
    for key in ("status", "id", "from"):
        network.pop(key)
    assert render_result(_result(engine_event(network), format="json")).body.startswith('{"Type":"network"')


def test_format_values_are_masked() -> None:
    leaky = dict(START, Actor={"ID": CID, "Attributes": {"env": "password=hunter2"}})
    body = render_result(
        _result(engine_event(leaky), format="{{json .Actor}} {{.Actor.Attributes.env}}")
    ).body
    assert "hunter2" not in body


def test_a_bad_format_is_worded_as_docker_events_words_it() -> None:
    with pytest.raises(UsageError) as caught:
        parse("events --format '{{.Foo}}'")
    assert caught.value.message == (
        'Error parsing format: template: :1:2: executing "" at <.Foo>: can\'t evaluate field Foo in type '
        "*events.Message"
    )
    with pytest.raises(UsageError) as unclosed:
        parse("events --format '{{'")
    assert unclosed.value.message == "Error parsing format: template: :1: unclosed action"


# ---- policy ------------------------------------------------------------------------------------------------


def _decide(bindings: list[dict[str, object]], user: str = "U0ANY") -> tuple[bool, str]:
    policy = Policy.from_config({"viewer": {"allow": ["read"]}}, bindings)
    decision = policy.decide(
        Principal(user_id=user, channel_id="C0OPS"), command="events", action_class="read", host="prod"
    )
    return decision.allowed, decision.reason


def test_events_needs_read_on_every_container() -> None:
    """Events name every container of the host: a read binding scoped to some containers does not grant
    them (ps, whose rows are the host's too, is not container-scoped; events also tell removed containers'
    names, labels and exec commands), and help lists events only where it may run."""
    assert _decide([{"role": "viewer", "users": ["*"]}])[0]
    allowed, reason = _decide([{"role": "viewer", "users": ["*"], "containers": ["web-*"]}])
    assert not allowed
    assert 'events needs "read" on every container of host prod' in reason
    scoped = Policy.from_config(
        {"viewer": {"allow": ["read"]}}, [{"role": "viewer", "users": ["*"], "containers": ["web-*"]}]
    )
    spec = CATALOG.get("events")
    assert spec is not None
    principal = Principal(user_id="U0ANY", channel_id="C0OPS")
    assert not scoped.can(principal, spec, "prod")
    ps = CATALOG.get("ps")
    assert ps is not None
    assert scoped.can(principal, ps, "prod")


def test_the_default_policy_lets_everyone_read_events() -> None:
    decision = Policy.default().decide(
        Principal(user_id="U0ANY", channel_id="C0OPS"), command="events", action_class="read", host="prod"
    )
    assert decision.allowed


# ---- reading -----------------------------------------------------------------------------------------------


def test_the_stream_is_read_up_to_its_limit_then_closed() -> None:
    """One more than the limit is read (to know there were more), then the stream is closed."""

    class Stream:
        closed = False

        def __init__(self) -> None:
            self.read = 0

        def __iter__(self) -> Iterator[dict[str, object]]:
            while True:
                self.read += 1
                yield dict(START)

        def close(self) -> None:
            Stream.closed = True

    stream = Stream()
    items = read_events(Host("h", "unix:///nowhere", 1.0), stream, a.MAX_EVENTS + 1)
    assert len(items) == a.MAX_EVENTS + 1
    assert stream.read == a.MAX_EVENTS + 1
    assert Stream.closed
