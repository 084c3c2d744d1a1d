"""The command catalog and parser: every command, alias, flag form and error, docker-CLI style."""

from __future__ import annotations

import pytest

from bot.commands import CATALOG, Catalog, docker_cli, parse
from bot.commands.catalog import COMMANDS, Builtin, CommandSpec
from bot.commands.tokens import split_words
from bot.errors import UsageError


def one(text: str) -> tuple[str, dict[str, object]]:
    (command,) = parse(text)
    return command.spec.name, command.args.model_dump()


@pytest.mark.parametrize(
    ("text", "name", "expected"),
    [
        ("ps", "ps", {"all": False, "quiet": False, "last": -1}),
        ("ps -a", "ps", {"all": True}),
        ("docker ps -a", "ps", {"all": True}),
        ("/docker ps --all", "ps", {"all": True}),
        ("container ls -a", "ps", {"all": True}),
        ("container list -q", "ps", {"quiet": True}),
        ("container ps -s", "ps", {"size": True}),
        ("ps -aqs", "ps", {"all": True, "quiet": True, "size": True}),
        ("ps -n 5", "ps", {"last": 5}),
        ("ps -n5", "ps", {"last": 5}),
        ("ps --last=7", "ps", {"last": 7}),
        ("ps -l", "ps", {"latest": True}),
        ("ps --no-trunc", "ps", {"no_trunc": True}),
        ("ps --all=false", "ps", {"all": False}),
        ("ps -f status=exited -f status=dead", "ps", {"filters": {"status": ("exited", "dead")}}),
        ("ps --filter=name=web", "ps", {"filters": {"name": ("web",)}}),
        ("ps -fname=web", "ps", {"filters": {"name": ("web",)}}),
        ("ps -f label=team=payments", "ps", {"filters": {"label": ("team=payments",)}}),
        (
            "ps -f ancestor=app:1.0 -f exited=137",
            "ps",
            {"filters": {"ancestor": ("app:1.0",), "exited": ("137",)}},
        ),
        (
            "ps -f health=unhealthy -f id=abc123",
            "ps",
            {"filters": {"health": ("unhealthy",), "id": ("abc123",)}},
        ),
        ("images", "images", {"all": False, "reference": None}),
        ("image ls -a", "images", {"all": True}),
        ("image list -q", "images", {"quiet": True}),
        ("images ls --no-trunc", "images", {"no_trunc": True}),
        ("images -f dangling=true", "images", {"filters": {"dangling": ("true",)}}),
        ("images -f dangling=1", "images", {"filters": {"dangling": ("true",)}}),
        (
            "images -f label=a=b -f reference='app:*'",
            "images",
            {"filters": {"label": ("a=b",), "reference": ("app:*",)}},
        ),
        (
            "images -f before=app:1 -f since=app:0",
            "images",
            {"filters": {"before": ("app:1",), "since": ("app:0",)}},
        ),
        ("images app:1.0", "images", {"reference": "app:1.0"}),
        ("images registry.local:5000/team/app", "images", {"reference": "registry.local:5000/team/app"}),
        ("inspect web", "inspect", {"target": "web", "raw_json": False, "type": None}),
        ("inspect --json web", "inspect", {"target": "web", "raw_json": True}),
        ("inspect --type volume data", "inspect", {"target": "data", "type": "volume"}),
        ("container inspect web", "container inspect", {"target": "web", "type": "container"}),
        ("image inspect app:1.0", "image inspect", {"target": "app:1.0", "type": "image"}),
        ("logs web", "logs", {"container": "web", "tail": 50, "since": None, "timestamps": False}),
        ("logs web --tail 5", "logs", {"tail": 5}),
        ("logs --tail=0 web", "logs", {"tail": 0}),
        ("logs -n 1000 web", "logs", {"tail": 1000}),
        ("logs web --tail all", "logs", {"tail": 1000}),
        ("logs web --since 10m -t", "logs", {"since": "10m", "timestamps": True}),
        ("logs web --since 1h30m", "logs", {"since": "1h30m"}),
        ("logs web --since 2026-11-27T10:00:00Z", "logs", {"since": "2026-11-27T10:00:00Z"}),
        ("logs web --since 1764237600", "logs", {"since": "1764237600"}),
        ("container logs web", "logs", {"container": "web"}),
        ("system df", "system df", {"verbose": False}),
        ("system df -v", "system df", {"verbose": True}),
        ("volume ls", "volume ls", {"quiet": False, "filters": {}}),
        ("volume list -q -f dangling=true", "volume ls", {"quiet": True, "filters": {"dangling": ("true",)}}),
        ("volume inspect data", "volume inspect", {"name": "data"}),
        ("version", "version", {}),
        ("info", "info", {}),
        ("system info", "info", {}),
        ("help", "help", {"command": ()}),
        ("help ps", "help", {"command": ("ps",)}),
        ("help system df", "help", {"command": ("system", "df")}),
        ("ps --help", "help", {"command": ("ps",)}),
        ("logs -h", "help", {"command": ("logs",)}),
        ("", "help", {"command": ()}),
        ("docker", "help", {"command": ()}),
        ("compose ls", "compose ls", {"all": False}),
        ("compose ls -a -q", "compose ls", {"all": True, "quiet": True}),
        ("compose ps shop", "compose ps", {"project": "shop", "all": False}),
        ("compose ps -a shop", "compose ps", {"project": "shop", "all": True}),
        ('inspect "web"', "inspect", {"target": "web"}),
        ("inspect “web”", "inspect", {"target": "web"}),
        ("logs -- web", "logs", {"container": "web"}),
    ],
)
def test_parses_every_command_alias_and_flag_form(text: str, name: str, expected: dict[str, object]) -> None:
    """Each spelling a Docker user types parses into the right command with the right typed arguments."""
    got_name, args = one(text)
    assert got_name == name
    for key, value in expected.items():
        assert args[key] == value, key


def test_chain_runs_in_order_and_keeps_each_text() -> None:
    """`A && B` (with or without spaces, with a leading docker on each) gives the commands in order."""
    commands = parse("docker ps -a&&docker images -q && logs web --tail 2")
    assert [c.spec.name for c in commands] == ["ps", "images", "logs"]
    assert [c.text for c in commands] == ["ps -a", "images -q", "logs web --tail 2"]


def test_quoted_and_and_is_a_word_not_a_chain() -> None:
    """`&&` inside quotes belongs to the word, exactly as in a shell."""
    assert [w.text for w in split_words("a '&&' \"b && c\"")] == ["a", "&&", "b && c"]
    assert not any(w.operator for w in split_words("a '&&'"))


@pytest.mark.parametrize(
    ("text", "message", "hint", "usage"),
    [
        ("inspects web", 'unknown command "inspects"', '"inspect"', None),
        ("imgaes", 'unknown command "imgaes"', '"images"', None),
        ("container lss", 'unknown command "container lss"', '"container ls"', None),
        ("frobnicate", 'unknown command "frobnicate"', '"help"', None),
        ("compose", '"compose" needs a subcommand', None, "compose COMMAND"),
        ("system", '"system" needs a subcommand', None, "system COMMAND"),
        ("ps --bogus", "unknown flag: --bogus", None, "ps [OPTIONS]"),
        ("ps --al", "unknown flag: --al", '"--all"', "ps [OPTIONS]"),
        ("ps -x", "unknown shorthand flag: 'x' in -x", None, "ps [OPTIONS]"),
        ("ps -ax", "unknown shorthand flag: 'x' in -ax", None, "ps [OPTIONS]"),
        ("ps -n", "flag needs an argument: -n N", None, "ps [OPTIONS]"),
        ("ps -n many", 'invalid argument "many" for "-n, --last" flag: not an integer', None, "ps [OPTIONS]"),
        ("ps -n 99999", 'invalid argument "99999" for "-n, --last" flag: must be at most 10000', None, None),
        # Docker commands this bot does not serve: said so, never a did-you-mean (top is not a typo of stop)
        ("stats web", '"docker stats" is not supported here', '"help" lists', None),
        ("stats", '"docker stats" is not supported here', '"help" lists', None),
        ("Exec -it web sh", '"docker exec" is not supported here', None, None),
        ("service ls", '"docker service ls" is not supported here', None, None),
        ("volume create data", '"docker volume create" is not supported here', "here: volume inspect", None),
        ("volume craete data", 'unknown command "volume craete"', '"volume create"? (not', None),
        ("stpo web", 'unknown command "stpo"', 'did you mean "stop"?', None),
        ("ps --all=maybe", 'invalid argument "maybe" for "--all"', None, "ps [OPTIONS]"),
        ("ps -f bogus=1", "invalid filter 'bogus'", None, "ps [OPTIONS]"),
        ("ps -f status", "bad format of filter", None, "ps [OPTIONS]"),
        ("ps -f status=sleeping", "invalid filter status='sleeping'", None, "ps [OPTIONS]"),
        ("ps -f health=great", "invalid filter health='great'", None, "ps [OPTIONS]"),
        ("ps -f exited=abc", "expected an exit code", None, "ps [OPTIONS]"),
        ("ps web", '"ps" accepts no arguments', None, "ps [OPTIONS]"),
        ("images -f dangling=maybe", "expected true or false", None, None),
        ("images -f bogus=1", "invalid filter 'bogus'", None, None),
        ("images a b", '"images" accepts at most 1 argument', None, None),
        ("images 'bad ref!'", "not a valid image reference", None, None),
        ("inspect", '"inspect" requires exactly 1 argument', None, "inspect [OPTIONS] NAME|ID"),
        ("inspect a b", '"inspect" requires exactly 1 argument', None, None),
        ("inspect --type network x", "--type", None, None),
        ("inspect --format '{{.Id' web", "template parsing error: template: :1: unclosed action", None, None),
        ("ps --format '{{.Names'", "failed to parse template: template: :1: unclosed action", None, None),
        ("ps --format '{{printf \"%s\" .Names}}'", "printf is not supported here", None, None),
        ("ps --format '{{range .Names}}'", "unexpected EOF in range", None, None),
        ("inspect ../etc", "not a valid container, image or volume name", None, None),
        ("logs", '"logs" requires exactly 1 argument', None, "logs [OPTIONS] CONTAINER"),
        ("logs web --tail 1001", "--tail", None, None),
        ("logs web --tail -1", "--tail", None, None),
        ("logs web --since yesterday", "--since", None, None),
        ("logs -f web", "-f is not supported here: following is not possible", None, None),
        ("logs --follow web", "--follow is not supported here", None, None),
        ("logs 'we b'", "not a valid container name", None, None),
        ("volume inspect", '"volume inspect" requires exactly 1 argument', None, None),
        ("volume ls -f dangling=perhaps", "expected true or false", None, None),
        ("compose ps", '"compose ps" requires exactly 1 argument', None, None),
        ("compose ps Shop!", "not a valid compose project name", None, None),
        ("version now", '"version" accepts no arguments', None, None),
        ("ps | grep web", "a pipe (|) is not supported", "&&", None),
        ("ps || images", "'||' (run if the first fails) is not supported", None, None),
        ("ps; rm -f web", "a command list (;) is not supported", None, None),
        ("ps > out.txt", "a redirection (>) is not supported", None, None),
        ("ps &", "a background job (&) is not supported", None, None),
        ("inspect $(whoami)", "command substitution ($(…)) is not supported", None, None),
        ("inspect $(whoami)", "command substitution", None, None),
        ("inspect `whoami`", "command substitution", None, None),
        ('inspect "$(whoami)"', "command substitution", None, None),
        ("inspect 'web", "unterminated single quote", None, None),
        ('inspect "web', "unterminated double quote", None, None),
        ("ps &&", "a command is missing before or after &&", None, None),
        ("&& ps", "a command is missing before or after &&", None, None),
        ("ps && docker", "a command is missing before or after &&", None, None),
        ("ps " + "-a " * 2000, "too long", None, None),
        (" && ".join(["ps"] * 11), "too many chained commands", None, None),
    ],
)
def test_bad_input_is_a_usage_error_with_help(
    text: str, message: str, hint: str | None, usage: str | None
) -> None:
    """Each mistake gives one clear message, the usage line where a command is known, and a did-you-mean."""
    with pytest.raises(UsageError) as caught:
        parse(text)
    error = caught.value
    assert message in error.message
    if hint is not None:
        assert error.hint is not None
        assert hint in error.hint
    if usage is not None:
        assert error.usage == usage


@pytest.mark.parametrize(
    ("text", "name", "words"),
    [
        ("Ps -a", "ps", "ps -a"),  # phones capitalise the first word
        ("DOCKER IMAGES -q", "images", "images -q"),
        ("Volume LS", "volume ls", "volume ls"),
        ("STOP Web", "stop", "stop Web"),  # only the command words: names keep their case
    ],
)
def test_command_words_match_in_any_case(text: str, name: str, words: str) -> None:
    (command,) = parse(text)
    assert command.spec.name == name
    assert command.text == words


@pytest.mark.parametrize(
    ("text", "asked"),
    [
        ("can-i rm -f web", ("rm", "-f", "web")),
        ("can-i ps -a", ("ps", "-a")),
        ("can-i -- ps -a", ("ps", "-a")),  # the old spelling still works
        ("can-i stop -t 5 web && rm -f web", ("stop", "-t", "5", "web", "&&", "rm", "-f", "web")),
    ],
)
def test_can_i_takes_the_rest_of_the_line_flags_included(text: str, asked: tuple[str, ...]) -> None:
    (command,) = parse(text)
    assert command.spec.name == "can-i"
    assert command.args.model_dump()["command"] == asked


def test_can_i_alone_with_help_shows_its_help() -> None:
    (command,) = parse("can-i --help")
    assert command.spec.name == "help"
    assert command.text == "help can-i"


def test_catalog_refuses_command_collisions() -> None:
    """Two commands claiming the same words stop start-up (botkube's 'command collision')."""
    ps = CATALOG.get("ps")
    assert ps is not None
    clash = CommandSpec(
        name="list", summary="x", args_model=ps.args_model, handler=ps.handler, aliases=("ps",)
    )
    with pytest.raises(ValueError, match="command collision"):
        Catalog([*COMMANDS, clash])


def test_catalog_refuses_options_that_are_not_model_fields() -> None:
    """An option whose destination is not a field of the args model is caught when the catalog is built."""
    ps = CATALOG.get("ps")
    assert ps is not None
    broken = CommandSpec(
        name="zzz", summary="x", args_model=ps.args_model, handler=ps.handler, preset={"nope": 1}
    )
    with pytest.raises(ValueError, match="not a field"):
        Catalog([broken])


def test_every_visible_command_has_a_summary_usage_and_consistent_options() -> None:
    """Help is generated from the catalog, so every entry must carry what help prints."""
    for spec in CATALOG.visible():
        assert spec.summary
        assert spec.usage.startswith(spec.name)
        for option in spec.options:
            assert option.long.startswith("--")
            assert option.short is None or (option.short.startswith("-") and len(option.short) == 2)


def test_docker_vocabulary_covers_every_docker_command_of_the_catalog() -> None:
    """The served Docker commands are Docker's own words, so "not supported here" never hides one."""
    for spec in CATALOG.specs:
        if isinstance(spec.handler, Builtin):
            continue  # the bot's own commands (help, whoami, can-i, audit, notify …)
        for spelling in (spec.name, *spec.aliases):
            assert docker_cli.is_docker_command(spelling.split()), spelling
