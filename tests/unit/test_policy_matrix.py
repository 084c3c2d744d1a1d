"""The policy matrix: every identity x command x channel x host x target set, against a reference.

`reference()` below restates the rules from the issue as plainly as possible, reading the raw config dicts,
and never calls `Policy`; the tests assert that `Policy.decide` agrees with it on every combination.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.commands.catalog import CATALOG
from bot.models import Target
from bot.policy import Policy, Principal

# Commands the catalog may not have yet, with the classes the issue gives them.
EXTRA_COMMANDS = {
    **dict.fromkeys(("start", "stop", "restart", "kill", "pause", "unpause"), "operate"),
    **dict.fromkeys(
        ("rm", "rmi", "image prune", "container prune", "volume prune", "network prune", "system prune"),
        "remove",
    ),
    "pull": "pull",
    "audit": "admin",
}
COMMANDS = {spec.name: spec.action_class for spec in CATALOG.specs}
COMMANDS.update({name: cls for name, cls in EXTRA_COMMANDS.items() if name not in COMMANDS})

ROLES: dict[str, Any] = {
    "viewer": {"allow": ["read"]},
    "operator": {"allow": ["read", "operate"]},
    "janitor": {"allow": ["read", "remove"], "approval": {"remove": "two-person"}},
    "cleaner": {"allow": ["remove"]},
    "admin": {"allow": ["*"]},
    "helper": {"allow": ["logs", "restart", "image prune"], "approval": {"image prune": "two-person"}},
    "puller": {"allow": ["pull", "approve"]},
}
BINDINGS: list[dict[str, Any]] = [
    {"role": "viewer", "users": ["*"], "channels": ["C0OPS", "dm"]},
    {"role": "viewer", "users": ["U0VIEW"]},
    {
        "role": "operator",
        "users": ["U0OPS"],
        "groups": ["S0ONCALL"],
        "channels": ["C0OPS"],
        "hosts": ["*"],
        "containers": ["web-*", "label:team=payments", "project:shop"],
    },
    {"role": "janitor", "users": ["U0JAN"], "hosts": ["staging"]},
    {"role": "cleaner", "groups": ["S0SRE"], "containers": ["label:team=payments"]},
    {"role": "admin", "users": ["U0ADM"], "channels": ["C0OPS"], "hosts": ["prod", "staging"]},
    {"role": "admin", "users": ["U0ADM"], "channels": ["dm"], "hosts": ["stag*"]},
    {"role": "helper", "users": ["U0HELP"], "containers": ["web-*", "*-cache"]},
    {"role": "puller", "users": ["U0PULL"], "hosts": ["prod"]},
]
DEFAULT_ROLES: dict[str, Any] = {"default": {"allow": ["read"]}}
DEFAULT_BINDINGS: list[dict[str, Any]] = [{"role": "default", "users": ["*"]}]

OWN_ID = "0123456789ab" + "c" * 52


@dataclass(frozen=True)
class Identity:
    name: str
    user: str
    groups: frozenset[str] = frozenset()
    is_dm: bool = False
    local: bool = False

    def principal(self, channel: str) -> Principal:
        return Principal(
            user_id=self.user,
            channel_id=channel,
            groups=self.groups,
            is_dm=self.is_dm or channel in DM_CHANNELS,  # the door says a DM is one
            local_admin=self.local,
        )


IDENTITIES = (
    Identity("unknown user", "U0NOBODY"),
    Identity("viewer", "U0VIEW"),
    Identity("operator by user id", "U0OPS"),
    Identity("operator by group", "U0ONCALL", frozenset({"S0ONCALL", "S0OTHER"})),
    Identity("janitor", "U0JAN"),
    Identity("janitor and sre", "U0JAN", frozenset({"S0SRE"})),
    Identity("sre by group", "U0SRE", frozenset({"S0SRE"})),
    Identity("admin", "U0ADM"),
    Identity("admin in a DM", "U0ADM", is_dm=True),
    Identity("helper by command names", "U0HELP"),
    Identity("puller", "U0PULL"),
    Identity("local shell", "local", local=True),
)
CHANNELS = ("C0OPS", "C0RANDOM", "D0DM")  # the ops channel, a channel no binding names, a DM
DM_CHANNELS = frozenset({"D0DM"})
HOSTS = ("prod", "staging")


def _c(name: str, cid: str = "", **labels: str) -> Target:
    return Target("container", cid or (name.encode().hex() + "0" * 64)[:64], name, labels)


TARGET_SETS: dict[str, tuple[Target, ...]] = {
    "none": (),
    "web": (_c("web-1"),),
    "db": (_c("db-1"),),
    "payments label": (_c("api-1", team="payments"),),
    "other team": (_c("api-2", team="search"),),
    "shop project": (_c("cart-1", **{"com.docker.compose.project": "shop"}),),
    "web and db": (_c("web-1"), _c("db-1")),
    "web and payments": (_c("web-1"), _c("api-1", team="payments")),
    "protected": (_c("vault", **{"chatops.protected": "true"}),),
    "protected, bare label": (_c("web-vault", **{"chatops.protected": ""}),),
    "web, unprotected": (_c("web-2", **{"chatops.protected": "false"}),),
    "own container": (_c("web-bot", OWN_ID),),
    "web and own (short id)": (_c("web-1"), _c("web-bot", OWN_ID[:12])),
    "image by glob": (Target("image", "sha256:1", "redis-cache:7"),),
    "image out of scope": (Target("image", "sha256:2", "postgres:16"),),
    "volume by label": (Target("volume", "pay-data", "pay-data", {"team": "payments"}),),
    "network": (Target("network", "n1", "backend"),),
}

# ---- the reference: the rules, restated plainly ------------------------------------------


def _protected(target: Target, own: str | None) -> bool:
    value = target.labels.get("chatops.protected")
    if value is not None and value.strip().lower() not in ("false", "0", "no", "off"):
        return True
    if target.kind != "container" or not own or not target.id:
        return False
    return own.lower().startswith(target.id.lower()) or target.id.lower().startswith(own.lower())


def _in_scope(pattern: str, target: Target) -> bool:
    if pattern.startswith("label:"):
        key, eq, value = pattern[len("label:") :].partition("=")
        return target.labels.get(key) == value if eq else key in target.labels
    if pattern.startswith("project:"):
        return target.labels.get("com.docker.compose.project") == pattern[len("project:") :]
    return fnmatchcase(target.name, pattern)


def reference(
    roles: Mapping[str, Any],
    bindings: Sequence[Mapping[str, Any]],
    principal: Principal,
    *,
    command: str,
    action_class: str,
    host: str,
    targets: Sequence[Target],
    own: str | None,
) -> tuple[bool, str]:
    """(allowed, approval) by the rules of the issue."""
    mutating = action_class != "read"
    if mutating and any(_protected(t, own) for t in targets):
        return False, "none"
    if principal.local_admin:
        return True, "none"
    in_dm = principal.is_dm
    granting = []  # (containers, needs approval)
    for binding in bindings:
        users = binding.get("users", [])
        groups = binding.get("groups", [])
        channels = binding.get("channels", ["*"])
        hosts = binding.get("hosts", ["*"])
        if not ("*" in users or principal.user_id in users or set(groups) & principal.groups):
            continue
        if not (
            "*" in channels
            or (principal.channel_id in channels and principal.channel_id not in ("*", "dm"))
            or ("dm" in channels and in_dm)
        ):
            continue
        if not any(fnmatchcase(host, h) for h in hosts):
            continue
        role = roles[binding["role"]]
        allow = role.get("allow", [])
        if not ("*" in allow or action_class in allow or command in allow):
            continue
        approval = role.get("approval", {})
        mode = approval.get(command, approval.get(action_class, approval.get("*", "none")))
        granting.append((binding.get("containers", ["*"]), mode == "two-person"))
    if not mutating or (not targets and action_class == "admin"):
        options = [two for _, two in granting]
    elif not targets:
        options = [two for containers, two in granting if "*" in containers]
    else:
        options = []
        for target in targets:
            covering = [two for containers, two in granting if any(_in_scope(p, target) for p in containers)]
            if not covering:
                return False, "none"
            options.append(all(covering))  # True: this target needs approval
        return True, "two-person" if any(options) else "none"
    if not options:
        return False, "none"
    return True, "none" if not all(options) else "two-person"


# ---- the matrix ----------------------------------------------------------------------------------


Cell = tuple[str, str, str, str]  # command, channel, host, target set


def _reference_matrix(
    roles: dict[str, Any], bindings: list[dict[str, Any]], identity: Identity
) -> dict[Cell, tuple[bool, str]]:
    """The reference's answer for every command x channel x host x target set of one identity."""
    return {
        (command, channel, host, label): reference(
            roles,
            bindings,
            identity.principal(channel),
            command=command,
            action_class=action_class,
            host=host,
            targets=targets,
            own=OWN_ID,
        )
        for command, action_class in COMMANDS.items()
        for channel, host, (label, targets) in itertools.product(CHANNELS, HOSTS, TARGET_SETS.items())
    }


@functools.cache
def _expected(identity: Identity) -> dict[Cell, tuple[bool, str]]:
    """`_reference_matrix` under ROLES and BINDINGS, computed once: the matrix and the check that it is not
    trivial both read it."""
    return _reference_matrix(ROLES, BINDINGS, identity)


def _check_all(
    roles: dict[str, Any],
    bindings: list[dict[str, Any]],
    identity: Identity,
    expected: dict[Cell, tuple[bool, str]],
) -> int:
    policy = Policy.from_config(roles, bindings)
    mismatches = []
    checked = 0
    for command, action_class in COMMANDS.items():
        for channel, host, (label, targets) in itertools.product(CHANNELS, HOSTS, TARGET_SETS.items()):
            decision = policy.decide(
                identity.principal(channel),
                command=command,
                action_class=action_class,
                host=host,
                targets=targets,
                own_container_id=OWN_ID,
            )
            got, want = (decision.allowed, decision.approval), expected[command, channel, host, label]
            checked += 1
            if got != want:
                mismatches.append(f"{command} in {channel} on {host} with {label}: {got} != {want}")
            prefix = "Allowed" if decision.allowed else "Denied"
            assert decision.reason.startswith(prefix + ":"), decision.reason
            assert not decision.rule.startswith("error"), decision
    assert not mismatches, "\n".join(mismatches[:20]) + f"\n({len(mismatches)} mismatches)"
    return checked


@pytest.mark.parametrize("identity", IDENTITIES, ids=lambda i: i.name)
def test_policy_matrix(identity: Identity) -> None:
    """For this identity, every command x channel x host x target set decides as the reference does."""
    assert _check_all(ROLES, BINDINGS, identity, _expected(identity)) >= 8 * 3 * 2 * len(TARGET_SETS)


@pytest.mark.parametrize("identity", IDENTITIES, ids=lambda i: i.name)
def test_default_policy_matrix(identity: Identity) -> None:
    """With no policy, every combination decides as the reference does for "everyone may read"."""
    assert Policy.from_config({}, []).is_default
    _check_all(
        DEFAULT_ROLES,
        DEFAULT_BINDINGS,
        identity,
        _reference_matrix(DEFAULT_ROLES, DEFAULT_BINDINGS, identity),
    )


def test_matrix_is_not_trivial() -> None:
    """The matrix exercises allowed, denied and two-person outcomes for many identities."""
    outcomes = {identity.name: set(_expected(identity).values()) for identity in IDENTITIES}
    assert outcomes["unknown user"] == {(True, "none"), (False, "none")}
    assert (True, "two-person") in outcomes["janitor"]
    assert (True, "two-person") in outcomes["janitor and sre"]
    assert (True, "two-person") in outcomes["helper by command names"]
    assert all((False, "none") in seen for seen in outcomes.values())


# ---- random principals, commands, targets and policies -------------------------------------------

_USERS = ("U0A", "U0B", "U0OPS", "W0GRID")
_GROUPS = ("S0A", "S0B")
_CHANNEL_IDS = ("C0A", "C0B", "D0A", "G0A")
_HOST_NAMES = ("prod", "prod-2", "staging", "dev")
_NAMES = ("web-1", "web-2", "db-1", "api", "redis-cache", "Web-1", "", "x[y]", "nginx:latest")
_LABEL_KEYS = ("team", "chatops.protected", "com.docker.compose.project", "tier")
_LABEL_VALUES = ("payments", "shop", "true", "false", "", "TRUE", "web")
_PATTERNS = (
    "*",
    "web-*",
    "*-cache",
    "[dw]*",
    "label:team=payments",
    "label:tier",
    "label:team=",
    "project:shop",
    "nginx:*",
)


def _subset(values: Sequence[str]) -> st.SearchStrategy[list[str]]:
    return st.lists(st.sampled_from(values), max_size=3, unique=True)


_roles = st.fixed_dictionaries(
    {
        "r1": st.fixed_dictionaries(
            {
                "allow": _subset(("read", "operate", "remove", "pull", "admin", "*", "logs", "stop", "rm")),
                "approval": st.dictionaries(
                    st.sampled_from(("remove", "operate", "rm", "*")), st.sampled_from(("none", "two-person"))
                ),
            }
        ),
        "r2": st.fixed_dictionaries({"allow": _subset(("read", "remove", "image prune", "approve"))}),
    }
)
_bindings = st.lists(
    st.fixed_dictionaries(
        {"role": st.sampled_from(("r1", "r2")), "users": _subset((*_USERS, "*"))},
        optional={
            "groups": _subset(_GROUPS),
            "channels": _subset((*_CHANNEL_IDS, "*", "dm")),
            "hosts": _subset(("*", "prod*", "staging", "d?v")),
            "containers": _subset(_PATTERNS),
        },
    ),
    max_size=4,
)
_targets = st.lists(
    st.builds(
        Target,
        kind=st.sampled_from(("container", "image", "volume", "network")),
        id=st.sampled_from(("", "abc", "abcdef", "0123456789ab", "ff")),
        name=st.sampled_from(_NAMES) | st.text(max_size=6),
        labels=st.dictionaries(st.sampled_from(_LABEL_KEYS), st.sampled_from(_LABEL_VALUES), max_size=3),
    ),
    max_size=3,
)
_principals = st.builds(
    Principal,
    user_id=st.sampled_from(_USERS) | st.text(max_size=4),
    channel_id=st.sampled_from((*_CHANNEL_IDS, "dm", "*")) | st.text(max_size=4),
    groups=st.frozensets(st.sampled_from(_GROUPS)),
    is_dm=st.booleans(),
    local_admin=st.booleans(),
)


@settings(max_examples=400, deadline=None)
@given(
    roles=_roles,
    bindings=_bindings,
    principal=_principals,
    command=st.sampled_from(sorted(COMMANDS)),
    host=st.sampled_from(_HOST_NAMES) | st.text(max_size=5),
    targets=_targets,
    own=st.sampled_from((None, "", "abc", "0123456789abcdef")),
)
def test_random_decisions_agree_with_the_reference(
    *,
    roles: dict[str, Any],
    bindings: list[dict[str, Any]],
    principal: Principal,
    command: str,
    host: str,
    targets: list[Target],
    own: str | None,
) -> None:
    """For random policies, principals, commands and targets, decide never fails and agrees."""
    policy = Policy.from_config(roles, bindings)
    action_class = COMMANDS[command]
    decision = policy.decide(
        principal,
        command=command,
        action_class=action_class,
        host=host,
        targets=targets,
        own_container_id=own,
    )
    assert not decision.rule.startswith("error"), decision
    allowed, approval = reference(
        roles,
        bindings,
        principal,
        command=command,
        action_class=action_class,
        host=host,
        targets=targets,
        own=own,
    )
    if not allowed:
        assert not decision.allowed, decision
    assert (decision.allowed, decision.approval) == (allowed, approval)
