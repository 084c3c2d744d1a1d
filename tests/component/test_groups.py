"""User-group membership for group-bound roles: cached, and never trusted stale for long."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from fakes.web_api import FakeWebApi
from slack_sdk import WebClient

from bot.slack.groups import GroupResolver


@pytest.fixture
def slack() -> Iterator[FakeWebApi]:
    with FakeWebApi() as fake:
        yield fake


def test_membership_is_cached_then_refreshed(slack: FakeWebApi) -> None:
    """Members are read once per TTL; a change shows after it."""
    client = WebClient(base_url=slack.api_url, token=slack.bot_token)
    slack.set_usergroup("S0ONCALL", ["U1"])
    slack.set_usergroup("S0OTHER", [])
    groups = GroupResolver(["S0ONCALL", "S0OTHER"], ttl=0.3)
    assert groups.groups_of(client, "U1") == {"S0ONCALL"}
    assert groups.groups_of(client, "U2") == frozenset()
    assert len(slack.requests("usergroups.users.list")) == 2
    slack.set_usergroup("S0ONCALL", ["U2"])
    time.sleep(0.35)
    assert groups.groups_of(client, "U2") == {"S0ONCALL"}


def test_unreadable_group_is_trusted_stale_only_briefly(slack: FakeWebApi) -> None:
    """When Slack errors, recent members stand in up to twice the TTL; after that the group is empty."""
    client = WebClient(base_url=slack.api_url, token=slack.bot_token)
    slack.set_usergroup("S0ADMINS", ["U1"])
    groups = GroupResolver(["S0ADMINS"], ttl=0.3)
    assert groups.groups_of(client, "U1") == {"S0ADMINS"}
    slack.fail_next("usergroups.users.list", "missing_scope", count=100)
    time.sleep(0.35)
    assert groups.groups_of(client, "U1") == {"S0ADMINS"}
    time.sleep(0.35)
    assert groups.groups_of(client, "U1") == frozenset()
