"""Facts of an event come from the engine, never from an attribute a label can shadow; a saved notification
reads back as it was written."""

from __future__ import annotations

import pytest

from bot.models import ContainerState, Notification
from bot.notify.events import (
    DockerEvent,
    engine_time,
    exit_code_at,
    trusted_event,
)
from bot.notify.rules import NS, Rules, RuleState
from bot.settings import NotifyConfig

HOST = "prod-1"
CID = "c" * 64
IMAGE = "shop/web:1.2"


def raw_event(action: str, labels: dict[str, str], **own: str) -> DockerEvent:
    """A container event as Docker 20.10 builds it: the event's own attributes, the labels copied over them,
    then `name` and `image` written by the daemon."""
    attributes = {**own, **labels, "name": "web-1", "image": IMAGE}
    return DockerEvent.from_api(
        HOST,
        {
            "Type": "container",
            "Action": action,
            "Actor": {"ID": CID, "Attributes": attributes},
            "timeNano": 5 * NS,
        },
    )


def known(labels: dict[str, str], name: str = "web-1", image: str = IMAGE) -> ContainerState:
    """What a list call said of the container."""
    return ContainerState(CID, name, image, "running", labels=labels)


def rules() -> Rules:
    """One route taking deaths and clean stops of every container."""
    config = NotifyConfig.model_validate(
        {"routes": [{"channel": "C0ALERTS", "events": ["died", "stopped", "oom"]}]}
    )
    return Rules(config)


@pytest.mark.parametrize(
    ("labels", "expected"),
    [
        ({}, 5),  # no label of that key: the event's own exitCode
        ({"team": "shop"}, 5),
        ({"exitCode": "0"}, None),  # the label's value, not the death's: unknown
        ({"exitCode": "abc"}, None),
        ({"exitCode": "5"}, None),  # even when it happens to agree: a label wrote it
    ],
)
def test_an_exit_code_a_label_shadows_is_unknown(labels: dict[str, str], expected: int | None) -> None:
    """`die` with exitCode 5 of a container whose labels are known: the code is believed only when no label
    of that key exists."""
    event = trusted_event(raw_event("die", labels, exitCode="5"), known(labels))
    assert event.exit_code == expected
    assert event.labels == labels  # a label named exitCode is still a label, for routes and opt-out


def test_name_and_image_come_from_the_engine_when_labels_of_those_keys_exist() -> None:
    """Labels `name`/`image` make those attributes suspect: the listed name and image are used instead."""
    labels = {"name": "prod-db", "image": "evil/img", "exitCode": "0"}
    attributes = {"exitCode": "0", "name": "prod-db", "image": "evil/img"}  # an engine letting labels win
    event = DockerEvent(HOST, "container", "die", CID, attributes, 5 * NS)
    trusted = trusted_event(event, known(labels))
    assert (trusted.name, trusted.image, trusted.exit_code) == ("web-1", IMAGE, None)
    assert trusted.labels == labels


def test_a_create_event_teaches_the_labels_exactly() -> None:
    """A container first seen by its `create` event: its attributes are the labels plus name and image, so
    a label `exitCode` is known to be one, and the container's later `die` is judged by it."""
    labels = {"exitCode": "0", "chatops.notify": "true"}
    created = trusted_event(raw_event("create", labels), None)
    assert created.labels == labels
    state = ContainerState(CID, created.name, created.image, "created", labels=created.labels)
    died = trusted_event(raw_event("die", labels, exitCode="3"), state)
    assert died.exit_code is None


def test_without_known_labels_no_attribute_but_name_and_image_is_believed() -> None:
    """A `die` of a container the watcher knows nothing of: exit code unknown, labels only a guess."""
    event = trusted_event(raw_event("die", {"team": "shop"}, exitCode="3"), None)
    assert event.exit_code is None
    assert event.known_labels is None
    assert (event.name, event.image, event.labels) == ("web-1", IMAGE, {"team": "shop"})


def test_a_rename_keeps_its_new_name_unless_a_label_could_have_written_it() -> None:
    """`rename` carries the new name: believed without a `name` label, the listed name with one."""
    event = DockerEvent(HOST, "container", "rename", CID, {"name": "web-2", "oldName": "/web-1"}, 5 * NS)
    assert trusted_event(event, known({})).name == "web-2"
    assert trusted_event(event, known({"name": "x"})).name == "web-1"


def test_opt_out_still_holds_on_a_trusted_event() -> None:
    """`chatops.notify=false` is a label: a trusted event keeps it, and the rules stay silent."""
    labels = {"chatops.notify": "false", "exitCode": "0"}
    event = trusted_event(raw_event("die", labels, exitCode="5"), known(labels))
    assert rules().evaluate(event, RuleState()) == []


def test_a_death_of_unknown_code_is_still_a_death() -> None:
    """The shadowed exit code is unknown, not 0: the rules say "died", and the message says it is unknown."""
    labels = {"exitCode": "0"}
    event = trusted_event(raw_event("die", labels, exitCode="5"), known(labels))
    (note,) = rules().evaluate(event, RuleState())
    assert (note.kind, note.exit_code) == ("died", None)
    assert note.summary == "web-1 exited (exit code unknown)"
    assert note.digest_line == "web-1 (exit code unknown)"


def test_image_events_are_left_as_they_are() -> None:
    """Only container events carry copied container labels."""
    event = DockerEvent(HOST, "image", "delete", "sha256:" + "a" * 64, {"name": "shop/web:1.1"}, 5 * NS)
    assert trusted_event(event, None) is event


# ---- the exit code an inspect tells -----------------------------------------------------------------------

DIE_AT = "2026-12-02T06:06:25.290394482Z"
DIE_NANO = engine_time(DIE_AT) or 0


@pytest.mark.parametrize(
    ("state", "expected"),
    [
        ({"Running": False, "ExitCode": 5, "FinishedAt": "2026-12-02T06:06:25.265507991Z"}, 5),
        # restarting: the code of the last exit is kept until it runs again
        ({"Running": True, "Restarting": True, "ExitCode": 5, "FinishedAt": "2026-12-02T06:06:25.2Z"}, 5),
        # running again: ExitCode was reset to 0, which says nothing about that death
        ({"Running": True, "ExitCode": 0, "FinishedAt": "2026-12-02T06:06:25.2Z"}, None),
        # it died again after the event: that is a later death's code
        ({"Running": False, "ExitCode": 1, "FinishedAt": "2026-12-02T06:06:26.000000001Z"}, None),
        ({"Running": False, "ExitCode": 5, "FinishedAt": "0001-01-01T00:00:00Z"}, None),
        ({"Running": False, "ExitCode": "5", "FinishedAt": "2026-12-02T06:06:25.2Z"}, None),
        ({}, None),
    ],
)
def test_the_exit_code_of_an_inspect_belongs_to_the_event_only_when_nothing_ran_since(
    state: dict[str, object], expected: int | None
) -> None:
    """State.ExitCode is the code of the death at DIE_AT only while the container has not run again."""
    assert exit_code_at(state, DIE_NANO) == expected


def test_engine_times_read_with_nanoseconds_and_offsets() -> None:
    """RFC 3339 with up to 9 fractional digits, Z or an offset; the zero time and garbage are None."""
    assert engine_time("1970-01-02T00:00:00Z") == 86400 * NS
    assert engine_time("1970-01-02T00:00:00.5Z") == 86400 * NS + NS // 2
    assert engine_time("1970-01-02T01:00:00.000000001+01:00") == 86400 * NS + 1
    assert engine_time("0001-01-01T00:00:00Z") is None
    assert engine_time("soon") is None
    assert engine_time(None) is None


# ---- notifications saved until the outbox has them ------------------------------------------------------


def test_a_notification_reads_back_as_it_was_saved() -> None:
    """Every field survives `to_json` / `from_json`, tuples included."""
    note = Notification(
        kind="died",
        host=HOST,
        container="web-1",
        container_id=CID,
        image=IMAGE,
        channels=("C1", "C2"),
        time_nano=5 * NS,
        dedupe_key=f"{HOST}:{CID}:die:{5 * NS}",
        exit_code=None,
        log_tail=("a", "b"),
        episode_key="e",
        exit_unknown=True,
    )
    assert Notification.from_json(note.to_json()) == note


@pytest.mark.parametrize("text", ["", "[]", "{}", '{"kind": "died", "dedupe_key": ""}', '{"kind": 1}'])
def test_an_unreadable_saved_notification_is_a_value_error(text: str) -> None:
    """A damaged row is a ValueError saying so (the watcher logs it and deletes the row), nothing else."""
    with pytest.raises(ValueError, match="unreadable saved notification"):
        Notification.from_json(text)
