"""Notification rules: every kind, route matching, opt-out and mute, restart-loop episodes, config errors.

How fast the rules are, and a restart loop through the outbox to a fake Slack, are in
tests/component/test_notify_rules_timing.py."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
from notify_events import CID, HOST, OTHER, crash, event, make_rules, run

from bot.errors import ConfigError
from bot.models import Notification
from bot.notify.events import DockerEvent, since_param
from bot.notify.messages import outgoing_messages
from bot.notify.rules import NS, Rules, RuleState
from bot.render.blocks.notification import notification_blocks
from bot.settings import NotifyConfig
from bot.startup import read_checked


def kinds(notes: list[Notification]) -> list[str]:
    """The kinds, in order."""
    return [n.kind for n in notes]


# ---- every kind ----------------------------------------------------------------------------------------


def test_non_zero_exit_is_died_with_code_keys_and_digest_line() -> None:
    """A die with exitCode 137 is one "died" with name, image, code, channel and the event's dedupe key."""
    rules, state = make_rules(), RuleState()
    started, note = run(rules, state, event("start", 1), event("die", 2, exitCode="137"))
    assert started.kind == "started"
    assert note.kind == "died"
    assert (note.container, note.container_id, note.image) == ("web-1", CID, "shop/web:1.2")
    assert note.exit_code == 137
    assert not note.oom_killed
    assert note.channels == ("C0ALERTS",)
    assert note.dedupe_key == f"{HOST}:{CID}:die:{2 * NS}"
    assert note.digest_line == "web-1 (137)"
    assert note.summary == "web-1 exited (137)"


def test_zero_exit_and_exit_after_docker_stop_are_stopped() -> None:
    """Exit 0 is "stopped"; so is a non-zero exit that a kill (docker stop/kill) caused."""
    rules, state = make_rules(), RuleState()
    notes = run(
        rules,
        state,
        event("die", 1, exitCode="0"),
        event("start", 2),
        event("kill", 3, signal="15"),
        event("die", 4, exitCode="143"),
    )
    assert kinds(notes) == ["stopped", "started", "stopped"]
    assert notes[2].exit_code == 143


def test_oom_then_die_is_one_oom_notification_also_for_died_routes() -> None:
    """An oom event before the exit makes one "oom" (OOMKilled) that a route naming only "died" receives."""
    rules, state = make_rules({"channel": "C0DIED", "events": ["died"]}), RuleState()
    (note,) = run(rules, state, event("start", 1), event("oom", 2), event("die", 2.01, exitCode="137"))
    assert (note.kind, note.oom_killed, note.exit_code, note.channels) == ("oom", True, 137, ("C0DIED",))
    assert note.digest_line == "web-1 (OOM)"


def test_oom_the_container_survives_is_reported_after_a_grace_period() -> None:
    """An oom event with no exit (a child process was killed) is reported by tick two seconds later."""
    rules, state = make_rules(), RuleState()
    assert kinds(run(rules, state, event("start", 1), event("oom", 10))) == ["started"]
    assert rules.tick(HOST, int(11 * NS), state) == []
    (note,) = rules.tick(HOST, int(12.5 * NS), state)
    assert (note.kind, note.exit_code, note.oom_killed) == ("oom", None, True)
    assert rules.tick(HOST, int(20 * NS), state) == []
    assert state.watched == set()


def test_started_only_for_routes_that_ask_for_it() -> None:
    """A start is announced to routes listing "started" and to no other."""
    rules = make_rules(
        {"channel": "C0START", "events": ["started"]}, {"channel": "C0DIED", "events": ["died"]}
    )
    (note,) = run(rules, RuleState(), event("start", 1))
    assert (note.kind, note.channels) == ("started", ("C0START",))


def test_unhealthy_opens_an_episode_and_healthy_recovers_it() -> None:
    """Unhealthy is announced once per spell; healthy again is "recovered" editing that message."""
    rules, state = make_rules(), RuleState()
    notes = run(
        rules,
        state,
        event("start", 1),
        event("health_status: healthy", 2),
        event("health_status: unhealthy", 3),
        event("health_status: unhealthy", 4),
        event("exec_start: cat /healthy", 4.5),
        event("health_status: healthy", 5),
        event("health_status: healthy", 6),
    )
    assert kinds(notes) == ["started", "unhealthy", "recovered"]
    unhealthy, recovered = notes[1], notes[2]
    assert unhealthy.episode_key == f"{HOST}:{CID}:unhealthy:{3 * NS}"
    assert recovered.update_key == unhealthy.episode_key
    assert recovered.summary == "web-1 recovered"


def test_recovered_goes_where_the_episode_went_and_to_recovered_routes() -> None:
    """The recovery edit reaches the unhealthy route's channel and any route listing "recovered"."""
    rules = make_rules(
        {"channel": "C0SICK", "events": ["unhealthy"]}, {"channel": "C0GOOD", "events": ["recovered"]}
    )
    notes = run(rules, RuleState(), event("health_status: unhealthy", 1), event("health_status: healthy", 2))
    assert [(n.kind, n.channels) for n in notes] == [
        ("unhealthy", ("C0SICK",)),
        ("recovered", ("C0SICK", "C0GOOD")),
    ]


def test_image_delete_is_image_removed() -> None:
    """An image delete event becomes "image_removed" naming the image."""
    rules = make_rules()
    image = DockerEvent(HOST, "image", "delete", "sha256:" + "c" * 64, {"name": "shop/web:1.1"}, 5 * NS)
    (note,) = rules.evaluate(image, RuleState())
    assert (note.kind, note.image, note.container_id) == ("image_removed", "shop/web:1.1", "")
    assert note.summary == "image shop/web:1.1 was removed"


def test_events_the_rules_do_not_read_make_nothing() -> None:
    """Network, exec and attach events, and an image untag, are ignored."""
    rules, state = make_rules(), RuleState()
    others = [
        event("exec_create: sh", 1),
        event("attach", 2),
        DockerEvent(HOST, "network", "connect", "n" * 64, {"container": CID}, 3),
        DockerEvent(HOST, "image", "untag", "sha256:x", {"name": "x"}, 4),
    ]
    assert run(rules, state, *others) == []


def test_away_events_say_so() -> None:
    """A change found by a re-list reads "while the bot was away, web-1 exited (137)"."""
    rules, state = make_rules(), RuleState()
    (note,) = run(rules, state, event("die", 9, away=True, exitCode="137"))
    assert note.away
    assert note.summary == "while the bot was away, web-1 exited (137)"
    assert note.dedupe_key.endswith(":away")


# ---- routes ------------------------------------------------------------------------------------------


def test_routes_match_hosts_container_globs_labels_and_projects() -> None:
    """Host globs, name globs, label: and project: patterns pick the channels; each channel once."""
    rules = make_rules(
        {"channel": "C0PROD", "events": ["died"], "hosts": ["prod-*"], "containers": ["web-*"]},
        {"channel": "C0TEAM", "events": ["died"], "containers": ["label:team=shop"]},
        {"channel": "C0PROJ", "events": ["died"], "containers": ["project:shop"]},
        {"channel": "C0PROD", "events": ["died"], "hosts": ["prod-1"], "containers": ["*"]},
        {"channel": "C0STAGE", "events": ["died"], "hosts": ["stage-*"]},
    )
    labelled = event("die", 1, exitCode="1", team="shop", **{"com.docker.compose.project": "shop"})
    (note,) = rules.evaluate(labelled, RuleState())
    assert note.channels == ("C0PROD", "C0TEAM", "C0PROJ")
    (db,) = rules.evaluate(event("die", 1, cid=OTHER, name="db-1", exitCode="1"), RuleState())
    assert db.channels == ("C0PROD",)
    assert rules.evaluate(event("die", 1, host="dev-1", name="db", exitCode="1"), RuleState()) == []


def test_no_route_no_notification() -> None:
    """Without any route nothing is announced, whatever happens."""
    rules = Rules(NotifyConfig())
    state = RuleState()
    assert run(rules, state, event("start", 1), event("die", 2, exitCode="1")) == []


def test_label_opt_out_is_never_announced() -> None:
    """A container labelled chatops.notify=false is never announced; chatops.notify=true is."""
    rules, state = make_rules(), RuleState()
    quiet = {"chatops.notify": "false"}
    assert run(rules, state, event("start", 1, **quiet), event("die", 2, exitCode="1", **quiet)) == []
    loud = event("die", 3, cid=OTHER, exitCode="1", **{"chatops.notify": "true"})
    assert kinds(rules.evaluate(loud, state)) == ["died"]


class Mutes:
    """A MuteStore holding (host, container name) pairs; records every question."""

    def __init__(self, *muted: tuple[str, str]) -> None:
        self.muted = set(muted)
        self.asked: list[tuple[str, str]] = []

    def is_muted(self, host: str, container: str) -> bool:
        """True for a muted pair."""
        self.asked.append((host, container))
        return (host, container) in self.muted


def test_muted_containers_are_never_announced() -> None:
    """A muted container's notification is muted; others on the same host are not."""
    mutes = Mutes((HOST, "web-1"))
    rules, state = make_rules(mutes=mutes), RuleState()
    (muted,) = run(rules, state, event("die", 1, exitCode="1"))
    (loud,) = run(rules, state, event("die", 2, cid=OTHER, name="db-1", exitCode="1"))
    assert (rules.muted(muted), rules.muted(loud)) == (True, False)
    assert mutes.asked == [(HOST, "web-1"), (HOST, "db-1")]


def test_evaluate_never_asks_the_mute_store() -> None:
    """The event reader never waits on the mute database: only the delivery side asks `muted`."""
    mutes = Mutes((HOST, "web-1"))
    rules, state = make_rules(mutes=mutes), RuleState()
    run(rules, state, event("start", 0), event("die", 1, exitCode="1"), event("health_status: unhealthy", 2))
    rules.tick(HOST, 60 * NS, state)
    assert mutes.asked == []
    image_note = Notification("image_removed", HOST, "", "", "x", ("C0ALERTS",), 0, "k")
    assert not rules.muted(image_note)


# ---- restart loops -----------------------------------------------------------------------------------


def test_restart_loop_is_one_episode_with_updates_then_recovered() -> None:
    """Three restarts in the window open one episode; later deaths are thread updates; stable: recovered."""
    rules, state = make_rules(), RuleState()
    notes = run(rules, state, event("start", 0), *crash(1), *crash(2))
    assert kinds(notes) == ["started", "died", "started", "died", "started"]
    (loop,) = run(rules, state, *crash(3))[1:]
    assert loop.kind == "restart_loop"
    assert loop.restart_count == 3
    assert loop.episode_key == f"{HOST}:{CID}:restart_loop:{int(1.1 * NS)}"
    assert loop.digest_line == "web-1 (3 restarts)"
    updates = run(rules, state, *crash(4, "2"), *crash(5))
    assert kinds(updates) == ["restart_loop_update", "restart_loop_update"]
    assert [u.restart_count for u in updates] == [4, 5]
    assert {u.thread_key for u in updates} == {loop.episode_key}
    assert updates[0].exit_code == 2
    assert rules.tick(HOST, int(20 * NS), state) == []  # up 14.9 s: not yet stable
    (recovered,) = rules.tick(HOST, int(35.2 * NS), state)
    assert (recovered.kind, recovered.update_key, recovered.restart_count) == (
        "recovered",
        loop.episode_key,
        5,
    )
    assert rules.tick(HOST, int(60 * NS), state) == []
    assert state.open_episodes() == []
    # A new loop later is a new episode.
    later = run(rules, state, *crash(100), *crash(101), *crash(102))
    assert kinds(later)[-1] == "restart_loop"
    assert later[-1].episode_key != loop.episode_key


def test_restarts_spread_wider_than_the_window_never_make_a_loop() -> None:
    """Restarts further apart than `within` are plain deaths and starts."""
    rules, state = make_rules(within="10s"), RuleState()
    notes = run(rules, state, *crash(0), *crash(11), *crash(22), *crash(33))
    assert "restart_loop" not in kinds(notes)
    assert kinds(notes).count("died") == 4


def test_docker_restart_by_hand_is_no_restart_loop() -> None:
    """Restarts after a kill (docker restart) are asked for: they never count toward a loop."""
    rules, state = make_rules(), RuleState()
    by_hand = []
    for t in range(1, 6):
        by_hand += [
            event("kill", t, signal="15"),
            event("die", t + 0.1, exitCode="143"),
            event("start", t + 0.2),
        ]
    assert "restart_loop" not in kinds(run(rules, state, *by_hand))


def test_stopping_a_looping_container_ends_the_episode_quietly() -> None:
    """docker stop during an episode ends it with "stopped", and no recovered ever follows."""
    rules, state = make_rules(), RuleState()
    run(rules, state, *crash(1), *crash(2), *crash(3))
    notes = run(rules, state, event("kill", 4, signal="15"), event("die", 4.1, exitCode="143"))
    assert kinds(notes) == ["stopped"]
    assert rules.tick(HOST, int(100 * NS), state) == []
    assert state.open_episodes() == []


def test_loop_episode_respects_routes_and_destroy_forgets_everything() -> None:
    """With no route for restart_loop nothing of the episode is announced; destroy drops the memory."""
    rules, state = make_rules({"channel": "C0DIED", "events": ["died"]}), RuleState()
    notes = run(rules, state, *crash(1), *crash(2), *crash(3), *crash(4))
    assert kinds(notes) == ["died", "died", "died"]
    run(rules, state, event("destroy", 5))
    assert CID not in state.containers
    assert state.watched == set()


# ---- models ------------------------------------------------------------------------------------------


def test_event_from_api_reads_only_the_fields_every_version_sends() -> None:
    """Type, Action, Actor.ID, Actor.Attributes and timeNano; labels are the attributes Docker did not add."""
    raw = {
        "Type": "container",
        "Action": "die",
        "Actor": {"ID": CID, "Attributes": {"name": "web-1", "image": "x", "exitCode": "3", "team": "a"}},
        "timeNano": 1_700_000_000_123_456_789,
    }
    parsed = DockerEvent.from_api(HOST, raw)
    assert parsed.key == (CID, "die", 1_700_000_000_123_456_789)
    assert (parsed.exit_code, parsed.name, parsed.labels) == (3, "web-1", {"team": "a"})
    assert since_param(parsed.time_nano) == "1700000000.123456789"
    assert since_param(5 * NS + 7) == "5.000000007"
    empty = DockerEvent.from_api(HOST, {"Actor": None})
    assert (empty.type, empty.actor_id, empty.time_nano, empty.exit_code) == ("", "", 0, None)


# ---- configuration -----------------------------------------------------------------------------------

GOOD = """
[[notify.routes]]
channel = "C0ALERTS"
events = ["died", "oom", "unhealthy", "restart_loop"]
hosts = ["*"]
containers = ["*"]

[notify]
restart_loop = { restarts = 3, within = "5m" }
"""


def test_the_documented_example_loads(tmp_path: Path) -> None:
    """The TOML of the issue loads into routes and restart-loop thresholds the rules use."""
    path = tmp_path / "chatops.toml"
    path.write_text(GOOD, encoding="utf-8")
    config = read_checked(path)
    rules = Rules(config.notify)
    assert rules.routes[0].channel == "C0ALERTS"
    assert (rules.loop_restarts, rules.loop_within_ns, rules.stable_ns) == (3, 300 * NS, 30 * NS)


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        (
            '[[notify.routes]]\nchannel = "C0A"\nevents = ["dead"]\n',
            "notify.routes.1.events: unknown event 'dead'; known: died, oom,",
        ),
        (
            '[[notify.routes]]\nchannel = "C0A"\ncontainers = ["team=shop"]\n',
            "notify.routes.1.containers: 'team=shop' is not a name glob",
        ),
        (
            '[[notify.routes]]\nchannel = "C0A"\ncontainers = ["label:"]\n',
            "notify.routes.1.containers: 'label:' needs a key",
        ),
        ('[[notify.routes]]\nchannel = "C0A"\nhosts = ["prod-[1"]\n', "notify.routes.1.hosts: unclosed '['"),
        (
            '[[notify.routes]]\nchannel = "#alerts"\n',
            "notify.routes.1.channel: '#alerts' is not a Slack channel",
        ),
        ('[[notify.routes]]\nchannel = "C0A"\nevents = []\n', "notify.routes.1.events: empty"),
        (
            '[notify]\nrestart_loop = { within = "5 minutes" }\n',
            "notify.restart_loop.within: '5 minutes' is not",
        ),
        ('[notify]\nrestart_loop = { stable = "0s" }\n', "notify.restart_loop.stable: '0s' must be longer"),
        ("[notify]\nrestart_loop = { restarts = 0 }\n", "notify.restart_loop.restarts: must be at least"),
        (
            '[[notify.routes]]\nchannel = "C0A"\nevent = ["died"]\n',
            'notify.routes.0.event: unknown key; did you mean "events"?',
        ),
    ],
)
def test_a_malformed_route_stops_start_up_with_one_line(tmp_path: Path, toml: str, message: str) -> None:
    """Unknown kinds, bad patterns, bad channels and bad durations are one ConfigError line naming the key."""
    path = tmp_path / "chatops.toml"
    path.write_text(toml, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        read_checked(path)
    text = str(caught.value)
    assert text.startswith(f"CHATOPS_CONFIG: {path}: ")
    assert message in text
    assert "\n" not in text


def test_an_episode_survives_a_snapshot_and_restore() -> None:
    """A restored memory goes on with the same episode: updates in its thread, the recovery edits it."""
    rules, state = make_rules(), RuleState()
    crashes = [event(a, t, exitCode="1") for n in range(3) for a, t in (("start", n), ("die", n + 0.5))]
    (opener,) = [n for n in run(rules, state, *crashes, event("start", 3)) if n.kind == "restart_loop"]
    restored = RuleState.restore(state.snapshot())
    assert restored.open_episodes() == state.open_episodes() == [opener.episode_key]
    (update,) = run(rules, restored, event("die", 3.5, exitCode="1"))
    assert (update.kind, update.thread_key, update.restart_count) == (
        "restart_loop_update",
        opener.episode_key,
        4,
    )
    assert run(rules, restored, event("start", 4)) == []
    (recovered,) = rules.tick(HOST, 40 * NS, restored)
    assert (recovered.kind, recovered.update_key) == ("recovered", opener.episode_key)


def test_the_snapshot_keeps_only_what_events_cannot_teach_again() -> None:
    """Quiet containers are not saved; an unreadable snapshot restores as an empty memory."""
    rules, state = make_rules(), RuleState()
    run(rules, state, event("start", 0), event("die", 1, cid=OTHER, exitCode="1"))
    assert state.snapshot() == "{}"
    run(rules, state, event("health_status: unhealthy", 2))
    assert list(RuleState.restore(state.snapshot()).containers) == [CID]
    for garbage in ("", "[1, 2]", '{"x": 5}', '{"x": {"restarts": ["a"]}}', '{"x": {"oom_at": "soon"}}'):
        assert RuleState.restore(garbage).containers == {}
    mixed = RuleState.restore(
        '{"good": {"health": "unhealthy", "loop_channels": ["C1"]}, "bad": {"labels": null},'
        ' "worse": {"loop_channels": "C123"}, "odd": {"running": 1}}'
    )
    assert list(mixed.containers) == ["good"]  # one bad entry costs only its own memory
    assert mixed.containers["good"].loop_channels == ("C1",)
    rules.tick(HOST, 60 * NS, mixed)  # and nothing restored can make `tick` fail


def test_old_restarts_are_forgotten_before_saving() -> None:
    """A container that restarted once is saved only while that restart could still open a loop."""
    rules, state = make_rules(), RuleState()
    run(rules, state, event("start", 0), event("die", 1, exitCode="1"), event("start", 2))
    assert list(RuleState.restore(state.snapshot(restarts_since=0)).containers) == [CID]
    assert state.snapshot(restarts_since=int(2 * NS) + 1) == "{}"


# ---- as Slack messages -------------------------------------------------------------------------------


def loop_notes(restarts: int) -> list[Notification]:
    """The notifications of a container that crashes `restarts` times in a row, then stays up 40 s."""
    rules, state = make_rules(), RuleState()
    notes = run(rules, state, event("start", 0))
    for n in range(restarts):
        notes += run(rules, state, *crash(1 + n * 0.1))
    notes += rules.tick(HOST, int((restarts * 0.1 + 40) * NS), state)
    return notes


def test_a_restart_loop_is_one_post_whose_counter_edits_share_one_merge_key() -> None:
    """The opener is a post remembered under the episode; each later restart is an edit of it that keeps
    its other blocks (log lines) and merges with the other edits; the recovery shares that key."""
    notes = loop_notes(6)
    assert kinds(notes)[-5:] == [
        "restart_loop",
        "restart_loop_update",
        "restart_loop_update",
        "restart_loop_update",
        "recovered",
    ]
    opener, *updates, recovered = (outgoing_messages(n)[0] for n in notes[-5:])
    key = opener.episode_key
    assert key == f"{notes[-5].episode_key}@C0ALERTS"
    assert (opener.update_key, opener.merge_key, opener.priority) == (None, None, 0)
    for n, update in enumerate(updates, start=4):
        assert (update.update_key, update.merge_key, update.thread_key, update.keep_blocks) == (
            key,
            key,
            None,
            True,
        )
        assert update.priority == 1
        assert update.text == f"web-1 is in a restart loop ({n} restarts)"
        assert [b["block_id"] for b in update.blocks or []] == ["headline", "facts", "notify"]
        assert "*last exit code* 1 · *restarts* " + str(n) in str(update.blocks)
    assert (recovered.update_key, recovered.merge_key, recovered.keep_blocks) == (key, key, False)
    assert recovered.text == "web-1 recovered"


def test_what_containers_print_and_name_is_escaped_in_text_and_blocks() -> None:
    """Log lines, image names and the fallback text carry no live mention, link or markup of their own."""
    rules, state = make_rules(), RuleState()
    (died,) = run(rules, state, event("die", 1, exitCode="3", image="<!channel>&co"))
    died = replace(died, log_tail=("ping <!here> & <https://evil.example|Approve>",))
    (message,) = outgoing_messages(died)
    dumped = json.dumps(message.blocks)
    for live in ("<!channel>", "<!here>", "<https://"):
        assert live not in dumped
    assert "&lt;!here&gt; &amp; &lt;https://evil.example|Approve&gt;" in dumped
    assert "`&lt;!channel&gt;&amp;co`" in dumped
    removed = DockerEvent(HOST, "image", "delete", "sha256:1", {"name": "x<@U1>"}, 5 * NS)
    (note,) = rules.evaluate(removed, state)
    (message,) = outgoing_messages(note)
    assert message.text == "image x&lt;@U1&gt; was removed"


def test_buttons_never_carry_a_name_that_is_not_a_container_name() -> None:
    """A name the engine would never give (a shadowed attribute, say) must not become a command: the buttons
    name the container by its full ID instead, and by nothing when the ID is not one either."""
    hostile = Notification(
        "died", HOST, "web && stop db", "f" * 64, "img", ("C0ALERTS",), 1, "k", exit_code=1
    )
    values = [
        json.loads(element["value"])["text"]
        for block in notification_blocks(hostile)
        if block["type"] == "actions"
        for element in block["elements"]
    ]
    assert values == [f"logs {'f' * 64} --tail 50", f"inspect {'f' * 64}", f"restart {'f' * 64}"]
    broken = replace(hostile, container_id="../x")
    assert not [b for b in notification_blocks(broken) if b["type"] == "actions"]
    plain = replace(hostile, container="web-1")
    assert any("restart web-1" in str(b) for b in notification_blocks(plain))
