"""Roles, bindings and the one `decide()` every command goes through before Docker is touched.

A role says what may be done: action classes (`read`, `operate`, `remove`, `pull`, `admin`), command
names (`logs`, `image prune`), `"approve"` (may approve someone else's two-person request) or `"*"`
(everything, approving included). A binding says who (user IDs or `"*"`, user group IDs), where (channel
IDs, `"dm"`, `"*"`; host globs) and on what (container patterns) a role holds. With no policy configured,
everyone may read everywhere and nobody may change anything. Deny in doubt: if deciding fails, the answer
is no. Decisions use IDs only; a display name never enters.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from bot.commands.catalog import ACTION_CLASSES, CATALOG, READ, Catalog, CommandSpec
from bot.mentions import channel_ref, user_ref
from bot.models import Target
from bot.policy.scopes import ANY, DM, ContainerPattern, check_glob, check_ids, host_matches, protection
from bot.suggest import did_you_mean

log = logging.getLogger(__name__)

Approval = Literal["none", "two-person"]
APPROVAL_MODES: tuple[Approval, ...] = ("none", "two-person")
APPROVE = "approve"  # an extra `allow` keyword: may approve another person's two-person request
DEFAULT_ROLE = "default"
LOCAL_ROLE = "local-admin"
DEFAULT_RULE = "default: read for everyone"
LOCAL_RULE = "local: shell without --as"
DENY_RULE = "default: deny"
ERROR_RULE = "error: deny in doubt"
# Classes whose commands act on Docker objects: with no targets named, only an unscoped binding covers them.
_OBJECT_CLASSES = {"operate", "remove", "pull"}


@dataclass(frozen=True)
class Principal:
    """Who asks, and where: Slack IDs only. `is_dm` is the door's fact (Slack says so in the payload; a
    channel ID's shape is not asked); `local_admin` is the local shell without `--as`."""

    user_id: str
    channel_id: str
    team_id: str = ""
    groups: frozenset[str] = frozenset()
    is_dm: bool = False
    local_admin: bool = False


@dataclass(frozen=True)
class Decision:
    """The answer: allowed or not, a sentence for the asker, the rule that decided, and any approval."""

    allowed: bool
    reason: str
    rule: str
    approval: Approval = "none"
    roles: tuple[str, ...] = ()


class RoleSpec(Protocol):
    """What `from_config` reads from a role (`RoleConfig` in the settings satisfies it)."""

    @property
    def allow(self) -> Sequence[str]: ...

    @property
    def approval(self) -> Mapping[str, str]: ...


class BindingSpec(Protocol):
    """What `from_config` reads from a binding (`BindingConfig` in the settings satisfies it)."""

    @property
    def role(self) -> str: ...

    @property
    def users(self) -> Sequence[str]: ...

    @property
    def groups(self) -> Sequence[str]: ...

    @property
    def channels(self) -> Sequence[str]: ...

    @property
    def hosts(self) -> Sequence[str]: ...

    @property
    def containers(self) -> Sequence[str]: ...


@dataclass(frozen=True, slots=True)
class Role:
    """A named set of grants: classes, command names, `approve`, `*`; and which of them need approval."""

    name: str
    allow: frozenset[str]
    approval: Mapping[str, Approval]

    def grants(self, command: str, action_class: str) -> bool:
        """True when this role allows `command` (of `action_class`)."""
        return bool({ANY, action_class, command} & self.allow)

    def approval_for(self, command: str, action_class: str) -> Approval:
        """The approval this role asks for `command`: by name first, then its class, then `*`."""
        for key in (command, action_class, ANY):
            if key in self.approval:
                return self.approval[key]
        return "none"

    @property
    def may_approve(self) -> bool:
        """True when holders may approve another person's two-person request."""
        return bool({ANY, APPROVE} & self.allow)


@dataclass(frozen=True, slots=True)
class Binding:
    """One `[[bindings]]` entry: a role held by users or groups, in channels, on hosts, on some objects."""

    index: int
    role: Role
    users: frozenset[str]
    groups: frozenset[str]
    channels: frozenset[str]
    hosts: tuple[str, ...]
    containers: tuple[ContainerPattern, ...]

    @property
    def rule(self) -> str:
        """The machine-readable id decisions cite: `bindings[1] role=operator`."""
        return f"bindings[{self.index}] role={self.role.name}"

    @property
    def unscoped(self) -> bool:
        """True when every object is in scope (`containers` holds `*`)."""
        return any(pattern.everything for pattern in self.containers)

    def applies(self, principal: Principal, host: str) -> bool:
        """Who and where: user or group, channel (or DM), host."""
        who = ANY in self.users or principal.user_id in self.users or bool(self.groups & principal.groups)
        where = (
            ANY in self.channels
            or (principal.channel_id not in (ANY, DM) and principal.channel_id in self.channels)
            or (DM in self.channels and principal.is_dm)
        )
        return who and where and host_matches(self.hosts, host)

    def covers(self, target: Target) -> bool:
        """True when `target` is in this binding's object scope, and so are the containers that hold it
        (an image's containers: its removal reaches them)."""
        return any(pattern.matches(target) for pattern in self.containers) and all(
            self.covers(holder) for holder in target.held_by
        )

    def scope_text(self) -> str:
        """The object scope as written, for reasons: `[web-*, label:team=payments]`."""
        return "[" + ", ".join(pattern.text for pattern in self.containers) + "]"


def known_commands(catalog: Catalog) -> dict[str, str]:
    """Every command spelling `catalog` knows (aliases too) -> its canonical name."""
    known: dict[str, str] = {}
    for spec in catalog.specs:
        for spelling in (spec.name, *spec.aliases):
            known[" ".join(spelling.split())] = spec.name
    return known


def _field(source: object, key: str, default: object) -> object:
    if isinstance(source, Mapping):
        return source.get(key, default)
    return getattr(source, key, default)


def _strings(value: object, where: str) -> tuple[str, ...]:
    if isinstance(value, str) or not isinstance(value, Sequence):
        raise ValueError(f"{where}: must be a list of strings")
    if not all(isinstance(item, str) for item in value):
        raise ValueError(f"{where}: must be a list of strings")
    return tuple(str(item) for item in value)


def _allow_entry(entry: str, where: str, known: Mapping[str, str]) -> str:
    if entry in (ANY, APPROVE) or entry in ACTION_CLASSES:
        return entry
    spelling = " ".join(entry.split())
    if spelling in known:
        return known[spelling]
    close = did_you_mean(entry, [*ACTION_CLASSES, APPROVE, *known])
    hint = f"; {close}" if close else ""
    raise ValueError(
        f"{where}: unknown action class or command {entry!r} "
        f'(action classes: {", ".join(ACTION_CLASSES)}; also "approve", "*" or a command name){hint}'
    )


def _role(name: object, spec: object, known: Mapping[str, str]) -> Role:
    where = f"roles.{name}"
    if not isinstance(name, str) or not name.strip() or name != name.strip():
        raise ValueError(f"{where}: a role needs a name without surrounding spaces")
    allow = _strings(_field(spec, "allow", ()), f"{where}.allow")
    entries = frozenset(_allow_entry(entry, f"{where}.allow", known) for entry in allow)
    raw_approval = _field(spec, "approval", {})
    if not isinstance(raw_approval, Mapping):
        raise ValueError(f'{where}.approval: must be a table such as {{ remove = "two-person" }}')
    approval: dict[str, Approval] = {}
    for key, mode in raw_approval.items():
        if not isinstance(key, str) or (
            key not in (ANY, *ACTION_CLASSES) and " ".join(key.split()) not in known
        ):
            raise ValueError(
                f"{where}.approval: {key!r} is not an action class ({', '.join(ACTION_CLASSES)}), "
                '"*" or a command name'
            )
        if mode not in APPROVAL_MODES:
            modes = ", ".join(APPROVAL_MODES)
            raise ValueError(f"{where}.approval.{key}: unknown approval mode {mode!r} (modes: {modes})")
        approval[key if key in (ANY, *ACTION_CLASSES) else known[" ".join(key.split())]] = mode
    return Role(name, entries, approval)


def _binding(index: int, spec: object, roles: Mapping[str, Role]) -> Binding:
    where = f"bindings.{index}"
    role_name = _field(spec, "role", None)
    if not isinstance(role_name, str):
        raise ValueError(f"{where}.role: every binding names a role")
    if role_name not in roles:
        known = ", ".join(sorted(roles)) or "none defined"
        raise ValueError(f"{where}.role: unknown role {role_name!r} (roles: {known})")
    users = _strings(_field(spec, "users", ()), f"{where}.users")
    groups = _strings(_field(spec, "groups", ()), f"{where}.groups")
    channels = _strings(_field(spec, "channels", (ANY,)), f"{where}.channels")
    hosts = _strings(_field(spec, "hosts", (ANY,)), f"{where}.hosts")
    containers = _strings(_field(spec, "containers", (ANY,)), f"{where}.containers")
    check_ids(users, f"{where}.users", "users")
    check_ids(groups, f"{where}.groups", "groups")
    check_ids(channels, f"{where}.channels", "channels")
    return Binding(
        index=index,
        role=roles[role_name],
        users=frozenset(users),
        groups=frozenset(groups),
        channels=frozenset(channels),
        hosts=tuple(check_glob(host, f"{where}.hosts") for host in hosts),
        containers=tuple(ContainerPattern.parse(text, f"{where}.containers") for text in containers),
    )


def _where(principal: Principal) -> str:
    channel = principal.channel_id
    if principal.is_dm:
        return "in this direct message"
    return f"in {channel_ref(channel)}" if channel else "here"


def _target_names(targets: Sequence[Target], limit: int = 3) -> str:
    names = [target.name or target.id[:12] for target in targets]
    shown = ", ".join(names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


class Policy:
    """The roles and bindings in force; `decide()` answers one question: may this principal do this here?"""

    def __init__(
        self,
        roles: Mapping[str, Role],
        bindings: Sequence[Binding],
        *,
        default: bool = False,
        catalog: Catalog = CATALOG,
    ) -> None:
        self.roles = dict(roles)
        self.bindings = tuple(bindings)
        self.is_default = default
        self.catalog = catalog  # the commands it decides on: a command's canonical name and action class

    @classmethod
    def default(cls, catalog: Catalog = CATALOG) -> Policy:
        """No policy configured: everyone may read everywhere; nobody may change anything."""
        role = Role(DEFAULT_ROLE, frozenset({READ}), {})
        all_containers = (ContainerPattern(ANY, "glob"),)
        everyone = Binding(0, role, frozenset({ANY}), frozenset(), frozenset({ANY}), (ANY,), all_containers)
        return cls({DEFAULT_ROLE: role}, (everyone,), default=True, catalog=catalog)

    @classmethod
    def from_config(
        cls,
        roles: Mapping[str, RoleSpec | Mapping[str, object]],
        bindings: Sequence[BindingSpec | Mapping[str, object]],
        catalog: Catalog = CATALOG,
    ) -> Policy:
        """Check and build the policy on `catalog` (the commands a role may name); `ValueError` names the
        first bad key (`bindings.1.role: …`).

        No roles and no bindings at all is the default policy.
        """
        if not roles and not bindings:
            return cls.default(catalog)
        known = known_commands(catalog)
        built = {name: _role(name, spec, known) for name, spec in roles.items()}
        made = tuple(_binding(index, spec, built) for index, spec in enumerate(bindings))
        return cls(built, made, catalog=catalog)

    def _canonical(self, command: str) -> str:
        spec = self.catalog.get(command)
        return spec.name if spec is not None else " ".join(command.split())

    def _class_of(self, command: str) -> str | None:
        spec = self.catalog.get(command)
        return spec.action_class if spec is not None else None

    def _host_wide(self, command: str) -> bool:
        spec = self.catalog.get(command)
        return spec is not None and spec.host_wide

    def describe(self) -> str:
        """One line for the start-up log."""
        if self.is_default:
            return "no policy: everyone may read; nobody may change anything"
        roles = f"{len(self.roles)} role{'s' * (len(self.roles) != 1)} ({', '.join(sorted(self.roles))})"
        if not self.bindings:
            return f"policy: {roles}, no bindings: nobody may do anything"
        count = len(self.bindings)
        return f"policy: {roles}, {count} binding{'s' * (count != 1)}; anything not granted is denied"

    # ---- questions without targets: whoami, help, approving ------------------------------------------

    def applicable(self, principal: Principal, host: str) -> list[Binding]:
        """The bindings that hold for this principal, in this channel, on this host."""
        return [binding for binding in self.bindings if binding.applies(principal, host)]

    def roles_of(self, principal: Principal, host: str) -> list[str]:
        """The roles the principal holds here, in binding order."""
        if principal.local_admin:
            return [LOCAL_ROLE]
        return list(dict.fromkeys(binding.role.name for binding in self.applicable(principal, host)))

    def allowed_classes(self, principal: Principal, host: str) -> list[str]:
        """The action classes granted here (some perhaps only on some objects), then single commands."""
        if principal.local_admin:
            return list(ACTION_CLASSES)
        allow = set().union(*(binding.role.allow for binding in self.applicable(principal, host)))
        if ANY in allow:
            return list(ACTION_CLASSES)
        classes = [name for name in ACTION_CLASSES if name in allow]
        commands = sorted(
            name for name in allow - {APPROVE, *ACTION_CLASSES} if self._class_of(name) not in classes
        )
        return classes + commands

    def can(self, principal: Principal, spec: CommandSpec[Any], host: str) -> bool:
        """Whether `spec` may be run here at all (on some objects): what `help` lists."""
        if principal.local_admin:
            return True
        return any(
            binding.role.grants(spec.name, spec.action_class) and (binding.unscoped or not spec.host_wide)
            for binding in self.applicable(principal, host)
        )

    def approval_for(self, principal: Principal, spec: CommandSpec[Any], host: str) -> Approval:
        """The approval `spec` needs here: "two-person" when every grant of it asks for a second person."""
        if principal.local_admin:
            return "none"
        modes = [
            binding.role.approval_for(spec.name, spec.action_class)
            for binding in self.applicable(principal, host)
            if binding.role.grants(spec.name, spec.action_class)
        ]
        return "two-person" if modes and "none" not in modes else "none"

    def can_approve(self, principal: Principal, host: str) -> bool:
        """True when the principal may approve another person's two-person request here."""
        if principal.local_admin:
            return True
        return any(binding.role.may_approve for binding in self.applicable(principal, host))

    def describe_grants(self, principal: Principal, host: str) -> str:
        """What the principal holds here, as denials quote it: `"read", "operate" on [web-*]`."""
        if principal.local_admin:
            return "everything except protected objects (local shell)"
        grants: dict[str, list[tuple[str | None, bool]]] = {}
        for binding in self.applicable(principal, host):
            for entry in binding.role.allow:
                scoped = entry not in (READ, APPROVE) and not binding.unscoped
                two_person = binding.role.approval_for(entry, entry) == "two-person"
                grants.setdefault(entry, []).append((binding.scope_text() if scoped else None, two_person))
        parts = []
        for entry in sorted(grants, key=_entry_order):
            everywhere = [two for scope, two in grants[entry] if scope is None]
            text = "everything" if entry == ANY else f'"{entry}"'
            if everywhere:
                two_person = all(everywhere)
            else:
                two_person = all(two for _, two in grants[entry])
                text += " on " + " or ".join(dict.fromkeys(str(scope) for scope, _ in grants[entry]))
            parts.append(text + (" (two-person)" if two_person else ""))
        return ", ".join(parts)

    # ---- the decision -------------------------------------------------------------------------------

    def decide(
        self,
        principal: Principal,
        *,
        command: str,
        action_class: str,
        host: str,
        targets: Sequence[Target] = (),
        own_container_id: str | None = None,
    ) -> Decision:
        """May `principal` run `command` (of `action_class`) on `host`, touching `targets`? Never raises."""
        try:
            return self._decide(
                principal,
                command=command,
                action_class=action_class,
                host=host,
                targets=tuple(targets),
                own_container_id=own_container_id,
            )
        except Exception:  # deny in doubt: a policy that cannot decide says no
            log.exception("policy: could not decide %r on host %r; denying", command, host)
            return Decision(
                False,
                f"Denied: the policy could not decide whether {command} may run on host {host}; "
                "denying in doubt. Ask an admin to check the policy.",
                ERROR_RULE,
            )

    def _decide(
        self,
        principal: Principal,
        *,
        command: str,
        action_class: str,
        host: str,
        targets: tuple[Target, ...],
        own_container_id: str | None,
    ) -> Decision:
        if action_class not in ACTION_CLASSES:
            raise ValueError(f"unknown action class {action_class!r}")
        command = self._canonical(command)
        known_class = self._class_of(command)
        if known_class is not None and known_class != action_class:
            raise ValueError(f"{command} is {known_class!r} in the catalog, not {action_class!r}")
        mutating = action_class != READ
        if mutating:
            for target in targets:
                why = protection(target, own_container_id)
                if why is not None:
                    name = _target_names((target,))
                    return Decision(
                        False,
                        f"Denied: {command} refuses {name} (host {host}): it is protected by {why}; "
                        "nobody may change it from chat, admins included",
                        f"protected: {why} on {name}",
                    )
        if principal.local_admin:
            return Decision(
                True,
                f"Allowed: {command} on host {host} from the local shell",
                LOCAL_RULE,
                roles=(LOCAL_ROLE,),
            )
        granting = [
            binding
            for binding in self.applicable(principal, host)
            if binding.role.grants(command, action_class)
        ]
        if not mutating and self._host_wide(command):  # `events` names every container on the host
            chosen = _choose([b for b in granting if b.unscoped], command, action_class)
            if chosen is None:
                what = f"on every container of host {host} (its answer names them all)"
                return self._denied(principal, command, action_class, host, what)
            return self._allowed(command, host, [chosen], command_class=action_class, targets=targets)
        if not mutating or (not targets and action_class not in _OBJECT_CLASSES):
            chosen = _choose(granting, command, action_class)
            if chosen is None:
                return self._denied(principal, command, action_class, host, f"on host {host}")
            return self._allowed(command, host, [chosen], command_class=action_class, targets=targets)
        if not targets:
            chosen = _choose([b for b in granting if b.unscoped], command, action_class)
            if chosen is None:
                return self._denied(principal, command, action_class, host, f"on everything on host {host}")
            return self._allowed(command, host, [chosen], command_class=action_class, targets=targets)
        chosen_per_target: list[Binding] = []
        uncovered: list[Target] = []
        for target in targets:
            chosen = _choose([b for b in granting if b.covers(target)], command, action_class)
            if chosen is None:
                uncovered.append(target)
            else:
                chosen_per_target.append(chosen)
        if uncovered:
            what = f"on {_target_names(uncovered)} (host {host})"
            return self._denied(principal, command, action_class, host, what)
        return self._allowed(command, host, chosen_per_target, command_class=action_class, targets=targets)

    def _allowed(
        self,
        command: str,
        host: str,
        chosen: Sequence[Binding],
        *,
        command_class: str,
        targets: Sequence[Target],
    ) -> Decision:
        used = list({binding.index: binding for binding in chosen}.values())
        roles = tuple(dict.fromkeys(binding.role.name for binding in used))
        two_person = any(
            binding.role.approval_for(command, command_class) == "two-person" for binding in used
        )
        on = f" on {_target_names(targets)}" if targets and command_class != READ else ""
        if self.is_default:
            return Decision(
                True, f"Allowed: {command} on host {host}: everyone may read", DEFAULT_RULE, roles=roles
            )
        approval: Approval = "two-person" if two_person else "none"
        after = "; a second person must approve" if two_person else ""
        return Decision(
            True,
            f"Allowed: {command}{on} (host {host}) by role {', '.join(roles)}{after}",
            " + ".join(binding.rule for binding in used),
            approval=approval,
            roles=roles,
        )

    def _denied(
        self, principal: Principal, command: str, action_class: str, host: str, what: str
    ) -> Decision:
        grants = self.describe_grants(principal, host)
        has = f"have {grants} {_where(principal)}" if grants else "have nothing here"
        roles = tuple(self.roles_of(principal, host))
        return Decision(
            False,
            f'Denied: {command} needs "{action_class}" {what}; you ({user_ref(principal.user_id)}) {has}',
            DEFAULT_RULE if self.is_default else DENY_RULE,
            roles=roles,
        )


def _choose(candidates: Sequence[Binding], command: str, action_class: str) -> Binding | None:
    """The binding a decision cites: the first that needs no approval, else the first at all."""
    for binding in candidates:
        if binding.role.approval_for(command, action_class) == "none":
            return binding
    return candidates[0] if candidates else None


def _entry_order(entry: str) -> tuple[int, str]:
    order = [*ACTION_CLASSES, APPROVE]
    return (order.index(entry), entry) if entry in order else (len(order), entry)
