"""The router's built-ins answer with models that carry user IDs; each door names the users its own way.
`can-i` decides through the same authorize step as a run (deny in doubt included), and a click carries the
DM fact of its invocation, never one guessed from a channel ID."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from bot.engine import Engine, Host
from bot.models import CanIResult, Outcome, WhoamiResult
from bot.policy import Decision, Policy
from bot.render.blocks import render_reply, slack_refs
from bot.render.result import render_result
from bot.render.text import render_reply_text
from bot.router import Invocation, Router
from bot.router.confirmations import Confirmations
from bot.store import PendingPlan


def _router(tmp_path: Path, policy: Policy | None = None) -> Router:
    return Router([Engine(Host("ghost", f"unix://{tmp_path}/no.sock", 2.0))], policy=policy)


def test_whoami_is_a_model_each_door_names_the_user_of(tmp_path: Path) -> None:
    """The shell says `the local shell user`, the Slack door `<@U…>`; the model holds only the ID."""
    router = _router(tmp_path)
    try:
        local = router.handle(Invocation("whoami", local_admin=True))
        slack = router.handle(Invocation("whoami", user_id="U0ASKER", channel_id="C0HERE"))
    finally:
        router.close()
    mine = local.steps[0].result
    assert isinstance(mine, WhoamiResult)
    assert (mine.user_id, mine.channel_id, mine.host, mine.local_admin) == ("local", "shell", "ghost", True)
    stdout, _ = render_reply_text(local)
    assert stdout.startswith("you are the local shell user on host ghost\nuser:     local (local admin)")
    result = slack.steps[0].result
    assert result is not None
    assert slack_refs(render_result(result).summary or "") == "you are <@U0ASKER> on host ghost"


def test_audit_and_notify_status_name_users_through_the_door(tmp_path: Path) -> None:
    """A sentence names a user live in Slack and plainly in the shell; a monospace body shows the ID."""
    router = _router(tmp_path)
    try:
        router.store.mute("ghost", "web-1", time.time() + 600, "U0MUTER")
        status = router.handle(Invocation("notify status", local_admin=True))
        audit = router.handle(Invocation("audit --user U0MUTER", local_admin=True))
    finally:
        router.close()
    assert status.outcome is Outcome.OK
    assert audit.outcome is Outcome.OK
    status_result, audit_result = status.steps[0].result, audit.steps[0].result
    assert status_result is not None
    assert audit_result is not None
    in_slack = str(render_reply(status, user_id="U0MUTER", host="ghost").blocks)
    assert "(by U0MUTER)" in in_slack  # a code block: no live mention
    assert "<@U0MUTER>" not in in_slack.replace("<@U0MUTER> ran", "")
    assert "(by U0MUTER)" in render_reply_text(status)[0]
    assert slack_refs(render_result(audit_result).summary or "") == "the last 0 audit rows of <@U0MUTER>"


class _Broken(Policy):
    """A policy that fails to decide anything but reads."""

    def decide(self, principal: Any, *, command: str, action_class: str, **kwargs: Any) -> Decision:
        if action_class == "read":
            return super().decide(principal, command=command, action_class=action_class, **kwargs)
        raise RuntimeError("the policy broke")


def test_can_i_uses_the_authorize_step_and_denies_in_doubt(tmp_path: Path) -> None:
    """When the policy fails, `can-i` says no, as a real run would."""
    router = _router(tmp_path, _Broken.default())
    try:
        reply = router.handle(Invocation("can-i version && whoami", local_admin=True))
        broken = router.handle(Invocation("can-i audit", local_admin=True))
    finally:
        router.close()
    assert isinstance(reply.steps[0].result, CanIResult)
    assert reply.steps[0].result.allowed
    result = broken.steps[0].result
    assert isinstance(result, CanIResult)
    assert not result.allowed
    assert result.steps[0].rule == "error"
    assert (render_result(result).summary or "").startswith("no, you may not")


def _pending(channel_id: str) -> PendingPlan:
    now = time.time()
    return PendingPlan(
        "p1", "T1", "U0REQ", channel_id, "ghost", "rm web-1", "h", "none", "", now, now + 60, "pending"
    )


def test_a_click_carries_the_dm_fact_of_its_invocation_not_of_a_channel_prefix() -> None:
    """A DM is what the door said it is: a click from the plan's DM keeps it; a `D…` channel ID alone,
    or a click from another conversation, does not make one."""
    in_dm = Invocation("", user_id="U0REQ", channel_id="G0MPIM", is_dm=True, plan_id="p1")
    assert Confirmations.as_requested(in_dm, _pending("G0MPIM")).is_dm
    not_said = Invocation("", user_id="U0REQ", channel_id="D0DM", plan_id="p1")
    assert not Confirmations.as_requested(not_said, _pending("D0DM")).is_dm
    elsewhere = Invocation("", user_id="U0REQ", channel_id="D0OTHER", is_dm=True, plan_id="p1")
    assert not Confirmations.as_requested(elsewhere, _pending("C0PLAN")).is_dm
