"""The commands the router answers itself: `help`, `whoami`, `can-i`, `audit` and `notify …`.

Each returns a model (never text: `bot.render.builtins` writes it). The catalog names them through
`Builtin(lambda builtins, args, asked: builtins.whoami(args, asked))`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from bot.commands import Catalog, parse
from bot.commands import args as a
from bot.commands.catalog import CommandSpec
from bot.engine import Engine
from bot.errors import NotFound, UsageError
from bot.models import (
    AuditEntry,
    AuditResult,
    CanIResult,
    CanIStep,
    HelpEntry,
    HelpResult,
    Mute,
    MuteResult,
    NotifySentResult,
    NotifyStatusResult,
    ReportInfo,
    RouteInfo,
    WhoamiResult,
)
from bot.policy import Policy, Principal
from bot.router.authorize import Authorizer
from bot.router.hosts import engine_named
from bot.router.invocation import Invocation
from bot.store import Store


@dataclass(frozen=True, slots=True)
class Asked:
    """A built-in's question: the invocation, and the host it is about."""

    invocation: Invocation
    host: str

    @property
    def principal(self) -> Principal:
        """Who asks."""
        return self.invocation.principal


@dataclass(frozen=True, slots=True)
class Notifications:
    """What `notify …` knows of the notification service: its routes and reports as configured, and,
    while notifications run, how to send a test message (`send_test(user_id)`) or a host's disk
    report now (`send_report(user_id, host)`); each returns the channels it queued for."""

    routes: tuple[RouteInfo, ...] = ()
    reports: tuple[ReportInfo, ...] = ()
    send_test: Callable[[str], Sequence[str]] | None = None
    send_report: Callable[[str, str], Sequence[str]] | None = None


class Builtins:
    """The built-in commands over the router's catalog, policy, store and hosts."""

    def __init__(
        self,
        catalog: Catalog,
        authorizer: Authorizer,
        store: Store,
        engines: Mapping[str, Engine],
        notifications: Notifications | None = None,
    ) -> None:
        self.catalog = catalog
        self.authorizer = authorizer
        self.store = store
        self.engines = engines
        self.notifications = notifications or Notifications()

    @property
    def policy(self) -> Policy:
        """The policy every decision here comes from."""
        return self.authorizer.policy

    def help(self, args: a.HelpArgs, asked: Asked) -> HelpResult:
        """`help`: only what the asker may run here, marking what asks to confirm or needs approval."""
        principal, host = asked.principal, asked.host
        if not args.command:
            visible = [s for s in self.catalog.visible() if self.policy.can(principal, s, host)]
            return HelpResult(entries=tuple(self._entry(spec, principal, host) for spec in visible))
        resolved = self.catalog.resolve(list(args.command))
        if resolved is None or resolved[1]:
            suggestion = self.catalog.suggest(list(args.command))
            hint = f'did you mean "{suggestion}"?' if suggestion else 'try "help" for the list of commands'
            raise UsageError(f'unknown command "{" ".join(args.command)}"', hint=hint)
        return HelpResult(entries=(self._entry(resolved[0], principal, host),), detailed=True)

    def _entry(self, spec: CommandSpec[a.Args], principal: Principal, host: str) -> HelpEntry:
        return HelpEntry(
            name=spec.name,
            aliases=spec.aliases,
            usage=spec.usage,
            summary=spec.summary,
            action_class=spec.action_class,
            confirm=spec.confirm,
            two_person=self.policy.approval_for(principal, spec, host) == "two-person",
            options=tuple((option.display, option.help) for option in spec.options),
            examples=spec.examples,
        )

    def whoami(self, args: a.NoArgs, asked: Asked) -> WhoamiResult:
        """`whoami`: the asker's IDs, groups, roles and action classes here."""
        invocation, principal, host = asked.invocation, asked.principal, asked.host
        return WhoamiResult(
            user_id=invocation.user_id,
            channel_id=invocation.channel_id,
            groups=invocation.groups,
            host=host,
            roles=tuple(self.policy.roles_of(principal, host)),
            action_classes=tuple(self.policy.allowed_classes(principal, host)),
            may_approve=self.policy.can_approve(principal, host),
            local_admin=invocation.local_admin,
        )

    def can_i(self, args: a.CanIArgs, asked: Asked) -> CanIResult:
        """`can-i COMMAND…`: each step decided by the same authorize step as a real run; nothing runs."""
        text = " ".join(args.command)
        engine = engine_named(self.engines, asked.host)
        steps = []
        for command in parse(text, self.catalog):
            step = self.authorizer.step(asked.invocation, command, asked.host, engine)
            steps.append(
                CanIStep(
                    text=command.text,
                    allowed=step.decision.allowed,
                    reason=step.decision.reason,
                    rule=step.decision.rule,
                    needs_confirmation=step.needs_confirmation,
                    needs_approval=step.decision.approval == "two-person",
                )
            )
        return CanIResult(command=text, host=asked.host, steps=tuple(steps))

    def audit(self, args: a.AuditArgs, asked: Asked) -> AuditResult:
        """`audit [--user U] [--limit N]`: the newest decisions, for admins."""
        rows = self.store.audit_rows(user_id=args.user, limit=args.limit)
        entries = tuple(
            AuditEntry(
                at=row.at,
                user_id=row.user_id,
                channel_id=row.channel_id,
                text=row.text,
                decision=row.decision,
                outcome=row.outcome,
            )
            for row in rows
        )
        return AuditResult(entries=entries, user_id=args.user)

    def notify_status(self, args: a.NoArgs, asked: Asked) -> NotifyStatusResult:
        """`notify status`: the routes and scheduled reports from the config and the mutes in force."""
        mutes = tuple(
            Mute(host=host, container=container, until=until, by=by)
            for host, container, until, by in self.store.mutes()
        )
        return NotifyStatusResult(
            routes=self.notifications.routes,
            reports=self.notifications.reports,
            mutes=mutes,
            now=time.time(),
        )

    def notify_mute(self, args: a.NotifyMuteArgs, asked: Asked) -> MuteResult:
        """`notify mute CONTAINER DURATION`."""
        until = time.time() + args.seconds
        self.store.mute(asked.host, args.container, until, asked.invocation.user_id)
        return MuteResult(host=asked.host, container=args.container, until=until)

    def notify_unmute(self, args: a.NotifyUnmuteArgs, asked: Asked) -> MuteResult:
        """`notify unmute CONTAINER`."""
        if not self.store.unmute(asked.host, args.container):
            raise NotFound(f"{args.container} is not muted on host {asked.host}")
        return MuteResult(host=asked.host, container=args.container)

    def notify_test(self, args: a.NoArgs, asked: Asked) -> NotifySentResult:
        """`notify test`: a test message to every routed channel (only while notifications run)."""
        send_test = self.notifications.send_test
        if send_test is None:
            raise NotFound(
                "notifications are not running here", hint="configure [[notify.routes]] and run the bot"
            )
        return NotifySentResult(kind="test", channels=tuple(send_test(asked.invocation.user_id)))

    def notify_report(self, args: a.NoArgs, asked: Asked) -> NotifySentResult:
        """`notify report`: the disk report of this host, now, to the routes taking "disk"."""
        send_report = self.notifications.send_report
        if send_report is None:
            raise NotFound(
                "disk reports go to notification channels, and notifications are not running here",
                hint='run the bot with a [[notify.routes]] entry listening to "disk"; here, `system df`, '
                "`images -f dangling=true` and `ps -a -f status=exited` show the same figures",
            )
        channels = tuple(send_report(asked.invocation.user_id, asked.host))
        if not channels:
            raise NotFound(
                f'no notification route takes "disk" reports from host {asked.host}',
                hint='add "disk" to the events of a [[notify.routes]] entry whose hosts match this host',
            )
        return NotifySentResult(kind="disk", channels=channels, host=asked.host)
