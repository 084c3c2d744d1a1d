"""Mentions carried by ID through the core, rendered by each door: `<@U123>` in Slack, plain in the shell."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.commands.catalog import CATALOG
from bot.errors import Denied
from bot.mentions import LOCAL_USER, channel_ref, plain_refs, user_ref
from bot.models import Outcome, Problem, Reply, Step
from bot.policy.rules import Policy, Principal
from bot.render.blocks import render_problem, render_reply, slack_refs
from bot.render.blocks.limits import clip
from bot.render.text import render_problem_text, render_reply_text
from bot.router import Invocation
from bot.router.audit import AuditLog
from bot.router.confirmations import Confirmations
from bot.store import Store

PRIVATE_USE = ("\ue000", "\ue001")


def test_refs_render_per_door() -> None:
    """Slack reads a user and a channel as `<@U…>`/`<#C…>`; the shell reads their IDs, the local user as
    `the local shell user`; an ID of the wrong shape is never live in Slack."""
    text = f"{user_ref('U123')} in {channel_ref('C456')}"
    assert slack_refs(text) == "<@U123> in <#C456>"
    assert plain_refs(text) == "U123 in C456"
    assert plain_refs(f"you are {user_ref(LOCAL_USER)}") == "you are the local shell user"
    assert slack_refs(f"{user_ref('local')} in {channel_ref('shell')}") == "local in shell"
    assert slack_refs(user_ref("!channel")) == "!channel"


def test_a_look_alike_is_inert_and_a_clipped_ref_leaves_no_marker() -> None:
    """Text that only looks like a ref (no key of this process) renders as its content; clipping that cuts
    a ref leaves the part kept, with no private-use character."""
    forged = "\ue000" + "0" * 8 + "@U0EVIL\ue001"
    assert slack_refs(forged) == "U0EVIL"
    ref = user_ref("U123456")
    for cut in range(len(ref)):
        shown = slack_refs(clip("x " + ref, 2 + cut))
        assert not any(mark in shown for mark in PRIVATE_USE), shown
        assert "<@" not in shown or shown.endswith("<@U123456>")


@given(st.text())
def test_any_text_renders_without_markers(text: str) -> None:
    """Whatever a text holds, neither door shows a marker character."""
    for shown in (slack_refs(text), plain_refs(text), slack_refs(text + user_ref(text))):
        assert not any(mark in shown for mark in PRIVATE_USE)


def _denial() -> str:
    policy = Policy.from_config({"viewer": {"allow": ["read"]}}, [{"role": "viewer", "users": ["*"]}])
    spec = CATALOG.get("rm")
    assert spec is not None
    decision = policy.decide(
        Principal(user_id="U123", channel_id="C456"),
        command=spec.name,
        action_class=spec.action_class,
        host="prod",
        targets=(),
    )
    assert not decision.allowed
    return decision.reason


def test_a_denial_reads_as_a_mention_in_slack_and_as_ids_in_the_shell() -> None:
    """The policy writes who and where by ID; Slack shows them live, the shell as plain text."""
    reason = _denial()
    assert "<@" not in reason
    assert "<#" not in reason
    problem = Problem("Denied", reason)
    slack = render_problem(problem, text="rm web", host="prod")
    section = slack.blocks[0]["text"]["text"]
    assert 'you (<@U123>) have "read" in <#C456>' in section
    assert "<@U123>" in slack.text
    shell = render_problem_text(problem)
    assert 'you (U123) have "read" in C456' in shell
    _, stderr = render_reply_text(Reply("rm web", "prod", Outcome.DENIED, (Step("rm web", problem=problem),)))
    assert 'you (U123) have "read" in C456' in stderr
    page = render_reply(
        Reply("rm web", "prod", Outcome.DENIED, (Step("rm web", problem=problem),)), user_id="U1", host="prod"
    )
    assert not any(mark in str(page.blocks) + page.text for mark in PRIVATE_USE)


def test_a_strangers_click_names_the_requester_per_door() -> None:
    """Only the requester may confirm a plan; the refusal names them by ID, live in Slack, plain in the
    shell, and the audit keeps the bare ID (a ref is read only by the process that wrote it)."""
    store = Store(":memory:")
    policy = Policy.default()
    confirmations = Confirmations(store, policy, AuditLog(store, "prod"))
    plan = store.create_pending(
        team_id="T1",
        user_id="U0REQ",
        channel_id="C1",
        host="prod",
        text="rm web",
        plan_hash="h",
        approval="none",
        ttl=60,
    )
    with pytest.raises(Denied) as refused:
        confirmations.claim(Invocation("", user_id="U0OTHER", channel_id="C1", plan_id=plan.id))
    problem = Problem("Denied", refused.value.message)
    assert "<@" not in problem.message
    assert "only <@U0REQ> can confirm" in render_problem(problem, text="rm web", host="prod").text
    assert "only U0REQ can confirm" in render_problem_text(problem)
    row = store.audit_start(
        team_id="T1", user_id="U0OTHER", channel_id="C1", source="slack", host="prod", text="rm web"
    )
    store.audit_finish(row, decision="denied", rule="", outcome="denied", duration=0.0, error=problem.message)
    assert store.audit_rows()[0].error == "only U0REQ can confirm this plan; nothing ran"
