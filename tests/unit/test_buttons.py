"""Button action IDs and values: one `ActionId` enum, one listener each, one encoder/decoder for values."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.render.blocks.buttons import (
    ActionId,
    BadButtonValue,
    ButtonValue,
    PageValue,
    PickValue,
    PlanValue,
    RunValue,
    decode_value,
    encode_value,
    fits,
    value_limit,
)
from bot.render.blocks.limits import BUTTON_VALUE_MAX, OPTION_VALUE_MAX
from bot.slack.app import SlackDoor, action_listeners
from bot.store import new_token

BOT = Path(__file__).resolve().parents[2] / "bot"

SAMPLES: dict[ActionId, ButtonValue] = {
    ActionId.PAGE_PREV: PageValue("r" * 24, 0),
    ActionId.PAGE_NEXT: PageValue("r" * 24, 3),
    ActionId.RUN_LOGS: RunValue("logs web --tail 50", "prod"),
    ActionId.RUN_INSPECT: RunValue("inspect 'wéb'", "prod"),
    ActionId.RUN_RESTART: RunValue("restart web", ""),
    ActionId.RUN_REMEDY: RunValue("stop web && rm web", "prod"),
    ActionId.RUN_PRUNE: RunValue("image prune", "local"),
    ActionId.PLAN_CONFIRM: PlanValue(new_token()),
    ActionId.PLAN_APPROVE: PlanValue(new_token()),
    ActionId.PLAN_CANCEL: PlanValue(new_token()),
    ActionId.PS_PICK: PickValue("web-1", "prod"),
}


def test_every_action_id_has_exactly_one_listener() -> None:
    """The door registers a listener for every ActionId, through one loop, and no other action by name."""
    listeners = action_listeners(SlackDoor.__new__(SlackDoor))
    assert sorted(listeners) == sorted(ActionId)
    assert len(listeners) == len(ActionId) == len(SAMPLES)
    sources = {path: path.read_text() for path in BOT.rglob("*.py")}
    registrations = [path for path, text in sources.items() for _ in re.finditer(r"\.action\(", text)]
    assert registrations == [BOT / "slack" / "app.py"]  # the loop over action_listeners


def test_no_action_id_is_a_bare_string_outside_the_enum() -> None:
    """Render and the Slack door name actions by `ActionId`, never by a string literal."""
    for path in BOT.rglob("*.py"):
        if path.name == "buttons.py":
            continue
        text = path.read_text()
        for action in ActionId:
            assert f'"{action.value}"' not in text, (path, action)


@pytest.mark.parametrize("action", list(ActionId))
def test_encode_decode_round_trip(action: ActionId) -> None:
    """What the encoder writes for an action, the decoder reads back as the same value."""
    value = SAMPLES[action]
    raw = encode_value(action, value)
    assert decode_value(action, raw) == value
    assert decode_value(action.value, raw) == value


@given(text=st.text(min_size=1).filter(str.strip), host=st.text(), page=st.integers(0, 10**6))
def test_round_trip_of_any_text(text: str, host: str, page: int) -> None:
    """Any command text and host survive the trip, or the encoder refuses them as too long."""
    for action, value in (
        (ActionId.RUN_LOGS, RunValue(text, host)),
        (ActionId.PAGE_NEXT, PageValue(text, page)),
        (ActionId.PS_PICK, PickValue(text, host)),
    ):
        if fits(action, value):
            assert decode_value(action, encode_value(action, value)) == value
        else:
            with pytest.raises(BadButtonValue):
                encode_value(action, value)


def test_encoder_refuses_values_longer_than_slack_allows() -> None:
    """2,000 characters for a button, 150 for a select option: past that the value is refused."""
    assert value_limit(ActionId.RUN_LOGS) == BUTTON_VALUE_MAX == 2000
    assert value_limit(ActionId.PS_PICK) == OPTION_VALUE_MAX == 150
    long_name = "x" * 5000
    with pytest.raises(BadButtonValue):
        encode_value(ActionId.RUN_LOGS, RunValue(f"logs {long_name}", "prod"))
    with pytest.raises(BadButtonValue):
        encode_value(ActionId.PS_PICK, PickValue("x" * 140, "prod"))
    assert fits(ActionId.PS_PICK, PickValue("0123456789ab", "prod"))  # the short ID fits
    with pytest.raises(BadButtonValue):
        decode_value(ActionId.RUN_LOGS, json.dumps({"text": long_name, "host": "prod"}))


def test_encoder_refuses_a_value_of_another_shape() -> None:
    """A plan token is not a command, a page is not a pick."""
    with pytest.raises(BadButtonValue):
        encode_value(ActionId.RUN_LOGS, PlanValue(new_token()))
    with pytest.raises(BadButtonValue):
        encode_value(ActionId.PS_PICK, PageValue("r", 1))
    with pytest.raises(BadButtonValue):
        encode_value(ActionId.PLAN_CONFIRM, PlanValue("not a token!"))


@pytest.mark.parametrize(
    ("action", "raw"),
    [
        ("run_everything", '{"text":"ps","host":"prod"}'),  # no such action
        (ActionId.RUN_LOGS, ""),
        (ActionId.RUN_LOGS, None),
        (ActionId.RUN_LOGS, "rm -rf /"),  # not JSON
        (ActionId.RUN_LOGS, '["logs web","prod"]'),
        (ActionId.RUN_LOGS, '{"text":"logs web"}'),  # a field missing
        (ActionId.RUN_LOGS, '{"text":"logs web","host":"prod","as":"U0ADMIN"}'),  # a field added
        (ActionId.RUN_LOGS, '{"text":["logs"],"host":"prod"}'),
        (ActionId.RUN_LOGS, '{"text":"  ","host":"prod"}'),
        (ActionId.PAGE_NEXT, '{"id":"r","page":"2"}'),
        (ActionId.PAGE_NEXT, '{"id":"r","page":true}'),
        (ActionId.PAGE_NEXT, '{"id":"r","page":-1}'),
        (ActionId.PAGE_NEXT, '{"id":7,"page":1}'),
        (ActionId.PAGE_NEXT, '{"text":"ps","host":"prod"}'),  # another action's value
        (ActionId.PLAN_CONFIRM, '{"text":"rm web","host":"prod"}'),
        (ActionId.PLAN_CONFIRM, "token with spaces"),
        (ActionId.PLAN_CANCEL, "x" * 65),
        (ActionId.PS_PICK, '{"name":"web","host":null}'),
        (ActionId.PS_PICK, json.dumps({"name": "w" * 200, "host": "prod"})),
    ],
)
def test_decoder_refuses_tampered_values(action: ActionId | str, raw: object) -> None:
    """Anything the encoder would not have written for this action is refused."""
    with pytest.raises(BadButtonValue):
        decode_value(action, raw)
