"""The command catalog: every command the bot understands, as data.

One `CommandSpec` per command: its words, aliases, options, positional arguments, argument model, action
class and its handler, a typed callable: `Read` (an engine function of the arguments), `Act` (an engine
planner and the engine function that runs the plan it made) or `Builtin` (a router built-in such as `help`).
The parser, `help`, the README's reference and the policy all read this table; adding a command is one
entry here plus one engine function (and, for a new result type, one renderer).

The handlers call the engine through the instance they are handed, so a reader (and the type checker)
follows `rm` from here to `Engine.rm`; the engine and the router are imported only for their types, since
both import this package.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from bot.commands import args as a
from bot.models import Plan, PullProgress, Result
from bot.suggest import closest

if TYPE_CHECKING:
    from bot.engine import Engine
    from bot.router.builtins import Asked, Builtins

READ = "read"
OPERATE = "operate"  # start, stop, restart, kill, pause, unpause
REMOVE = "remove"  # rm, rmi, every prune
PULL = "pull"
ADMIN = "admin"  # audit, notification settings
ACTION_CLASSES = (READ, OPERATE, REMOVE, PULL, ADMIN)

# When a command first answers with a plan and Confirm / Cancel buttons.
NEVER = "never"
ALWAYS = "always"
MANY = "many"  # when it acts on more than one target (e.g. `stop a b`)


@dataclass(frozen=True, slots=True)
class Option:
    """A flag, docker-CLI style: `-a`/`--all` (a switch) or `-f`/`--filter VALUE` (takes a value)."""

    dest: str
    long: str
    short: str | None = None
    metavar: str | None = None
    repeat: bool = False
    help: str = ""

    @property
    def takes_value(self) -> bool:
        """True for options followed by a value (`--tail 50`); False for switches (`-a`)."""
        return self.metavar is not None

    @property
    def display(self) -> str:
        """How help and usage lines show the option: `-n, --tail N`."""
        names = f"{self.short}, {self.long}" if self.short else f"    {self.long}"
        return f"{names} {self.metavar}" if self.metavar else names


@dataclass(frozen=True, slots=True)
class Positional:
    """A positional argument: `dest` in the args model, `metavar` in usage lines."""

    dest: str
    metavar: str
    required: bool = True
    many: bool = False


ArgsT = TypeVar("ArgsT", bound=a.Args)
Progress = Callable[[PullProgress], None]  # where a running command is (`pull`), for the door to word


@dataclass(frozen=True, slots=True)
class Read(Generic[ArgsT]):
    """A command that only reads: `run(engine, args)` returns its result."""

    run: Callable[[Engine, ArgsT], Result]


@dataclass(frozen=True, slots=True)
class Act(Generic[ArgsT]):
    """A command that changes Docker: `plan(engine, args)` says exactly what it would touch (the policy and
    the confirmation see that plan); `run(engine, args, plan, progress)` sends only what that plan resolved,
    reporting while it runs through `progress` if it can (`pull`)."""

    plan: Callable[[Engine, ArgsT], Plan]
    run: Callable[[Engine, ArgsT, Plan, Progress | None], Result]


@dataclass(frozen=True, slots=True)
class Builtin(Generic[ArgsT]):
    """A command the router answers itself (`help`, `whoami`, `notify mute` …): `run(builtins, args, asked)`.
    `touches_engine` when it may still call a Docker engine (`can-i` plans, `notify report` reads the host):
    it then runs on that host's pool, not the built-ins' own."""

    run: Callable[[Builtins, ArgsT, Asked], Result]
    touches_engine: bool = False


Handler = Read[ArgsT] | Act[ArgsT] | Builtin[ArgsT]


@dataclass(frozen=True, slots=True)
class CommandSpec(Generic[ArgsT]):
    """One command of the catalog."""

    name: str
    summary: str
    args_model: type[ArgsT]
    handler: Handler[ArgsT]
    action_class: str = READ
    confirm: str = NEVER
    aliases: tuple[str, ...] = ()
    options: tuple[Option, ...] = ()
    positionals: tuple[Positional, ...] = ()
    preset: Mapping[str, Any] = field(default_factory=dict)
    refused: Mapping[str, str] = field(default_factory=dict)
    examples: tuple[str, ...] = ()
    hidden: bool = False
    takes_rest: bool = False  # the rest of the line, `&&` included, is this command's argument (`can-i`)
    # its answer names every object on the host (`events`): only a binding on all containers grants it
    host_wide: bool = False

    @property
    def touches_engine(self) -> bool:
        """Whether running this command may call a Docker engine."""
        return not isinstance(self.handler, Builtin) or self.handler.touches_engine

    @property
    def usage(self) -> str:
        """The usage line, docker style: `ps [OPTIONS]`, `logs [OPTIONS] CONTAINER`."""
        parts = [self.name]
        if self.options:
            parts.append("[OPTIONS]")
        for positional in self.positionals:
            shown = positional.metavar + ("..." if positional.many else "")
            parts.append(shown if positional.required else f"[{shown}]")
        return " ".join(parts)

    def option(self, flag: str) -> Option | None:
        """The option spelled `flag` (`-a` or `--all`), if this command has it."""
        for option in self.options:
            if flag in (option.long, option.short):
                return option
        return None

    def flag_spellings(self) -> list[str]:
        """Every spelling of every option, for did-you-mean suggestions."""
        return [s for o in self.options for s in (o.long, o.short) if s]


def _filter(keys: str) -> Option:
    return Option("filters", "--filter", "-f", "KEY=VALUE", repeat=True, help=f"Filter output ({keys})")


_ALL = Option("all", "--all", "-a", help="Show all containers (default shows just running)")
_QUIET = Option("quiet", "--quiet", "-q", help="Only display IDs")
_NO_TRUNC = Option("no_trunc", "--no-trunc", help="Don't truncate output")
_RAW_JSON = Option("raw_json", "--json", help="Show the raw JSON (environment values masked)")
_FORMAT_HELP = "Format output: 'table', 'table TEMPLATE', 'json' or a Go TEMPLATE (e.g. '{{.Names}}')"
_FORMAT = Option("format", "--format", metavar="FORMAT", help=_FORMAT_HELP)
_FORMAT_F = Option("format", "--format", "-f", "FORMAT", help="Format the output using the given Go template")
_CONTAINERS = Positional("containers", "CONTAINER", many=True)
_PRUNE_FORCE = Option(
    "force", "--force", "-f", help="Accepted and ignored: the bot asks for confirmation instead of a prompt"
)


def _prune_filter(keys: str) -> Option:
    return Option(
        "filters", "--filter", None, "KEY=VALUE", repeat=True, help=f"Provide filter values ({keys})"
    )


def _time_option(verb: str) -> Option:
    return Option("time", "--time", "-t", "N", help=f"Seconds to wait before killing the container ({verb})")


def _container_verb(
    name: str,
    summary: str,
    args_model: type[ArgsT],
    handler: Act[ArgsT],
    *,
    confirm: str = NEVER,
    options: tuple[Option, ...] = (),
    examples: tuple[str, ...] = (),
) -> CommandSpec[ArgsT]:
    """`start`, `stop`, `kill` …: one verb on one or more containers, also spelled `container VERB`."""
    return CommandSpec(
        name=name,
        summary=summary,
        aliases=(f"container {name}",),
        args_model=args_model,
        handler=handler,
        action_class=OPERATE,
        confirm=confirm,
        options=options,
        positionals=(_CONTAINERS,),
        examples=examples,
    )


COMMANDS = (
    CommandSpec(
        name="ps",
        summary="List containers",
        aliases=("container ls", "container list", "container ps"),
        args_model=a.PsArgs,
        handler=Read(lambda engine, args: engine.ps(args)),
        options=(
            _ALL,
            _filter("status, name, label, ancestor, exited, health, id, before, since, volume, network, …"),
            Option("last", "--last", "-n", "N", help="Show n last created containers (includes all states)"),
            Option(
                "latest", "--latest", "-l", help="Show the latest created container (includes all states)"
            ),
            _NO_TRUNC,
            _QUIET,
            Option("size", "--size", "-s", help="Display total file sizes"),
            _FORMAT,
        ),
        examples=("ps", "ps -a", "ps -a -f status=exited", "ps -f name=web -q", "ps --format '{{.Names}}'"),
    ),
    CommandSpec(
        name="images",
        summary="List images",
        aliases=("image ls", "image list", "images ls"),
        args_model=a.ImagesArgs,
        handler=Read(lambda engine, args: engine.images(args)),
        options=(
            Option("all", "--all", "-a", help="Show all images (default hides intermediate images)"),
            _filter("dangling=true|false, label, reference, before, since"),
            _NO_TRUNC,
            _QUIET,
            _FORMAT,
        ),
        positionals=(Positional("reference", "REPOSITORY[:TAG]", required=False),),
        examples=("images", "images -f dangling=true", "images app", "images -f reference='app:*'"),
    ),
    CommandSpec(
        name="inspect",
        summary="Show a container, image or volume (container first, as docker inspect resolves)",
        args_model=a.InspectArgs,
        handler=Read(lambda engine, args: engine.inspect(args)),
        options=(
            _RAW_JSON,
            Option("type", "--type", metavar="TYPE", help="Only look for a container, image or volume"),
            _FORMAT_F,
        ),
        positionals=(Positional("target", "NAME|ID"),),
        examples=(
            "inspect web",
            "inspect --json web",
            "inspect -f '{{.State.Status}}' web",
            "inspect app:1.0",
        ),
    ),
    CommandSpec(
        name="container inspect",
        summary="Show a container",
        args_model=a.InspectArgs,
        handler=Read(lambda engine, args: engine.inspect(args)),
        options=(_RAW_JSON, _FORMAT_F),
        positionals=(Positional("target", "CONTAINER"),),
        preset={"type": "container"},
        hidden=True,
    ),
    CommandSpec(
        name="image inspect",
        summary="Show an image",
        args_model=a.InspectArgs,
        handler=Read(lambda engine, args: engine.inspect(args)),
        options=(_RAW_JSON, _FORMAT_F),
        positionals=(Positional("target", "IMAGE"),),
        preset={"type": "image"},
        hidden=True,
    ),
    CommandSpec(
        name="logs",
        summary=f"Show a container's last log lines (default {a.DEFAULT_LOG_LINES}, up to {a.MAX_LOG_LINES})",
        aliases=("container logs",),
        args_model=a.LogsArgs,
        handler=Read(lambda engine, args: engine.logs(args)),
        options=(
            Option(
                "tail",
                "--tail",
                "-n",
                "N",
                help=f"Number of lines from the end (default {a.DEFAULT_LOG_LINES})",
            ),
            Option(
                "since",
                "--since",
                metavar="WHEN",
                help="Only lines since a time (RFC 3339) or for a duration (10m)",
            ),
            Option("timestamps", "--timestamps", "-t", help="Show timestamps"),
        ),
        positionals=(Positional("container", "CONTAINER"),),
        refused={
            "--follow": "following is not possible in chat; use --since 5m or --tail N",
            "-f": "following is not possible in chat; use --since 5m or --tail N",
        },
        examples=("logs web", "logs web --tail 200", "logs web --since 10m -t"),
    ),
    CommandSpec(
        name="events",
        summary=(
            f"Show the host's events in a window of at most {a.EVENTS_WINDOW / 60:g} minutes (default the "
            f"last {a.EVENTS_WINDOW / 60:g}), up to {a.MAX_EVENTS:,}; never follows; needs read on all "
            "containers (it names them all)"
        ),
        aliases=("system events",),
        args_model=a.EventsArgs,
        handler=Read(lambda engine, args: engine.events(args)),
        options=(
            Option(
                "since",
                "--since",
                metavar="WHEN",
                help="From this time: RFC 3339, a Unix timestamp or a duration ago (10m); "
                "default: 10 minutes before --until",
            ),
            Option(
                "until",
                "--until",
                metavar="WHEN",
                help="Up to this time (same forms; default and latest: now)",
            ),
            _filter(
                "container, event, image, label, network, type, volume, daemon, scope, plugin, node, "
                "service, config, secret"
            ),
            Option(
                "format",
                "--format",
                metavar="FORMAT",
                help="Format the output using the given Go template, or 'json'",
            ),
        ),
        host_wide=True,
        examples=(
            "events --since 10m",
            "events --since 1h --until 50m -f container=web",
            "events -f type=container -f event=die",
        ),
    ),
    CommandSpec(
        name="port",
        summary="List a container's published ports, or where one private port is published",
        aliases=("container port",),
        args_model=a.PortArgs,
        handler=Read(lambda engine, args: engine.port(args)),
        positionals=(Positional("container", "CONTAINER"), Positional("port", "PRIVATE_PORT[/PROTO]", False)),
        examples=("port web", "port web 80", "port web 53/udp"),
    ),
    CommandSpec(
        name="top",
        summary="Show the running processes of a container (ps options are not taken: the engine runs ps)",
        aliases=("container top",),
        args_model=a.TopArgs,
        handler=Read(lambda engine, args: engine.top(args)),
        positionals=(Positional("container", "CONTAINER"),),
        examples=("top web",),
    ),
    CommandSpec(
        name="image history",
        summary="Show the history of an image: its layers, what made them and their sizes",
        aliases=("history",),
        args_model=a.HistoryArgs,
        handler=Read(lambda engine, args: engine.history(args)),
        options=(
            Option(
                "human",
                "--human",
                "-H",
                help="Print sizes and dates in human readable format (default true; --human=false)",
            ),
            _NO_TRUNC,
            Option("quiet", "--quiet", "-q", help="Only show image IDs"),
        ),
        positionals=(Positional("image", "IMAGE"),),
        examples=("image history app:1.0", "history --no-trunc app:1.0", "history -q app:1.0"),
    ),
    CommandSpec(
        name="system df",
        summary="Show docker disk usage",
        args_model=a.SystemDfArgs,
        handler=Read(lambda engine, args: engine.system_df(args)),
        options=(Option("verbose", "--verbose", "-v", help="Show detailed information on space usage"),),
        examples=("system df", "system df -v"),
    ),
    CommandSpec(
        name="volume ls",
        summary="List volumes",
        aliases=("volume list",),
        args_model=a.VolumeLsArgs,
        handler=Read(lambda engine, args: engine.volume_ls(args)),
        options=(_filter("dangling=true|false, name, driver, label"), _QUIET, _FORMAT),
        examples=("volume ls", "volume ls -f dangling=true", "volume ls --format '{{.Name}}'"),
    ),
    CommandSpec(
        name="volume inspect",
        summary="Show a volume",
        args_model=a.VolumeInspectArgs,
        handler=Read(lambda engine, args: engine.volume_inspect(args)),
        options=(_RAW_JSON,),
        positionals=(Positional("name", "VOLUME"),),
        examples=("volume inspect data",),
    ),
    CommandSpec(
        name="compose ls",
        summary="List compose projects (from the containers' com.docker.compose labels)",
        args_model=a.ComposeLsArgs,
        handler=Read(lambda engine, args: engine.compose_ls(args)),
        options=(Option("all", "--all", "-a", help="Show all stopped projects too"), _QUIET),
        examples=("compose ls", "compose ls -a"),
    ),
    CommandSpec(
        name="compose ps",
        summary="List the containers of a compose project",
        args_model=a.ComposePsArgs,
        handler=Read(lambda engine, args: engine.compose_ps(args)),
        options=(Option("all", "--all", "-a", help="Show all stopped containers too"), _QUIET),
        positionals=(Positional("project", "PROJECT"),),
        examples=("compose ps shop", "compose ps -a shop"),
    ),
    CommandSpec(
        name="version",
        summary="Show the Docker version of the host",
        args_model=a.VersionArgs,
        options=(_FORMAT_F,),
        handler=Read(lambda engine, args: engine.version(args)),
    ),
    CommandSpec(
        name="info",
        summary="Show system-wide information of the host",
        aliases=("system info",),
        args_model=a.NoArgs,
        handler=Read(lambda engine, args: engine.info(args)),
    ),
    # ---- acting ----------------------------------------------------------------------------------------
    _container_verb(
        "start",
        "Start one or more stopped containers",
        a.ContainersArgs,
        Act(
            plan=lambda engine, args: engine.plan_start(args),
            run=lambda engine, args, plan, progress: engine.start(args, plan),
        ),
        examples=("start web",),
    ),
    _container_verb(
        "stop",
        "Stop one or more running containers",
        a.StopArgs,
        Act(
            plan=lambda engine, args: engine.plan_stop(args),
            run=lambda engine, args, plan, progress: engine.stop(args, plan),
        ),
        confirm=MANY,
        options=(_time_option("stop"),),
        examples=("stop web", "stop -t 30 web worker"),
    ),
    _container_verb(
        "restart",
        "Restart one or more containers",
        a.StopArgs,
        Act(
            plan=lambda engine, args: engine.plan_restart(args),
            run=lambda engine, args, plan, progress: engine.restart(args, plan),
        ),
        options=(_time_option("restart"),),
        examples=("restart web", "restart -t 5 web"),
    ),
    _container_verb(
        "kill",
        "Kill one or more running containers",
        a.KillArgs,
        Act(
            plan=lambda engine, args: engine.plan_kill(args),
            run=lambda engine, args, plan, progress: engine.kill(args, plan),
        ),
        confirm=ALWAYS,
        options=(Option("signal", "--signal", "-s", "SIGNAL", help='Signal to send (default "KILL")'),),
        examples=("kill web", "kill -s HUP web"),
    ),
    _container_verb(
        "pause",
        "Pause all processes within one or more containers",
        a.ContainersArgs,
        Act(
            plan=lambda engine, args: engine.plan_pause(args),
            run=lambda engine, args, plan, progress: engine.pause(args, plan),
        ),
    ),
    _container_verb(
        "unpause",
        "Unpause all processes within one or more containers",
        a.ContainersArgs,
        Act(
            plan=lambda engine, args: engine.plan_unpause(args),
            run=lambda engine, args, plan, progress: engine.unpause(args, plan),
        ),
    ),
    CommandSpec(
        name="rm",
        summary="Remove one or more containers",
        aliases=("container rm", "container remove"),
        args_model=a.RmArgs,
        handler=Act(
            plan=lambda engine, args: engine.plan_rm(args),
            run=lambda engine, args, plan, progress: engine.rm(args, plan),
        ),
        action_class=REMOVE,
        confirm=ALWAYS,
        options=(
            Option("force", "--force", "-f", help="Force the removal of a running container (uses SIGKILL)"),
            Option(
                "volumes", "--volumes", "-v", help="Remove anonymous volumes associated with the container"
            ),
        ),
        positionals=(_CONTAINERS,),
        examples=("rm old-job", "rm -f -v web"),
    ),
    CommandSpec(
        name="rmi",
        summary="Remove one or more images",
        aliases=("image rm", "image remove"),
        args_model=a.RmiArgs,
        handler=Act(
            plan=lambda engine, args: engine.plan_rmi(args),
            run=lambda engine, args, plan, progress: engine.rmi(args, plan),
        ),
        action_class=REMOVE,
        confirm=ALWAYS,
        options=(
            Option("force", "--force", "-f", help="Force removal of the image (untags an image in use)"),
            Option("no_prune", "--no-prune", help="Do not delete untagged parents"),
        ),
        positionals=(Positional("images", "IMAGE", many=True),),
        examples=("rmi app:1.0", "rmi -f app:1.0 app:1.1"),
    ),
    CommandSpec(
        name="image prune",
        summary="Remove unused images (dangling only, unless -a)",
        args_model=a.ImagePruneArgs,
        handler=Act(
            plan=lambda engine, args: engine.plan_image_prune(args),
            run=lambda engine, args, plan, progress: engine.image_prune(args, plan),
        ),
        action_class=REMOVE,
        confirm=ALWAYS,
        options=(
            Option("all", "--all", "-a", help="Remove all unused images, not just dangling ones"),
            _prune_filter("until=<timestamp|duration>, label=<key>[=<value>], label!=…"),
            _PRUNE_FORCE,
        ),
        examples=("image prune", "image prune -a --filter until=240h"),
    ),
    CommandSpec(
        name="container prune",
        summary="Remove all stopped containers",
        args_model=a.ContainerPruneArgs,
        handler=Act(
            plan=lambda engine, args: engine.plan_container_prune(args),
            run=lambda engine, args, plan, progress: engine.container_prune(args, plan),
        ),
        action_class=REMOVE,
        confirm=ALWAYS,
        options=(_prune_filter("until=<timestamp|duration>, label=<key>[=<value>], label!=…"), _PRUNE_FORCE),
        examples=("container prune", "container prune --filter until=24h"),
    ),
    CommandSpec(
        name="volume prune",
        summary="Remove unused local volumes",
        args_model=a.VolumePruneArgs,
        handler=Act(
            plan=lambda engine, args: engine.plan_volume_prune(args),
            run=lambda engine, args, plan, progress: engine.volume_prune(args, plan),
        ),
        action_class=REMOVE,
        confirm=ALWAYS,
        options=(
            Option(
                "all",
                "--all",
                "-a",
                help="Remove named volumes too (engines with API ≥ 1.42; older engines prune them anyway)",
            ),
            _prune_filter("label=<key>[=<value>], label!=…"),
            _PRUNE_FORCE,
        ),
        examples=("volume prune", "volume prune --filter label=tmp"),
    ),
    CommandSpec(
        name="network prune",
        summary="Remove all unused networks",
        args_model=a.NetworkPruneArgs,
        handler=Act(
            plan=lambda engine, args: engine.plan_network_prune(args),
            run=lambda engine, args, plan, progress: engine.network_prune(args, plan),
        ),
        action_class=REMOVE,
        confirm=ALWAYS,
        options=(_prune_filter("until=<timestamp|duration>, label=<key>[=<value>], label!=…"), _PRUNE_FORCE),
        examples=("network prune",),
    ),
    CommandSpec(
        name="system prune",
        summary="Remove stopped containers, unused networks, dangling images and build cache",
        args_model=a.SystemPruneArgs,
        handler=Act(
            plan=lambda engine, args: engine.plan_system_prune(args),
            run=lambda engine, args, plan, progress: engine.system_prune(args, plan),
        ),
        action_class=REMOVE,
        confirm=ALWAYS,
        options=(
            Option("all", "--all", "-a", help="Remove all unused images, not just dangling ones"),
            Option("volumes", "--volumes", help="Prune unused volumes too"),
            _prune_filter("until=<timestamp|duration>, label=<key>[=<value>], label!=…"),
            _PRUNE_FORCE,
        ),
        examples=("system prune", "system prune -a --volumes"),
    ),
    CommandSpec(
        name="pull",
        summary="Download an image from a registry",
        aliases=("image pull",),
        args_model=a.PullArgs,
        handler=Act(
            plan=lambda engine, args: engine.plan_pull(args),
            run=lambda engine, args, plan, progress: engine.pull(args, plan, progress=progress),
        ),
        action_class=PULL,
        confirm=NEVER,
        positionals=(Positional("image", "NAME[:TAG|@DIGEST]"),),
        examples=("pull registry.example.com/app:1.2",),
    ),
    CommandSpec(
        name="help",
        summary="List commands, or show one command's options",
        args_model=a.HelpArgs,
        handler=Builtin(lambda builtins, args, asked: builtins.help(args, asked)),
        positionals=(Positional("command", "COMMAND", required=False, many=True),),
        examples=("help", "help ps"),
    ),
    CommandSpec(
        name="whoami",
        summary="Show who you are to the bot here: IDs, groups, roles and what you may do",
        args_model=a.NoArgs,
        handler=Builtin(lambda builtins, args, asked: builtins.whoami(args, asked)),
    ),
    CommandSpec(
        name="can-i",
        summary="Would the policy let you run a command here? (a dry run: nothing runs)",
        args_model=a.CanIArgs,
        handler=Builtin(lambda builtins, args, asked: builtins.can_i(args, asked), touches_engine=True),
        positionals=(Positional("command", "COMMAND", many=True),),
        takes_rest=True,
        examples=("can-i rm web-1", "can-i stop web-1 && rm web-1"),
    ),
    CommandSpec(
        name="audit",
        summary="Show the newest audit rows: who ran what, where, the decision and the outcome",
        args_model=a.AuditArgs,
        handler=Builtin(lambda builtins, args, asked: builtins.audit(args, asked)),
        action_class=ADMIN,
        options=(
            Option("user", "--user", metavar="USER_ID", help="Only this Slack user's rows"),
            Option("limit", "--limit", "-n", "N", help="How many rows (default 20, at most 200)"),
        ),
        examples=("audit", "audit --user U0123ABCD --limit 50"),
    ),
    CommandSpec(
        name="notify status",
        summary="Show the notification routes and the mutes in force",
        args_model=a.NoArgs,
        handler=Builtin(lambda builtins, args, asked: builtins.notify_status(args, asked)),
        action_class=ADMIN,
    ),
    CommandSpec(
        name="notify mute",
        summary="Silence notifications about a container for a while (default 1h, at most 30 days)",
        args_model=a.NotifyMuteArgs,
        handler=Builtin(lambda builtins, args, asked: builtins.notify_mute(args, asked)),
        action_class=ADMIN,
        positionals=(
            Positional("container", "CONTAINER"),
            Positional("duration", "DURATION", required=False),
        ),
        examples=("notify mute web-1 1h",),
    ),
    CommandSpec(
        name="notify unmute",
        summary="Lift a container's mute",
        args_model=a.NotifyUnmuteArgs,
        handler=Builtin(lambda builtins, args, asked: builtins.notify_unmute(args, asked)),
        action_class=ADMIN,
        positionals=(Positional("container", "CONTAINER"),),
    ),
    CommandSpec(
        name="notify test",
        summary="Post a test notification to every routed channel",
        args_model=a.NoArgs,
        handler=Builtin(lambda builtins, args, asked: builtins.notify_test(args, asked)),
        action_class=ADMIN,
    ),
    CommandSpec(
        name="notify report",
        summary='Post the disk report of the host now to the channels whose routes take "disk"',
        args_model=a.NoArgs,
        handler=Builtin(
            lambda builtins, args, asked: builtins.notify_report(args, asked), touches_engine=True
        ),
        action_class=ADMIN,
        examples=("notify report",),
    ),
)


class Catalog:
    """Commands indexed by their words; refuses two commands claiming the same words (at start-up)."""

    def __init__(self, specs: Iterable[CommandSpec[Any]]) -> None:
        self.specs = tuple(specs)
        self._by_words: dict[tuple[str, ...], CommandSpec[Any]] = {}
        for spec in self.specs:
            for spelling in (spec.name, *spec.aliases):
                words = tuple(spelling.split())
                if words in self._by_words:
                    other = self._by_words[words].name
                    raise ValueError(
                        f"command collision: {spelling!r} is claimed by {other!r} and {spec.name!r}"
                    )
                self._by_words[words] = spec
            self._check_options(spec)

    @staticmethod
    def _check_options(spec: CommandSpec[Any]) -> None:
        fields = spec.args_model.model_fields
        spellings = spec.flag_spellings()
        if len(spellings) != len(set(spellings)):
            raise ValueError(f"{spec.name}: two options share a spelling")
        for dest in [o.dest for o in spec.options] + [p.dest for p in spec.positionals] + list(spec.preset):
            if dest not in fields:
                raise ValueError(f"{spec.name}: {dest!r} is not a field of {spec.args_model.__name__}")

    def resolve(self, words: list[str]) -> tuple[CommandSpec[Any], list[str]] | None:
        """The command named by the first one or two words (in any case: phones type `Ps`), and the words
        left over."""
        for length in (2, 1):
            spec = self._by_words.get(tuple(word.lower() for word in words[:length]))
            if spec is not None and len(words) >= length:
                return spec, words[length:]
        return None

    def get(self, name: str) -> CommandSpec[Any] | None:
        """The command spelled `name` (a name or an alias, words separated by spaces)."""
        return self._by_words.get(tuple(name.lower().split()))

    def subcommands(self, group: str) -> list[str]:
        """Visible two-word spellings under `group` (`compose` → `compose ls`, `compose ps`)."""
        group = group.lower()
        return sorted(" ".join(w) for w in self._by_words if len(w) == 2 and w[0] == group)

    def suggest(self, words: list[str]) -> str | None:
        """The closest known spelling to what was typed, for 'did you mean'."""
        two = [" ".join(w) for w in self._by_words if len(w) == 2]
        one = [w[0] for w in self._by_words if len(w) == 1] + sorted({w[0] for w in self._by_words})
        if len(words) >= 2 and words[0].lower() in {w.split()[0] for w in two}:
            match = closest(" ".join(words[:2]), two)
            if match is not None:
                return match
        return closest(words[0], one) if words else None

    def visible(self) -> list[CommandSpec[Any]]:
        """The commands `help` and the README list."""
        return [spec for spec in self.specs if not spec.hidden]


CATALOG = Catalog(COMMANDS)
