"""From text to typed commands, with the Docker CLI's grammar (pflag style) and no shell.

`parse("docker ps -a && images -q")` gives two `Command`s. Anything wrong — an unknown command or flag,
a missing value, a bad filter — is a `UsageError` carrying the command's usage line and, where one is
close, a did-you-mean. The parser never calls Docker and never exits the process.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from bot.commands import docker_cli
from bot.commands.args import Args
from bot.commands.catalog import CATALOG, Catalog, CommandSpec, Option
from bot.commands.tokens import split_words
from bot.errors import UsageError
from bot.suggest import closest, did_you_mean
from bot.validation import describe

MAX_TEXT = 4000
MAX_CHAIN = 10
_TRUE = {"true", "1", "yes"}
_FALSE = {"false", "0", "no"}


@dataclass(frozen=True, slots=True)
class Command:
    """One parsed command: which spec, its validated arguments, and its words as typed."""

    spec: CommandSpec[Any]
    args: Args
    text: str


def parse(text: str, catalog: Catalog = CATALOG) -> tuple[Command, ...]:
    """Parse `text` (one command or an `&&` chain) into commands, or raise `UsageError`."""
    if len(text) > MAX_TEXT:
        raise UsageError(f"the command is too long ({len(text)} characters; at most {MAX_TEXT})")
    words = split_words(text)
    head = [w.text for w in words[:3] if not w.operator]
    head = head[1:] if [w.lower() for w in head[:1]] == ["docker"] else head
    resolved = catalog.resolve(head) if head else None
    if resolved is not None and resolved[0].takes_rest:  # `can-i stop web && rm web` is one question
        return (_parse_one([w.text for w in words], catalog),)
    groups: list[list[str]] = [[]]
    for word in words:
        if word.operator:
            groups.append([])
        else:
            groups[-1].append(word.text)
    if len(groups) > MAX_CHAIN:
        raise UsageError(f"too many chained commands ({len(groups)}; at most {MAX_CHAIN})")
    if len(groups) > 1 and any(not g or g == ["docker"] for g in groups):
        raise UsageError("a command is missing before or after &&", hint="e.g. ps -a && images")
    return tuple(_parse_one(words, catalog) for words in groups)


def _parse_one(words: list[str], catalog: Catalog) -> Command:
    if words and words[0].lower() in {"docker", "/docker"}:
        words = words[1:]
    if not words:
        return Command(_spec(catalog, "help"), _spec(catalog, "help").args_model(), "help")
    resolved = catalog.resolve(words)
    if resolved is None:
        raise _unknown_command(words, catalog)
    spec, rest = resolved
    if spec.takes_rest:  # `can-i rm -f web`: the rest of the line is the command asked about, flags and all
        if rest in (["-h"], ["--help"]):
            return _help_for(spec, catalog)
        rest = rest[1:] if rest[:1] == ["--"] else rest  # `can-i -- ps -a`, as before
        values = dict(spec.preset)
        _bind_positionals(spec, rest, values)
    elif any(w in {"-h", "--help"} for w in rest):
        return _help_for(spec, catalog)
    else:
        values = _bind(spec, rest)
    try:
        parsed = spec.args_model(**values)
    except ValidationError as exc:
        raise _invalid(spec, exc) from None
    return Command(spec, parsed, shlex.join([*spec.name.split(), *rest]))


def _help_for(spec: CommandSpec[Any], catalog: Catalog) -> Command:
    """`help COMMAND`, for `COMMAND --help`."""
    help_spec = _spec(catalog, "help")
    help_args = help_spec.args_model.model_validate({"command": tuple(spec.name.split())})
    return Command(help_spec, help_args, f"help {spec.name}")


def _spec(catalog: Catalog, name: str) -> CommandSpec[Any]:
    spec = catalog.get(name)
    if spec is None:  # pragma: no cover - the catalog always has help
        raise LookupError(name)
    return spec


def _unknown_command(words: list[str], catalog: Catalog) -> UsageError:
    """Why `words` name no command: a group without its subcommand, a Docker command this bot does not
    serve (never answered with a did-you-mean: `top` is not a typo of `stop`), or a typo."""
    lowered = [word.lower() for word in words[:2]]
    group = lowered[0]
    subcommands = catalog.subcommands(group)
    if subcommands and (len(words) == 1 or words[1].startswith("-")):
        return UsageError(f'"{group}" needs a subcommand: {", ".join(subcommands)}', usage=f"{group} COMMAND")
    two_words = len(lowered) == 2 and (bool(subcommands) or group in docker_cli.SUBCOMMANDS)
    typed = " ".join(lowered) if two_words and not lowered[1].startswith("-") else group
    if docker_cli.is_docker_command(typed.split()):
        hint = f"here: {', '.join(subcommands)}" if subcommands else '"help" lists the commands this bot runs'
        return UsageError(f'"docker {typed}" is not supported here', hint=hint)
    suggestion = catalog.suggest(words)
    hint = f'did you mean "{suggestion}"?' if suggestion else 'try "help" for the list of commands'
    if two_words and group in docker_cli.SUBCOMMANDS:  # `volume craete`: the Docker word it is a typo of
        meant = closest(lowered[1], docker_cli.SUBCOMMANDS[group])
        if meant is not None and catalog.get(f"{group} {meant}") is None:
            hint = f'did you mean "{group} {meant}"? (not supported here)'
    return UsageError(f'unknown command "{typed}"', hint=hint)


def _bind(spec: CommandSpec[Any], rest: list[str]) -> dict[str, Any]:
    """Assign words to options and positionals, pflag style: `-aq`, `-n5`, `--tail=5`, `--`."""
    values: dict[str, Any] = dict(spec.preset)
    positionals: list[str] = []
    i = 0
    while i < len(rest):
        word = rest[i]
        i += 1
        if word == "--":
            positionals.extend(rest[i:])
            break
        if word.startswith("--") and len(word) > 2:
            name, has_value, inline = word.partition("=")
            option = _known_option(spec, name)
            if option.takes_value:
                if not has_value:
                    inline, i = _next_value(spec, option, name, rest, i)
                _store(values, option, inline)
            else:
                _store(values, option, _switch_value(spec, name, inline) if has_value else True)
        elif word.startswith("-") and len(word) > 1:
            i = _bind_shorts(spec, word, rest, i, values)
        else:
            positionals.append(word)
    _bind_positionals(spec, positionals, values)
    return values


def _bind_shorts(spec: CommandSpec[Any], word: str, rest: list[str], i: int, values: dict[str, Any]) -> int:
    for offset, letter in enumerate(word[1:], start=1):
        flag = "-" + letter
        option = _known_option(spec, flag, cluster=word)
        if not option.takes_value:
            _store(values, option, True)
            continue
        inline = word[offset + 1 :]
        if inline:
            _store(values, option, inline.removeprefix("="))
            return i
        value, i = _next_value(spec, option, flag, rest, i)
        _store(values, option, value)
        return i
    return i


def _known_option(spec: CommandSpec[Any], flag: str, cluster: str | None = None) -> Option:
    option = spec.option(flag)
    if option is not None:
        return option
    if flag in spec.refused:
        raise UsageError(f"{flag} is not supported here: {spec.refused[flag]}", usage=spec.usage)
    if cluster is not None:
        message = f"unknown shorthand flag: {flag[1]!r} in {cluster}"
    else:
        message = f"unknown flag: {flag}"
    hint = did_you_mean(flag, spec.flag_spellings()) or f'see "help {spec.name}"'
    return _raise(UsageError(message, usage=spec.usage, hint=hint))


def _raise(error: UsageError) -> Option:
    raise error


def _next_value(
    spec: CommandSpec[Any], option: Option, flag: str, rest: list[str], i: int
) -> tuple[str, int]:
    if i >= len(rest):
        raise UsageError(f"flag needs an argument: {flag} {option.metavar}", usage=spec.usage)
    return rest[i], i + 1


def _switch_value(spec: CommandSpec[Any], flag: str, text: str) -> bool:
    if text.lower() in _TRUE:
        return True
    if text.lower() in _FALSE:
        return False
    raise UsageError(f'invalid argument "{text}" for "{flag}": expected true or false', usage=spec.usage)


def _store(values: dict[str, Any], option: Option, value: Any) -> None:
    if option.repeat:
        values.setdefault(option.dest, []).append(value)
    else:
        values[option.dest] = value


def _bind_positionals(spec: CommandSpec[Any], words: list[str], values: dict[str, Any]) -> None:
    required = [p for p in spec.positionals if p.required]
    many = any(p.many for p in spec.positionals)
    if len(words) < len(required) or (not many and len(words) > len(spec.positionals)):
        expected = _expected_count(spec)
        raise UsageError(f'"{spec.name}" {expected}', usage=spec.usage)
    for index, positional in enumerate(spec.positionals):
        if positional.many:
            values[positional.dest] = tuple(words[index:])
        elif index < len(words):
            values[positional.dest] = words[index]


def _expected_count(spec: CommandSpec[Any]) -> str:
    required = sum(p.required for p in spec.positionals)
    total = len(spec.positionals)
    if total == 0:
        return "accepts no arguments"
    if any(p.many and p.required for p in spec.positionals):
        return f"requires at least {required} argument{'s' if required > 1 else ''}"
    if required == total:
        return f"requires exactly {total} argument{'s' if total > 1 else ''}"
    return f"accepts at most {total} argument{'s' if total > 1 else ''}"


def _invalid(spec: CommandSpec[Any], exc: ValidationError) -> UsageError:
    """The first validation error, worded as the Docker CLI words a bad flag value
    (`invalid argument "abc" for "-n, --last" flag: not an integer`) or naming the argument."""
    error = exc.errors(include_url=False)[0]
    dest = str(error["loc"][0]) if error["loc"] else ""
    message = describe(error)
    option = next((o for o in spec.options if o.dest == dest), None)
    typed = error.get("input")
    if option is not None and error["type"] != "value_error" and isinstance(typed, str):
        names = f"{option.short}, {option.long}" if option.short else option.long
        return UsageError(f'invalid argument "{typed}" for "{names}" flag: {message}', usage=spec.usage)
    if dest == "format":  # Docker's own words: "failed to parse template: template: :1: unclosed action"
        return UsageError(message, usage=spec.usage)
    where = (
        option.long
        if option is not None
        else next((p.metavar for p in spec.positionals if p.dest == dest), dest)
    )
    return UsageError(f"{where}: {message}" if where else message, usage=spec.usage)
