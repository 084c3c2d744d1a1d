"""The policy: who may run what, where, on which objects; and why not, in one sentence."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from bot.commands.catalog import CATALOG, Catalog
from bot.engine import Engine, Host
from bot.errors import ConfigError
from bot.mentions import plain_refs
from bot.models import Target
from bot.policy import Decision, Policy, Principal, Role
from bot.render.blocks import slack_refs
from bot.router import Router
from bot.startup import policy_of, read_checked

ISSUE_TOML = """
[roles.viewer]
allow = ["read"]
[roles.operator]
allow = ["read", "operate"]
[roles.janitor]
allow = ["read", "remove"]
approval = { remove = "two-person" }
[roles.admin]
allow = ["*"]

[[bindings]]
role = "viewer"
users = ["*"]
[[bindings]]
role = "operator"
users = ["U0OPS"]
groups = ["S0ONCALL"]
channels = ["C0OPS"]
hosts = ["*"]
containers = ["web-*", "label:team=payments", "project:shop"]
"""

ROLES: dict[str, Any] = {
    "viewer": {"allow": ["read"]},
    "operator": {"allow": ["read", "operate"]},
    "janitor": {"allow": ["read", "remove"], "approval": {"remove": "two-person"}},
    "admin": {"allow": ["*"]},
}


def policy(*bindings: dict[str, Any], roles: dict[str, Any] | None = None) -> Policy:
    return Policy.from_config(ROLES if roles is None else roles, list(bindings))


def who(user: str = "U0ANY", channel: str = "C0OPS", *groups: str, **extra: Any) -> Principal:
    return Principal(user_id=user, channel_id=channel, groups=frozenset(groups), **extra)


def container(name: str, cid: str = "", **labels: str) -> Target:
    return Target("container", cid or f"{abs(hash(name)):064x}"[:64], name, labels)


def decide(
    p: Policy,
    principal: Principal,
    command: str,
    *targets: Target,
    host: str = "prod",
    own: str | None = None,
) -> Decision:
    spec = CATALOG.get(command)
    assert spec is not None, command
    return p.decide(
        principal,
        command=spec.name,
        action_class=spec.action_class,
        host=host,
        targets=targets,
        own_container_id=own,
    )


WEB = container("web-1")
DB = container("db-1")
PAYMENTS = container("api-1", team="payments")
SHOP = container("cart-1", **{"com.docker.compose.project": "shop"})


# ---- no policy -----------------------------------------------------------------------------------


def test_default_policy_lets_everyone_read_everywhere_and_nobody_change_anything() -> None:
    """With no policy, any user reads in any channel or DM on any host, and every other class is denied."""
    p = Policy.default()
    for principal in (who("U1", "C1"), who("U2", "D2", is_dm=True), who("U3", "G3", "S1", is_dm=True)):
        for host in ("prod", "x"):
            assert decide(p, principal, "ps", host=host).allowed
            assert decide(p, principal, "logs", WEB, host=host).allowed
            for command in ("stop", "rm", "image prune", "pull"):
                decision = decide(p, principal, command, WEB, host=host)
                assert not decision.allowed
                assert decision.rule == "default: read for everyone"
    assert decide(p, who(), "ps").rule == "default: read for everyone"


def test_default_policy_describes_itself_in_one_line() -> None:
    """The start-up log says what the default means."""
    assert Policy.default().describe() == "no policy: everyone may read; nobody may change anything"
    assert Policy.default().is_default


def test_empty_config_is_the_default_policy() -> None:
    """No roles and no bindings in the file is the default policy, not a policy that denies everything."""
    assert Policy.from_config({}, []).is_default


def test_roles_without_bindings_allow_nothing_at_all() -> None:
    """A file with roles but no bindings grants nothing, reading included, and says so at start-up."""
    p = policy()
    assert not decide(p, who(), "ps").allowed
    assert (
        p.describe()
        == "policy: 4 roles (admin, janitor, operator, viewer), no bindings: nobody may do anything"
    )


def test_configured_policy_describes_itself() -> None:
    """A configured policy names its roles and counts its bindings."""
    p = policy({"role": "viewer", "users": ["*"]})
    assert p.describe() == (
        "policy: 4 roles (admin, janitor, operator, viewer), 1 binding; anything not granted is denied"
    )


# ---- who: users and groups -----------------------------------------------------------------------


def test_binding_matches_by_user_id_or_star() -> None:
    """`users` holds user IDs or "*"; anyone else gets nothing from the binding."""
    exact = policy({"role": "viewer", "users": ["U0ME"]})
    assert decide(exact, who("U0ME"), "ps").allowed
    assert not decide(exact, who("U0YOU"), "ps").allowed
    star = policy({"role": "viewer", "users": ["*"]})
    assert decide(star, who("U0YOU"), "ps").allowed


def test_binding_matches_by_user_group() -> None:
    """`groups` matches when the principal's resolved groups intersect it."""
    p = policy({"role": "viewer", "groups": ["S0ONCALL"]})
    assert decide(p, who("U1", "C1", "S0ONCALL", "S0OTHER"), "ps").allowed
    assert not decide(p, who("U1", "C1", "S0OTHER"), "ps").allowed
    assert not decide(p, who("U1", "C1"), "ps").allowed


def test_binding_without_users_or_groups_matches_nobody() -> None:
    """A binding that names neither users nor groups grants nothing to anyone."""
    p = policy({"role": "admin", "users": [], "groups": []})
    assert not decide(p, who("U1", "C1", "S1"), "ps").allowed


# ---- where: channels and hosts -------------------------------------------------------------------


def test_channels_default_to_everywhere_including_direct_messages() -> None:
    """A binding without `channels` holds in every channel and in DMs."""
    p = policy({"role": "viewer", "users": ["*"]})
    assert decide(p, who("U1", "C9"), "ps").allowed
    assert decide(p, who("U1", "D9", is_dm=True), "ps").allowed


def test_channel_list_and_dm_keyword() -> None:
    """Listed channel IDs match exactly; "dm" matches what the door says is a direct message (a D… channel
    ID alone is not one)."""
    p = policy({"role": "viewer", "users": ["*"], "channels": ["C0OPS", "dm"]})
    assert decide(p, who("U1", "C0OPS"), "ps").allowed
    assert not decide(p, who("U1", "C0DEV"), "ps").allowed
    assert decide(p, who("U1", "D0ME", is_dm=True), "ps").allowed
    assert decide(p, who("U1", "G0MPIM", is_dm=True), "ps").allowed
    assert not decide(p, who("U1", "D0ME"), "ps").allowed  # the door did not say it is a DM
    only_ops = policy({"role": "viewer", "users": ["*"], "channels": ["C0OPS"]})
    assert not decide(only_ops, who("U1", "D0ME", is_dm=True), "ps").allowed


def test_keywords_are_not_channel_ids() -> None:
    """A channel literally called "dm" or "*" is not a direct message nor every channel."""
    p = policy({"role": "viewer", "users": ["*"], "channels": ["dm"]})
    assert not decide(p, who("U1", "dm"), "ps").allowed
    assert not decide(p, who("U1", "*"), "ps").allowed


def test_hosts_are_fnmatch_globs() -> None:
    """`hosts` holds globs on host names; a binding holds only on hosts that match one."""
    p = policy({"role": "viewer", "users": ["*"], "hosts": ["prod-*", "staging"]})
    assert decide(p, who(), "ps", host="prod-eu").allowed
    assert decide(p, who(), "ps", host="staging").allowed
    assert not decide(p, who(), "ps", host="staging-2").allowed
    assert not decide(p, who(), "ps", host="dev").allowed


# ---- what: allow entries -------------------------------------------------------------------------


def test_allow_by_action_class() -> None:
    """An action class in `allow` grants every command of that class."""
    p = policy({"role": "operator", "users": ["*"]})
    for command in ("ps", "logs", "start", "stop", "restart", "kill", "pause", "unpause"):
        assert decide(p, who(), command, WEB).allowed, command
    for command in ("rm", "rmi", "image prune", "pull"):
        assert not decide(p, who(), command, WEB).allowed, command


def test_allow_by_command_name_and_alias() -> None:
    """A command name in `allow` grants that command only; an alias is the same command."""
    roles = {"helper": {"allow": ["logs", "container restart", "image prune"]}}
    p = policy({"role": "helper", "users": ["*"]}, roles=roles)
    assert decide(p, who(), "logs").allowed
    assert not decide(p, who(), "ps").allowed
    assert decide(p, who(), "restart", WEB).allowed
    assert not decide(p, who(), "stop", WEB).allowed
    assert decide(p, who(), "image prune", Target("image", "sha256:1", "old:1")).allowed
    assert not decide(p, who(), "container prune", WEB).allowed


def test_star_allows_everything() -> None:
    """ "*" grants every class and command (and approving)."""
    p = policy({"role": "admin", "users": ["U0ADM"]})
    for spec in CATALOG.specs:
        assert decide(p, who("U0ADM"), spec.name, WEB).allowed, spec.name
    assert p.can_approve(who("U0ADM"), "prod")


# ---- on what: container scopes -------------------------------------------------------------------


def test_name_globs_are_case_sensitive() -> None:
    """A name glob matches `Target.name` with fnmatch, case-sensitively."""
    p = policy({"role": "operator", "users": ["*"], "containers": ["web-*"]})
    assert decide(p, who(), "stop", WEB).allowed
    assert not decide(p, who(), "stop", container("Web-1")).allowed
    assert not decide(p, who(), "stop", DB).allowed


def test_label_and_project_patterns() -> None:
    """`label:KEY=VALUE` tests a value, `label:KEY` presence, `project:NAME` the compose project label."""
    value = policy({"role": "operator", "users": ["*"], "containers": ["label:team=payments"]})
    assert decide(value, who(), "stop", PAYMENTS).allowed
    assert not decide(value, who(), "stop", container("api-2", team="search")).allowed
    presence = policy({"role": "operator", "users": ["*"], "containers": ["label:team"]})
    assert decide(presence, who(), "stop", container("api-2", team="search")).allowed
    assert not decide(presence, who(), "stop", DB).allowed
    project = policy({"role": "operator", "users": ["*"], "containers": ["project:shop"]})
    assert decide(project, who(), "stop", SHOP).allowed
    assert not decide(
        project, who(), "stop", container("x", **{"com.docker.compose.project": "shop2"})
    ).allowed


def test_every_target_must_be_in_scope() -> None:
    """One target out of scope denies the whole command, naming that target."""
    p = policy({"role": "operator", "users": ["U0OPS"], "containers": ["web-*"]})
    decision = decide(p, who("U0OPS"), "stop", WEB, DB)
    assert not decision.allowed
    assert 'needs "operate" on db-1 (host prod)' in decision.reason
    assert "web-1" not in decision.reason.split(";")[0]


def test_targets_may_be_covered_by_different_bindings() -> None:
    """Different targets may be in scope of different bindings; the rule cites both."""
    p = policy(
        {"role": "operator", "users": ["U0OPS"], "containers": ["web-*"]},
        {"role": "operator", "users": ["U0OPS"], "containers": ["label:team=payments"]},
    )
    decision = decide(p, who("U0OPS"), "stop", WEB, PAYMENTS)
    assert decision.allowed
    assert decision.rule == "bindings[0] role=operator + bindings[1] role=operator"


def test_images_volumes_and_networks_match_name_globs_and_labels() -> None:
    """Targets that are not containers are scoped by the same name globs and labels."""
    p = policy({"role": "admin", "users": ["*"], "containers": ["web-*", "label:team=payments"]})
    assert decide(p, who(), "rmi", Target("image", "sha256:a", "web-base:1")).allowed
    assert not decide(p, who(), "rmi", Target("image", "sha256:b", "postgres:16")).allowed
    assert decide(p, who(), "volume prune", Target("volume", "v1", "data", {"team": "payments"})).allowed
    assert not decide(p, who(), "network prune", Target("network", "n1", "backend")).allowed


def test_build_cache_is_only_in_the_scope_of_everything() -> None:
    """`system prune` clears the build cache, which belongs to no container: a scoped binding may prune its
    own containers but not the cache, however its globs or labels read; `*` may."""
    cache = Target("build-cache", "k3l8fdm1yq0x2", "k3l8fdm1yq0x2", {}, 4096, "regular")
    web = container("web-1")
    scoped = policy({"role": "admin", "users": ["*"], "containers": ["web-*", "k3*", "*-*", "label:x"]})
    assert decide(scoped, who(), "system prune", web).allowed
    decision = decide(scoped, who(), "system prune", web, cache)
    assert not decision.allowed
    assert "k3l8fdm1yq0x2" in decision.reason
    assert decide(policy({"role": "admin", "users": ["*"]}), who(), "system prune", web, cache).allowed


def test_read_commands_are_not_container_scoped() -> None:
    """Reads depend only on user, group, channel and host; not on container scope or protection."""
    p = policy({"role": "viewer", "users": ["*"], "containers": ["web-*"]})
    assert decide(p, who(), "logs", DB).allowed
    assert decide(p, who(), "inspect", container("vault", **{"chatops.protected": "true"})).allowed


def test_mutation_without_targets_needs_an_unscoped_binding() -> None:
    """With no targets named, an operate/remove/pull command needs a binding whose scope is "*"."""
    scoped = policy({"role": "admin", "users": ["*"], "containers": ["web-*"]})
    decision = decide(scoped, who(), "container prune")
    assert not decision.allowed
    assert 'needs "remove" on everything on host prod' in decision.reason
    unscoped = policy({"role": "admin", "users": ["*"]})
    assert decide(unscoped, who(), "container prune").allowed


def test_admin_class_without_targets_is_not_container_scoped() -> None:
    """An admin command touching no Docker object (audit) needs only the class, whatever the scope."""
    p = policy({"role": "admin", "users": ["*"], "containers": ["web-*"]})
    assert p.decide(who(), command="audit", action_class="admin", host="prod").allowed


# ---- protected objects ---------------------------------------------------------------------------


def test_protected_label_refuses_everyone() -> None:
    """`chatops.protected=true` refuses mutating commands for everyone, admins and the local shell too."""
    vault = container("vault", **{"chatops.protected": "true"})
    p = policy({"role": "admin", "users": ["*"]})
    for principal in (who("U0ADM"), who("local", "shell", local_admin=True)):
        for command in ("stop", "rm", "container prune"):
            decision = decide(p, principal, command, WEB, vault)
            assert not decision.allowed
            assert decision.rule == "protected: label chatops.protected=true on vault"
            assert "nobody may change it from chat, admins included" in decision.reason


@pytest.mark.parametrize(
    ("value", "protected"), [("true", True), ("TRUE", True), ("", True), ("false", False)]
)
def test_protected_label_values(value: str, protected: bool) -> None:
    """A bare `--label chatops.protected` protects (deny in doubt); only an explicit false does not."""
    p = policy({"role": "admin", "users": ["*"]})
    assert decide(p, who(), "stop", container("x", **{"chatops.protected": value})).allowed is not protected


def test_own_container_is_refused_by_id_prefix_either_way() -> None:
    """The bot's own container refuses mutations whether its ID or the target's is the shorter prefix."""
    p = policy({"role": "admin", "users": ["*"]})
    me = container("chatops", cid="abc123def456" + "0" * 52)
    for own in ("abc123def456", "abc123def456" + "0" * 52):
        decision = decide(p, who(), "restart", me, own=own)
        assert not decision.allowed
        assert decision.rule == "protected: the bot's own container on chatops"
    short = Target("container", "abc123def456", "chatops")
    assert not decide(p, who(), "stop", short, own="abc123def456" + "0" * 52).allowed
    assert decide(p, who(), "stop", me, own="fff").allowed
    assert decide(p, who(), "stop", me, own=None).allowed
    assert decide(p, who(), "rmi", Target("image", "abc123def456", "img:1"), own="abc123def456").allowed


# ---- reasons -------------------------------------------------------------------------------------


def test_denial_names_what_is_needed_and_what_the_asker_has() -> None:
    """A denial says which class is needed on what, and what the asker holds here, by IDs (which the Slack
    door shows as a mention and a channel link, the shell as plain IDs)."""
    p = policy({"role": "viewer", "users": ["*"]})
    decision = decide(p, who("U123", "C456"), "rm", WEB)
    assert (
        slack_refs(decision.reason)
        == 'Denied: rm needs "remove" on web-1 (host prod); you (<@U123>) have "read" in <#C456>'
    )
    assert (
        plain_refs(decision.reason)
        == 'Denied: rm needs "remove" on web-1 (host prod); you (U123) have "read" in C456'
    )
    assert decision.rule == "default: deny"
    assert decision.roles == ("viewer",)


def test_denial_with_no_binding_says_you_have_nothing_here() -> None:
    """When no binding applies, the denial says the asker has nothing here."""
    p = policy({"role": "viewer", "users": ["U0OTHER"]})
    decision = decide(p, who("U123", "C456"), "ps")
    denied = 'Denied: ps needs "read" on host prod; you (<@U123>) have nothing here'
    assert slack_refs(decision.reason) == denied


def test_denial_shows_scopes_and_approvals_and_dm() -> None:
    """Scoped and two-person grants are shown as such; a DM is named as one."""
    p = policy(
        {"role": "operator", "users": ["U1"], "containers": ["web-*"]},
        {"role": "janitor", "users": ["U1"], "containers": ["*"]},
    )
    decision = decide(p, who("U1", "D1", is_dm=True), "stop", DB)
    assert plain_refs(decision.reason) == (
        'Denied: stop needs "operate" on db-1 (host prod); you (U1) have "read", '
        '"operate" on [web-*], "remove" (two-person) in this direct message'
    )


def test_allowed_decision_cites_the_binding(tmp_path: Path) -> None:
    """An allowed decision names the binding and role that allowed it."""
    p = policy_of(read_config_file_from(ISSUE_TOML, tmp_path))
    decision = decide(p, who("U0OPS", "C0OPS"), "stop", WEB)
    assert decision == Decision(
        True,
        "Allowed: stop on web-1 (host prod) by role operator",
        "bindings[1] role=operator",
        "none",
        ("operator",),
    )


# ---- two-person approval -------------------------------------------------------------------------


def test_two_person_when_only_approval_roles_allow() -> None:
    """A command allowed only by a role asking two-person approval for its class needs a second person."""
    p = policy({"role": "janitor", "users": ["U1"]})
    decision = decide(p, who("U1"), "rm", DB)
    assert decision.allowed
    assert decision.approval == "two-person"
    assert decide(p, who("U1"), "ps").approval == "none"


def test_no_approval_when_another_role_allows_freely() -> None:
    """If any binding allows the command on a target without approval, no approval is needed."""
    p = policy({"role": "janitor", "users": ["U1"]}, {"role": "admin", "users": ["U1"]})
    decision = decide(p, who("U1"), "rm", DB)
    assert decision.allowed
    assert decision.approval == "none"
    assert decision.rule == "bindings[1] role=admin"


def test_two_person_when_some_target_is_only_covered_by_approval_roles() -> None:
    """Targets covered freely and targets covered only with approval together need approval."""
    p = policy(
        {"role": "janitor", "users": ["U1"]},
        {"role": "admin", "users": ["U1"], "containers": ["web-*"]},
    )
    assert decide(p, who("U1"), "rm", WEB).approval == "none"
    assert decide(p, who("U1"), "rm", WEB, DB).approval == "two-person"


def test_approval_by_command_name_overrides_the_class() -> None:
    """An approval keyed by a command name wins over the one keyed by its class."""
    roles = {"j": {"allow": ["remove"], "approval": {"remove": "two-person", "rm": "none"}}}
    p = policy({"role": "j", "users": ["*"]}, roles=roles)
    assert decide(p, who(), "rm", DB).approval == "none"
    assert decide(p, who(), "rmi", Target("image", "sha256:1", "x:1")).approval == "two-person"


def test_approval_for_help_ignores_targets() -> None:
    """`approval_for` says whether a command would need approval here, for `help`."""
    p = policy({"role": "janitor", "users": ["U1"]})
    rm = CATALOG.get("rm")
    ps = CATALOG.get("ps")
    assert rm is not None
    assert ps is not None
    assert p.approval_for(who("U1"), rm, "prod") == "two-person"
    assert p.approval_for(who("U1"), ps, "prod") == "none"
    assert p.approval_for(who("U2"), rm, "prod") == "none"


def test_can_approve_needs_approve_or_star() -> None:
    """Approving needs "approve" or "*" in an applicable role; the local shell may approve."""
    roles = {
        "approver": {"allow": ["read", "approve"]},
        "viewer": {"allow": ["read"]},
        "admin": {"allow": ["*"]},
    }
    p = policy(
        {"role": "approver", "users": ["U1"], "hosts": ["prod"]},
        {"role": "viewer", "users": ["U2"]},
        {"role": "admin", "users": ["U3"]},
        roles=roles,
    )
    assert p.can_approve(who("U1"), "prod")
    assert not p.can_approve(who("U1"), "staging")
    assert not p.can_approve(who("U2"), "prod")
    assert p.can_approve(who("U3"), "prod")
    assert p.can_approve(who("local", "shell", local_admin=True), "prod")


# ---- whoami, help --------------------------------------------------------------------------------


def test_roles_and_classes_for_whoami() -> None:
    """`roles_of` and `allowed_classes` list what applies here, classes first, then single commands."""
    roles = {**ROLES, "helper": {"allow": ["logs", "stop", "rm"]}}
    p = policy(
        {"role": "viewer", "users": ["*"]},
        {"role": "operator", "users": ["U0OPS"], "channels": ["C0OPS"]},
        {"role": "helper", "users": ["U0OPS"]},
        roles=roles,
    )
    assert p.roles_of(who("U0OPS", "C0OPS"), "prod") == ["viewer", "operator", "helper"]
    assert p.allowed_classes(who("U0OPS", "C0OPS"), "prod") == ["read", "operate", "rm"]
    assert p.roles_of(who("U0OPS", "C0DEV"), "prod") == ["viewer", "helper"]
    assert p.allowed_classes(who("U0OPS", "C0DEV"), "prod") == ["read", "rm", "stop"]
    assert p.allowed_classes(who("U9", "C0DEV"), "prod") == ["read"]
    local = who("local", "shell", local_admin=True)
    assert p.roles_of(local, "prod") == ["local-admin"]
    assert p.allowed_classes(local, "prod") == ["read", "operate", "remove", "pull", "admin"]


def test_can_filters_help_without_targets() -> None:
    """`can` answers for a command in general (some scope suffices): what `help` lists."""
    p = policy(
        {"role": "viewer", "users": ["*"]}, {"role": "operator", "users": ["U1"], "containers": ["web-*"]}
    )
    stop = CATALOG.get("stop")
    ps = CATALOG.get("ps")
    assert stop is not None
    assert ps is not None
    assert p.can(who("U1"), stop, "prod")
    assert not p.can(who("U2"), stop, "prod")
    assert p.can(who("U2"), ps, "prod")
    assert p.can(who("x", "shell", local_admin=True), stop, "prod")


def test_local_admin_may_do_everything_but_protected() -> None:
    """The local shell without --as is allowed everything, with no approval, except protected targets."""
    p = policy()
    local = who("local", "shell", local_admin=True)
    for spec in CATALOG.specs:
        decision = decide(p, local, spec.name, WEB)
        assert decision.allowed
        assert decision.approval == "none"
        assert decision.rule == "local: shell without --as"


# ---- deny in doubt -------------------------------------------------------------------------------


def test_unknown_action_class_is_denied_in_doubt() -> None:
    """An action class the policy does not know is denied, not guessed."""
    decision = Policy.default().decide(who(), command="frobnicate", action_class="frob", host="prod")
    assert not decision.allowed
    assert decision.rule == "error: deny in doubt"
    assert "denying in doubt" in decision.reason


def test_command_class_mismatch_is_denied_in_doubt() -> None:
    """A caller that claims `rm` is a read is refused rather than trusted."""
    p = policy({"role": "viewer", "users": ["*"]})
    decision = p.decide(who(), command="rm", action_class="read", host="prod", targets=(WEB,))
    assert not decision.allowed
    assert decision.rule == "error: deny in doubt"


def test_failure_while_deciding_is_a_denial(monkeypatch: pytest.MonkeyPatch) -> None:
    """If deciding raises anything, decide() returns a denial instead of raising."""
    p = policy({"role": "admin", "users": ["*"]})

    def boom(self: Role, command: str, action_class: str) -> bool:
        raise RuntimeError("boom")

    monkeypatch.setattr(Role, "grants", boom)
    decision = decide(p, who(), "ps")
    assert not decision.allowed
    assert decision.rule == "error: deny in doubt"
    assert "boom" not in decision.reason


def test_garbage_principal_is_denied_not_raised() -> None:
    """Even a malformed principal gets a denial rather than an exception."""
    bad: Any = None
    decision = policy({"role": "admin", "users": ["*"]}).decide(
        bad, command="ps", action_class="read", host="p"
    )
    assert not decision.allowed


# ---- configuration errors ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("roles", "bindings", "message"),
    [
        (
            ROLES,
            [{"role": "operater", "users": ["*"]}],
            "bindings.0.role: unknown role 'operater' (roles: admin, janitor, operator, viewer)",
        ),
        ({"r": {"allow": ["stpo"]}}, [], "roles.r.allow: unknown action class or command 'stpo'"),
        ({"r": {"allow": ["stpo"]}}, [], 'did you mean "stop"?'),
        ({"r": {"allow": ["write"]}}, [], "(action classes: read, operate, remove, pull, admin;"),
        ({"r": {"allow": "read"}}, [], "roles.r.allow: must be a list of strings"),
        (
            {"r": {"allow": ["remove"], "approval": {"remove": "two_person"}}},
            [],
            "roles.r.approval.remove: unknown approval mode 'two_person' (modes: none, two-person)",
        ),
        (
            {"r": {"allow": ["remove"], "approval": {"remov": "two-person"}}},
            [],
            "roles.r.approval: 'remov' is not an action class",
        ),
        (
            ROLES,
            [{"role": "viewer", "users": ["*"], "containers": ["label:"]}],
            "bindings.0.containers: 'label:' needs a key",
        ),
        (
            ROLES,
            [{"role": "viewer", "users": ["*"], "containers": ["label:=x"]}],
            "bindings.0.containers: 'label:=x' needs a key",
        ),
        (
            ROLES,
            [{"role": "viewer", "users": ["*"], "containers": ["project:"]}],
            "bindings.0.containers: 'project:' needs a compose project name",
        ),
        (
            ROLES,
            [{"role": "viewer", "users": ["*"], "containers": ["web-[12"]}],
            "bindings.0.containers: unclosed '[' in 'web-[12'",
        ),
        (
            ROLES,
            [{"role": "viewer", "users": ["*"], "containers": [""]}],
            "bindings.0.containers: empty pattern",
        ),
        (
            ROLES,
            [{"role": "viewer", "users": ["*"], "containers": ["team=payments"]}],
            'for a label write "label:team=payments"',
        ),
        (
            ROLES,
            [{"role": "viewer", "users": ["*"], "hosts": ["prod-[ab"]}],
            "bindings.0.hosts: unclosed '[' in 'prod-[ab'",
        ),
        (
            ROLES,
            [{"role": "viewer", "users": ["@alice"]}],
            "bindings.0.users: '@alice' is not a Slack user ID",
        ),
        (
            ROLES,
            [{"role": "viewer", "groups": ["oncall"]}],
            "bindings.0.groups: 'oncall' is not a Slack user group ID",
        ),
        (
            ROLES,
            [{"role": "viewer", "users": ["*"], "channels": ["#ops"]}],
            "bindings.0.channels: '#ops' is not a Slack channel ID",
        ),
        (ROLES, [{"users": ["*"]}], "bindings.0.role: every binding names a role"),
    ],
)
def test_bad_policy_is_a_clear_value_error(
    roles: dict[str, Any], bindings: list[dict[str, Any]], message: str
) -> None:
    """Every mistake in roles or bindings is a ValueError that names the key and the fix."""
    with pytest.raises(ValueError, match=r".") as caught:
        Policy.from_config(roles, bindings)
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_glob_with_a_closed_bracket_is_fine() -> None:
    """Bracket globs that close (`web-[12]`, `[!w]*-9`, `[]]`) are accepted and match as fnmatch does."""
    p = policy({"role": "operator", "users": ["*"], "containers": ["web-[12]", "[!w]*-9", "[]]"]})
    assert decide(p, who(), "stop", container("web-2")).allowed
    assert not decide(p, who(), "stop", container("web-3")).allowed
    assert decide(p, who(), "stop", container("]")).allowed


# ---- the settings file ---------------------------------------------------------------------------


def read_config_file_from(text: str, tmp_path: Path) -> Any:
    path = tmp_path / "chatops.toml"
    path.write_text(text, encoding="utf-8")
    return read_checked(path)


def test_issue_policy_loads_from_the_config_file(tmp_path: Path) -> None:
    """The issue's example file loads; its policy and the group IDs to resolve come from it."""
    config = read_config_file_from(ISSUE_TOML, tmp_path)
    assert config.group_ids() == ["S0ONCALL"]
    p = policy_of(config)
    assert not p.is_default
    assert decide(p, who("U0ANY", "C0DEV"), "ps").allowed
    assert decide(p, who("U0X", "C0OPS", "S0ONCALL"), "stop", SHOP).allowed
    assert not decide(p, who("U0X", "C0DEV", "S0ONCALL"), "stop", SHOP).allowed


def test_file_without_policy_is_the_default(tmp_path: Path) -> None:
    """A file with only hosts keeps the default policy."""
    config = read_config_file_from("[[hosts]]\nname = 'prod'\nurl = 'unix:///x'\n", tmp_path)
    assert policy_of(config).is_default
    assert config.group_ids() == []


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            ('role = "operator"', 'role = "operater"'),
            "bindings.1.role: unknown role 'operater' (roles: admin, janitor, operator, viewer)",
        ),
        (('users = ["U0OPS"]', 'user = ["U0OPS"]'), 'bindings.1.user: unknown key; did you mean "users"?'),
        (
            ('allow = ["*"]', 'allow = ["*"]\ncolour = "red"'),
            "roles.admin.colour: unknown key",
        ),
        (('"project:shop"', '"project:"'), "bindings.1.containers: 'project:' needs a compose project name"),
        (
            ('"two-person"', '"three-person"'),
            "roles.janitor.approval.remove: unknown approval mode 'three-person'",
        ),
    ],
)
def test_bad_policy_in_the_file_stops_start_up_in_one_line(
    tmp_path: Path, change: tuple[str, str], message: str
) -> None:
    """A bad policy in CHATOPS_CONFIG is one ConfigError line naming the file and the key."""
    text = ISSUE_TOML.replace(*change)
    assert text != ISSUE_TOML
    with pytest.raises(ConfigError) as caught:
        read_config_file_from(text, tmp_path)
    assert str(caught.value).startswith(f"CHATOPS_CONFIG: {tmp_path / 'chatops.toml'}: {message}")
    assert "\n" not in str(caught.value)


def test_the_policy_decides_on_the_routers_catalog(tmp_path: Path) -> None:
    """A router built on its own catalog is checked by a policy on that catalog: a command only that
    catalog knows can be granted, and a policy on another catalog is refused at build time."""
    rm = CATALOG.get("rm")
    assert rm is not None
    catalog = Catalog([replace(rm, aliases=(*rm.aliases, "zap"))])
    config = {"cleaner": {"allow": ["zap"]}}, [{"role": "cleaner", "users": ["U0CLEAN"]}]
    with pytest.raises(ValueError, match="unknown action class or command 'zap'"):
        Policy.from_config(*config)
    policy = Policy.from_config(*config, catalog)
    decision = policy.decide(who("U0CLEAN"), command="zap", action_class="remove", host="prod", targets=())
    assert decision.allowed
    engines = [Engine(Host("prod", f"unix://{tmp_path}/no.sock", 2.0))]
    Router(engines, catalog, policy=policy).close()
    Router(engines, catalog).close()  # the default policy, on the router's catalog
    with pytest.raises(ValueError, match="another catalog"):
        Router(engines, catalog, policy=Policy.default())
