"""The command catalog: every command the bot understands, as data.

One `CommandSpec` per command: its words, aliases, options, positional arguments, argument model, action
class and the operation that runs it. The parser, `help`, the README's reference and the policy all read
this table; adding a command is one entry here plus one engine operation.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from bot.commands import args as a

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


@dataclass(frozen=True, slots=True)
class CommandSpec:
    """One command of the catalog."""

    name: str
    summary: str
    args_model: type[a.Args]
    operation: str
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
    reports_progress: bool = False  # the operation takes `progress=` and reports while it runs (`pull`)

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


COMMANDS: tuple[CommandSpec, ...] = (
    CommandSpec(
        name="ps",
        summary="List containers",
        aliases=("container ls", "container list", "container ps"),
        args_model=a.PsArgs,
        operation="ps",
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
        ),
        examples=("ps", "ps -a", "ps -a -f status=exited", "ps -f name=web -q", "ps -n 5 -s"),
    ),
    CommandSpec(
        name="images",
        summary="List images",
        aliases=("image ls", "image list", "images ls"),
        args_model=a.ImagesArgs,
        operation="images",
        options=(
            Option("all", "--all", "-a", help="Show all images (default hides intermediate images)"),
            _filter("dangling=true|false, label, reference, before, since"),
            _NO_TRUNC,
            _QUIET,
        ),
        positionals=(Positional("reference", "REPOSITORY[:TAG]", required=False),),
        examples=("images", "images -f dangling=true", "images app", "images -f reference='app:*'"),
    ),
    CommandSpec(
        name="inspect",
        summary="Show a container, image or volume (container first, as docker inspect resolves)",
        args_model=a.InspectArgs,
        operation="inspect",
        options=(
            _RAW_JSON,
            Option("type", "--type", metavar="TYPE", help="Only look for a container, image or volume"),
        ),
        positionals=(Positional("target", "NAME|ID"),),
        refused={"--format": "templates are not supported; use --json for the raw JSON", "-f": "use --json"},
        examples=("inspect web", "inspect --json web", "inspect app:1.0"),
    ),
    CommandSpec(
        name="container inspect",
        summary="Show a container",
        args_model=a.InspectArgs,
        operation="inspect",
        options=(_RAW_JSON,),
        positionals=(Positional("target", "CONTAINER"),),
        preset={"type": "container"},
        hidden=True,
    ),
    CommandSpec(
        name="image inspect",
        summary="Show an image",
        args_model=a.InspectArgs,
        operation="inspect",
        options=(_RAW_JSON,),
        positionals=(Positional("target", "IMAGE"),),
        preset={"type": "image"},
        hidden=True,
    ),
    CommandSpec(
        name="logs",
        summary=f"Show a container's last log lines (default {a.DEFAULT_LOG_LINES}, up to {a.MAX_LOG_LINES})",
        aliases=("container logs",),
        args_model=a.LogsArgs,
        operation="logs",
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
        name="system df",
        summary="Show docker disk usage",
        args_model=a.SystemDfArgs,
        operation="system_df",
        options=(Option("verbose", "--verbose", "-v", help="Show detailed information on space usage"),),
        examples=("system df", "system df -v"),
    ),
    CommandSpec(
        name="volume ls",
        summary="List volumes",
        aliases=("volume list",),
        args_model=a.VolumeLsArgs,
        operation="volume_ls",
        options=(_filter("dangling=true|false, name, driver, label"), _QUIET),
        examples=("volume ls", "volume ls -f dangling=true"),
    ),
    CommandSpec(
        name="volume inspect",
        summary="Show a volume",
        args_model=a.VolumeInspectArgs,
        operation="volume_inspect",
        options=(_RAW_JSON,),
        positionals=(Positional("name", "VOLUME"),),
        examples=("volume inspect data",),
    ),
    CommandSpec(
        name="compose ls",
        summary="List compose projects (from the containers' com.docker.compose labels)",
        args_model=a.ComposeLsArgs,
        operation="compose_ls",
        options=(Option("all", "--all", "-a", help="Show all stopped projects too"), _QUIET),
        examples=("compose ls", "compose ls -a"),
    ),
    CommandSpec(
        name="compose ps",
        summary="List the containers of a compose project",
        args_model=a.ComposePsArgs,
        operation="compose_ps",
        options=(Option("all", "--all", "-a", help="Show all stopped containers too"), _QUIET),
        positionals=(Positional("project", "PROJECT"),),
        examples=("compose ps shop", "compose ps -a shop"),
    ),
    CommandSpec(
        name="version",
        summary="Show the Docker version of the host",
        args_model=a.NoArgs,
        operation="version",
    ),
    CommandSpec(
        name="info",
        summary="Show system-wide information of the host",
        aliases=("system info",),
        args_model=a.NoArgs,
        operation="info",
    ),
    # ---- acting ----------------------------------------------------------------------------------------
    *(
        CommandSpec(
            name=verb,
            summary=summary,
            aliases=(f"container {verb}",),
            args_model=model,
            operation=verb,
            action_class=OPERATE,
            confirm=confirm,
            options=options,
            positionals=(_CONTAINERS,),
            examples=examples,
        )
        for verb, summary, model, confirm, options, examples in (
            ("start", "Start one or more stopped containers", a.ContainersArgs, NEVER, (), ("start web",)),
            (
                "stop",
                "Stop one or more running containers",
                a.StopArgs,
                MANY,
                (_time_option("stop"),),
                ("stop web", "stop -t 30 web worker"),
            ),
            (
                "restart",
                "Restart one or more containers",
                a.StopArgs,
                NEVER,
                (_time_option("restart"),),
                ("restart web", "restart -t 5 web"),
            ),
            (
                "kill",
                "Kill one or more running containers",
                a.KillArgs,
                ALWAYS,
                (Option("signal", "--signal", "-s", "SIGNAL", help='Signal to send (default "KILL")'),),
                ("kill web", "kill -s HUP web"),
            ),
            ("pause", "Pause all processes within one or more containers", a.ContainersArgs, NEVER, (), ()),
            (
                "unpause",
                "Unpause all processes within one or more containers",
                a.ContainersArgs,
                NEVER,
                (),
                (),
            ),
        )
    ),
    CommandSpec(
        name="rm",
        summary="Remove one or more containers",
        aliases=("container rm", "container remove"),
        args_model=a.RmArgs,
        operation="rm",
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
        operation="rmi",
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
        operation="image_prune",
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
        operation="container_prune",
        action_class=REMOVE,
        confirm=ALWAYS,
        options=(_prune_filter("until=<timestamp|duration>, label=<key>[=<value>], label!=…"), _PRUNE_FORCE),
        examples=("container prune", "container prune --filter until=24h"),
    ),
    CommandSpec(
        name="volume prune",
        summary="Remove unused local volumes",
        args_model=a.VolumePruneArgs,
        operation="volume_prune",
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
        operation="network_prune",
        action_class=REMOVE,
        confirm=ALWAYS,
        options=(_prune_filter("until=<timestamp|duration>, label=<key>[=<value>], label!=…"), _PRUNE_FORCE),
        examples=("network prune",),
    ),
    CommandSpec(
        name="system prune",
        summary="Remove stopped containers, unused networks, dangling images and build cache",
        args_model=a.SystemPruneArgs,
        operation="system_prune",
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
        operation="pull",
        action_class=PULL,
        confirm=NEVER,
        reports_progress=True,
        positionals=(Positional("image", "NAME[:TAG|@DIGEST]"),),
        examples=("pull registry.example.com/app:1.2",),
    ),
    CommandSpec(
        name="help",
        summary="List commands, or show one command's options",
        args_model=a.HelpArgs,
        operation="help",
        positionals=(Positional("command", "COMMAND", required=False, many=True),),
        examples=("help", "help ps"),
    ),
    CommandSpec(
        name="whoami",
        summary="Show who you are to the bot here: IDs, groups, roles and what you may do",
        args_model=a.NoArgs,
        operation="whoami",
    ),
    CommandSpec(
        name="can-i",
        summary="Would the policy let you run a command here? (a dry run: nothing runs)",
        args_model=a.CanIArgs,
        operation="can_i",
        positionals=(Positional("command", "COMMAND", many=True),),
        takes_rest=True,
        examples=("can-i rm web-1", "can-i stop web-1 && rm web-1"),
    ),
    CommandSpec(
        name="audit",
        summary="Show the newest audit rows: who ran what, where, the decision and the outcome",
        args_model=a.AuditArgs,
        operation="audit",
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
        operation="notify_status",
        action_class=ADMIN,
    ),
    CommandSpec(
        name="notify mute",
        summary="Silence notifications about a container for a while (default 1h, at most 30 days)",
        args_model=a.NotifyMuteArgs,
        operation="notify_mute",
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
        operation="notify_unmute",
        action_class=ADMIN,
        positionals=(Positional("container", "CONTAINER"),),
    ),
    CommandSpec(
        name="notify test",
        summary="Post a test notification to every routed channel",
        args_model=a.NoArgs,
        operation="notify_test",
        action_class=ADMIN,
    ),
    CommandSpec(
        name="notify report",
        summary='Post the disk report of the host now to the channels whose routes take "disk"',
        args_model=a.NoArgs,
        operation="notify_report",
        action_class=ADMIN,
        examples=("notify report",),
    ),
)


class Catalog:
    """Commands indexed by their words; refuses two commands claiming the same words (at start-up)."""

    def __init__(self, specs: Iterable[CommandSpec]) -> None:
        self.specs = tuple(specs)
        self._by_words: dict[tuple[str, ...], CommandSpec] = {}
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
    def _check_options(spec: CommandSpec) -> None:
        fields = spec.args_model.model_fields
        spellings = spec.flag_spellings()
        if len(spellings) != len(set(spellings)):
            raise ValueError(f"{spec.name}: two options share a spelling")
        for dest in [o.dest for o in spec.options] + [p.dest for p in spec.positionals] + list(spec.preset):
            if dest not in fields:
                raise ValueError(f"{spec.name}: {dest!r} is not a field of {spec.args_model.__name__}")

    def resolve(self, words: list[str]) -> tuple[CommandSpec, list[str]] | None:
        """The command named by the first one or two words, and the words left over."""
        for length in (2, 1):
            spec = self._by_words.get(tuple(words[:length]))
            if spec is not None and len(words) >= length:
                return spec, words[length:]
        return None

    def get(self, name: str) -> CommandSpec | None:
        """The command spelled `name` (a name or an alias, words separated by spaces)."""
        return self._by_words.get(tuple(name.split()))

    def subcommands(self, group: str) -> list[str]:
        """Visible two-word spellings under `group` (`compose` → `compose ls`, `compose ps`)."""
        return sorted(" ".join(w) for w in self._by_words if len(w) == 2 and w[0] == group)

    def suggest(self, words: list[str]) -> str | None:
        """The closest known spelling to what was typed, for 'did you mean'."""
        typed_two = " ".join(words[:2])
        two = [" ".join(w) for w in self._by_words if len(w) == 2]
        one = [w[0] for w in self._by_words if len(w) == 1] + sorted({w[0] for w in self._by_words})
        if len(words) >= 2 and words[0] in {w.split()[0] for w in two}:
            match = difflib.get_close_matches(typed_two, two, n=1, cutoff=0.6)
            if match:
                return match[0]
        match = difflib.get_close_matches(words[0], one, n=1, cutoff=0.6) if words else []
        return match[0] if match else None

    def visible(self) -> list[CommandSpec]:
        """The commands `help` and the README list."""
        return [spec for spec in self.specs if not spec.hidden]


CATALOG = Catalog(COMMANDS)
