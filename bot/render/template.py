"""`--format`: the small, safe part of Go's text/template that Docker users write, evaluated on our models.

What it takes, as `docker … --format` does: text with actions `{{ … }}`; field access (`.Names`,
`.State.Health.Status`), string, raw-string and integer literals, parentheses and pipelines
(`{{.Names | upper}}`: the piped value is the last argument); the functions Docker adds (`json`, `join`,
`split`, `lower`, `upper`, `title`, `pad`, `truncate`, `println`) and a few of Go's (`index`, `len`, `eq`,
`ne`, `not`, `and`, `or`); `if`/`else`, `range` and `with` blocks closed by `end`; `{{-`/`-}}` trimming
and `{{/* comments */}}`. A `table` prefix prints a header row and aligns the columns as Docker's
tabwriter does; `json` alone is `{{json .}}`; `\\t` and `\\n` in the format are a tab and a newline.

What it never does: call anything but the functions above and the methods a model exposes (`.Label "k"`),
read variables or the environment, or run user text as code. Templates are parsed once, bounded in nesting,
and their output is bounded. Errors are worded as Go's are (`template: :1:2: executing "" at <.Foo>:
can't evaluate field Foo in type *formatter.ContainerContext`), so they read as the Docker CLI's.
"""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from bot.render.format import tabulate

MAX_DEPTH = 20  # blocks and parentheses nested deeper are refused
MAX_OUTPUT = 1_000_000  # characters one execution may write

FUNCTIONS = (
    *("json", "join", "split", "lower", "upper", "title", "pad", "truncate", "println"),  # Docker's
    *("index", "len", "eq", "ne", "not", "and", "or"),  # Go's own
)
_KEYWORDS = {"if", "else", "end", "range", "with"}
_REFUSED = {"define", "template", "block", "break", "continue", "print", "printf", "html", "js", "urlquery"}


class TemplateError(Exception):
    """A template that cannot be parsed (`parsing`) or executed, worded as Go words it."""

    def __init__(self, message: str, *, parsing: bool) -> None:
        super().__init__(message)
        self.message = message
        self.parsing = parsing


@dataclass(frozen=True, slots=True)
class Struct:
    """A model as a template sees it: named fields, methods of one string argument (`.Label "k"`), its Go
    type name for errors, its table headers (`.ID` → `CONTAINER ID`), and what `{{json .}}` prints (Docker
    escapes `<>&` there)."""

    type_name: str
    fields: Mapping[str, Any]
    methods: Mapping[str, Callable[[str], Any]] = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=dict)
    sort: bool = False  # a Docker formatter context: marshalled as a map (keys sorted, `<>&` escaped)
    json_value: Any = None  # a plain Go struct: what `json` prints (its JSON keys, in order)

    def as_json(self) -> str:
        return _json(self.json_data(), escape_html=self.sort)

    def json_data(self) -> Any:
        if self.sort:
            return {key: _jsonable(value) for key, value in sorted(self.fields.items())}
        return _jsonable(self.json_value if self.json_value is not None else dict(self.fields))


# ---- parsing ------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Field:
    path: tuple[str, ...]  # () is the dot itself
    pos: int
    text: str


@dataclass(frozen=True, slots=True)
class _Literal:
    value: str | int
    pos: int
    text: str


@dataclass(frozen=True, slots=True)
class _Function:
    name: str
    pos: int


@dataclass(frozen=True, slots=True)
class _Command:
    args: tuple[Any, ...]  # _Field | _Literal | _Function | _Pipeline
    pos: int
    text: str


@dataclass(frozen=True, slots=True)
class _Pipeline:
    commands: tuple[_Command, ...]
    pos: int


@dataclass(slots=True)
class _Block:
    kind: str  # "if", "range", "with"
    pipeline: _Pipeline
    body: list[Any] = field(default_factory=list)
    otherwise: list[Any] | None = None


@dataclass(frozen=True, slots=True)
class Template:
    """A parsed format: its nodes, and whether it is a `table` (header row, aligned columns)."""

    nodes: tuple[Any, ...]
    table: bool
    source: str
    name: str = ""
    json_shorthand: bool = False  # `--format json`

    def render(self, items: Sequence[Any], shape: Struct | None = None) -> str:
        """The output for `items`, one execution each (a table starts with the header `shape`, an item of
        the same type, gives), without the final newline."""
        lines = [self.execute(item) for item in items]
        if not self.table:
            return "\n".join(lines)
        header = self.execute(shape if shape is not None else (items[0] if items else None), header=True)
        return tabwrite("\n".join([header, *lines]))

    def uses(self, name: str) -> bool:
        """Whether executing may read the field `name` of the dot (`.Size`, or all of it with `json .`):
        the CLI asks the engine for sizes only when a template shows them (not for `--format json`)."""
        return not self.json_shorthand and _uses(self.nodes, name)

    def execute(self, item: Any, *, header: bool = False) -> str:
        out = _Output()
        _Executor(self, header).run(list(self.nodes), item, out)
        return out.text()


@functools.lru_cache(maxsize=256)
def parse(text: str, *, name: str = "", tables: bool = True) -> Template:
    """Parse a `--format` value. For a listing (`tables`), as Docker's formatter does: `json` is
    `{{json .}}`, a `table` prefix makes a table, the format is trimmed of spaces and `\\t`/`\\n` are a
    tab and a newline; inspect and version take the template as it is. Positions in errors count in the
    text as typed, as Go's do. Parsed once per text (validation, the size decision and the rendering all
    ask); a template is never changed once made."""
    shorthand = tables and text == "json"
    if shorthand:
        text = "{{json .}}"
    table = tables and text.startswith("table")
    if table and not text[len("table") :].strip():
        raise TemplateError("a bare 'table' is the default table: omit --format", parsing=True)
    nodes = _Parser(text, name).parse()
    if tables:
        nodes = _as_listing(nodes, table)
    return Template(tuple(nodes), table, text, name, shorthand)


def _as_listing(nodes: list[Any], table: bool) -> list[Any]:
    """Docker's formatter's touches on the text around the actions: the `table` word dropped, the spaces
    at both ends trimmed, `\\t` and `\\n` made a tab and a newline."""
    nodes = list(nodes)
    if table and nodes and isinstance(nodes[0], str):
        nodes[0] = nodes[0][len("table") :]
    if nodes and isinstance(nodes[0], str):
        nodes[0] = nodes[0].lstrip(" ")
    if nodes and isinstance(nodes[-1], str):
        nodes[-1] = nodes[-1].rstrip(" ")
    return [_escaped(node) for node in nodes if node != ""]


def _escaped(node: Any) -> Any:
    if isinstance(node, str):
        return node.replace("\\t", "\t").replace("\\n", "\n")
    if isinstance(node, _Block):
        node.body = [_escaped(child) for child in node.body]
        if node.otherwise is not None:
            node.otherwise = [_escaped(child) for child in node.otherwise]
    return node


class _Parser:
    def __init__(self, text: str, name: str) -> None:
        self.text = text
        self.name = name

    def error(self, message: str, pos: int) -> TemplateError:
        line = self.text.count("\n", 0, pos) + 1
        return TemplateError(f"template: {self.name}:{line}: {message}", parsing=True)

    def parse(self) -> list[Any]:
        root: list[Any] = []
        stack: list[_Block] = []
        trim_next = False
        i = 0
        while i < len(self.text):
            start = self.text.find("{{", i)
            chunk = self.text[i:] if start < 0 else self.text[i:start]
            if start >= 0 and self.text.startswith("{{- ", start):
                chunk = chunk.rstrip()
            if trim_next:
                chunk = chunk.lstrip()
            if chunk:
                _target(stack, root).append(chunk)
            if start < 0:
                break
            end = self.text.find("}}", start + 2)
            if end < 0:
                raise self.error("unclosed action", start)
            inner_start, inner_end = start + 2, end
            if self.text.startswith("- ", inner_start):
                inner_start += 2
            trim_next = self.text[inner_start:inner_end].endswith(" -") and inner_end - 2 >= inner_start
            if trim_next:
                inner_end -= 2
            self.place(inner_start, inner_end, stack, root)
            i = end + 2
        if stack:
            raise self.error(f"unexpected EOF in {stack[-1].kind}", len(self.text))
        return root

    def place(self, start: int, end: int, stack: list[_Block], root: list[Any]) -> None:
        inner = self.text[start:end]
        stripped = inner.strip()
        if stripped.startswith("/*"):
            if not stripped.endswith("*/"):
                raise self.error("unclosed comment", start)
            return
        if not stripped:
            raise self.error("missing value for command", start)
        word = stripped.split(None, 1)[0]
        pos = start + (len(inner) - len(inner.lstrip()))
        if word == "end":
            if not stack:
                raise self.error("unexpected {{end}}", pos)
            stack.pop()  # the block was placed in its parent when it opened
            return
        if word == "else":
            if not stack or stack[-1].otherwise is not None:
                raise self.error("unexpected {{else}}", pos)
            stack[-1].otherwise = []
            return
        if word in ("if", "range", "with"):
            if len(stack) >= MAX_DEPTH:
                raise self.error("too deeply nested", pos)
            rest = stripped[len(word) :]
            if not rest.strip():
                raise self.error(f"missing value for {word}", pos)
            pipeline = self.pipeline(pos + len(word), pos + len(stripped), depth=len(stack))
            block = _Block(word, pipeline)
            _target(stack, root).append(block)
            stack.append(block)
            return
        if word in _REFUSED or word.startswith("$"):
            shown = word if word in _REFUSED else "variables ($…)"
            raise self.error(f"{shown} is not supported here (functions: {', '.join(FUNCTIONS)})", pos)
        _target(stack, root).append(self.pipeline(start, end, depth=len(stack)))

    def pipeline(self, start: int, end: int, *, depth: int) -> _Pipeline:
        tokens = list(self.tokens(start, end))
        pipeline, rest = self.pipeline_of(tokens, depth, end)
        if rest:
            raise self.error(f"unexpected {rest[0][1]!r} in command", rest[0][0])
        return pipeline

    def pipeline_of(
        self, tokens: list[tuple[int, str]], depth: int, end: int
    ) -> tuple[_Pipeline, list[tuple[int, str]]]:
        if depth > MAX_DEPTH:
            raise self.error("too deeply nested", tokens[0][0] if tokens else 0)
        commands: list[_Command] = []
        args: list[Any] = []
        first = tokens[0][0] if tokens else 0
        cmd_start = first
        while tokens:
            pos, lexeme = tokens[0]
            if lexeme == ")":
                break
            tokens = tokens[1:]
            if lexeme == "|":
                if not args:
                    raise self.error("missing command before |", pos)
                commands.append(_Command(tuple(args), cmd_start, self.text[cmd_start:pos].strip()))
                args, cmd_start = [], tokens[0][0] if tokens else pos
                continue
            if lexeme == "(":
                inner, tokens = self.pipeline_of(tokens, depth + 1, end)
                if not tokens or tokens[0][1] != ")":
                    raise self.error("unclosed left paren", pos)
                tokens = tokens[1:]
                args.append(inner)
                continue
            args.append(self.operand(pos, lexeme))
        if not args:
            raise self.error("missing value for command", first)
        last_end = end if not tokens else tokens[0][0]
        commands.append(_Command(tuple(args), cmd_start, self.text[cmd_start:last_end].strip()))
        for command in commands[1:]:
            if isinstance(command.args[0], _Literal | _Pipeline) or (
                isinstance(command.args[0], _Field) and not command.args[0].path
            ):
                raise self.error("non executable command in pipeline stage 2", command.pos)
        return _Pipeline(tuple(commands), first), tokens

    def operand(self, pos: int, lexeme: str) -> Any:
        if lexeme.startswith("."):
            if lexeme == ".":
                return _Field((), pos, lexeme)
            parts = lexeme[1:].split(".")
            if not all(part.isidentifier() for part in parts):
                raise self.error(f"bad character in field {lexeme!r}", pos)
            return _Field(tuple(parts), pos + lexeme.rfind("."), lexeme)
        if lexeme[0] in '"`':
            return _Literal(_unquote(lexeme, lambda: self.error("bad string", pos)), pos, lexeme)
        if lexeme.lstrip("-").isdigit():
            return _Literal(int(lexeme), pos, lexeme)
        if lexeme in FUNCTIONS:
            return _Function(lexeme, pos)
        if lexeme in _KEYWORDS:
            raise self.error(f"unexpected <{lexeme}> in command", pos)
        if lexeme in _REFUSED or lexeme.startswith("$"):
            shown = lexeme if lexeme in _REFUSED else "variables ($…)"
            raise self.error(f"{shown} is not supported here (functions: {', '.join(FUNCTIONS)})", pos)
        if lexeme in ("true", "false", "nil"):
            raise self.error(f"the constant {lexeme} is not supported here", pos)
        raise self.error(f'function "{lexeme}" not defined', pos)

    def tokens(self, start: int, end: int) -> Iterator[tuple[int, str]]:
        i = start
        text = self.text
        while i < end:
            char = text[i]
            if char.isspace():
                i += 1
            elif char in "|()":
                yield i, char
                i += 1
            elif char in '"`':
                close = i + 1
                while close < end and text[close] != char:
                    close += 2 if char == '"' and text[close] == "\\" else 1
                if close >= end:
                    raise self.error("unterminated quoted string", i)
                yield i, text[i : close + 1]
                i = close + 1
            else:
                j = i
                while j < end and not text[j].isspace() and text[j] not in '|()"`':
                    j += 1
                yield i, text[i:j]
                i = j


def _uses(nodes: Sequence[Any], name: str) -> bool:
    for node in nodes:
        if isinstance(node, _Block):
            if _uses([node.pipeline], name) or _uses(node.body, name) or _uses(node.otherwise or [], name):
                return True
        elif isinstance(node, _Pipeline):
            for command in node.commands:
                for arg in command.args:
                    if isinstance(arg, _Field) and (arg.path[:1] == (name,) or not arg.path):
                        return True
                    if isinstance(arg, _Pipeline) and _uses([arg], name):
                        return True
    return False


def _target(stack: list[_Block], root: list[Any]) -> list[Any]:
    """Where the next node goes: the open block's `else` branch once it has one, else its body."""
    if not stack:
        return root
    block = stack[-1]
    return block.otherwise if block.otherwise is not None else block.body


def _unquote(lexeme: str, error: Callable[[], TemplateError]) -> str:
    if lexeme[0] == "`":
        return lexeme[1:-1]
    try:
        value = json.loads(lexeme)
    except ValueError:
        raise error() from None
    if not isinstance(value, str):
        raise error()
    return value


# ---- execution ----------------------------------------------------------------------------------------


class _Output:
    def __init__(self) -> None:
        self.parts: list[str] = []
        self.size = 0

    def write(self, text: str) -> None:
        self.size += len(text)
        if self.size > MAX_OUTPUT:
            raise TemplateError(f"the output passes {MAX_OUTPUT:,} characters", parsing=False)
        self.parts.append(text)

    def text(self) -> str:
        return "".join(self.parts)


_MISSING = object()


class _Executor:
    def __init__(self, template: Template, header: bool) -> None:
        self.template = template
        self.header = header

    def error(self, node_pos: int, node_text: str, message: str) -> TemplateError:
        text = self.template_text()
        line = text.count("\n", 0, node_pos) + 1
        column = node_pos - (text.rfind("\n", 0, node_pos) + 1)
        name = self.template.name
        return TemplateError(
            f'template: {name}:{line}:{column}: executing "{name}" at <{node_text}>: {message}', parsing=False
        )

    def template_text(self) -> str:
        return self.template.source

    def run(self, nodes: list[Any], dot: Any, out: _Output) -> None:
        for node in nodes:
            if isinstance(node, str):
                out.write(node)
            elif isinstance(node, _Pipeline):
                out.write(_printed(self.pipeline(node, dot)))
            else:
                self.block(node, dot, out)

    def block(self, block: _Block, dot: Any, out: _Output) -> None:
        value = self.pipeline(block.pipeline, dot)
        if block.kind == "range":
            items = _range_items(value)
            if items is None:
                raise self.error(
                    block.pipeline.pos,
                    block.pipeline.commands[0].text,
                    f"range can't iterate over {_printed(value)}",
                )
            for item in items:
                self.run(block.body, item, out)
            if not items and block.otherwise is not None:
                self.run(block.otherwise, dot, out)
            return
        if _truth(value):
            self.run(block.body, value if block.kind == "with" else dot, out)
        elif block.otherwise is not None:
            self.run(block.otherwise, dot, out)

    def pipeline(self, pipeline: _Pipeline, dot: Any) -> Any:
        value: Any = _MISSING
        for command in pipeline.commands:
            value = self.command(command, dot, value)
        return value

    def command(self, command: _Command, dot: Any, piped: Any) -> Any:
        head, *rest = command.args
        extra = [] if piped is _MISSING else [piped]
        if isinstance(head, _Function):
            args = [self.arg(arg, dot) for arg in rest] + extra
            return self.call(head, command, args)
        if isinstance(head, _Field) and head.path:
            args = [self.arg(arg, dot) for arg in rest] + extra
            return self.field(head, dot, args)
        if rest or extra:
            shown = "(…)" if isinstance(head, _Pipeline) else head.text
            raise self.error(command.pos, command.text, f"can't give argument to non-function {shown}")
        return self.arg(head, dot)

    def arg(self, node: Any, dot: Any) -> Any:
        if isinstance(node, _Literal):
            return node
        if isinstance(node, _Pipeline):
            return self.pipeline(node, dot)
        if isinstance(node, _Field):
            return self.field(node, dot, []) if node.path else dot
        if isinstance(node, _Function):
            return self.call(node, _Command((node,), node.pos, node.name), [])
        raise AssertionError(node)  # pragma: no cover - the parser makes no other node

    def field(self, node: _Field, dot: Any, args: list[Any]) -> Any:
        value = dot
        for index, name in enumerate(node.path):
            last = index == len(node.path) - 1
            value = self.lookup(node, value, name, args if last else [])
        return value

    def lookup(self, node: _Field, value: Any, name: str, args: list[Any]) -> Any:
        if self.header and isinstance(value, Struct):
            if (
                name in value.methods
            ):  # `.Label "com.example.tier-name"` is headed "tier name", as Docker does
                key = str(_plain(args[0])) if args else name
                return key.rsplit(".", 1)[-1].replace("-", " ").replace("_", " ")
            return value.headers.get(name, name.upper())
        if isinstance(value, Struct):
            if name in value.methods:
                if len(args) != 1:
                    raise self.error(
                        node.pos, node.text, f"wrong number of args for {name}: want 1 got {len(args)}"
                    )
                return value.methods[name](self.string(node, args[0]))
            if name in value.fields:
                if args:
                    raise self.error(node.pos, node.text, f"{name} is not a method but has arguments")
                return value.fields[name]
            raise self.error(node.pos, node.text, f"can't evaluate field {name} in type {value.type_name}")
        if isinstance(value, Mapping):
            if args:
                raise self.error(node.pos, node.text, f"{name} is not a method but has arguments")
            if name not in value:
                raise self.error(node.pos, node.text, f'map has no entry for key "{name}"')
            return value[name]
        if value is None:
            raise self.error(node.pos, node.text, f"nil pointer evaluating interface {{}}.{name}")
        raise self.error(node.pos, node.text, f"can't evaluate field {name} in type {_go_type(value)}")

    def string(self, node: Any, value: Any) -> str:
        if isinstance(value, _Literal):
            if isinstance(value.value, str):
                return value.value
            raise self.error(value.pos, value.text, f"expected string; found {value.text}")
        if isinstance(value, str):
            return value
        raise self.error(
            node.pos,
            getattr(node, "text", ""),
            f"wrong type for value; expected string; got {_go_type(value)}",
        )

    def integer(self, node: Any, value: Any) -> int:
        if isinstance(value, _Literal):
            if isinstance(value.value, int):
                return value.value
            raise self.error(value.pos, value.text, f"expected integer; found {value.text}")
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise self.error(
            node.pos, getattr(node, "text", ""), f"wrong type for value; expected int; got {_go_type(value)}"
        )

    def call(self, function: _Function, command: _Command, args: list[Any]) -> Any:
        name = function.name
        if self.header:  # Docker's header functions hand their first argument back (json too)
            return _plain(args[0]) if args else ""
        arity = {
            "json": 1,
            "join": 2,
            "split": 2,
            "lower": 1,
            "upper": 1,
            "title": 1,
            "pad": 3,
            "truncate": 2,
        }
        arity |= {"len": 1, "not": 1, "eq": 2, "ne": 2}
        if name in arity and len(args) != arity[name]:
            raise self.error(
                function.pos, name, f"wrong number of args for {name}: want {arity[name]} got {len(args)}"
            )
        if name in ("and", "or", "index") and not args:
            raise self.error(function.pos, name, f"wrong number of args for {name}: want at least 1 got 0")
        values = [_plain(a) for a in args]
        if name == "json":
            return values[0].as_json() if isinstance(values[0], Struct) else _json(values[0])
        if name in ("lower", "upper", "title"):
            text = self.string(command, args[0])
            return text.lower() if name == "lower" else text.upper() if name == "upper" else _title(text)
        if name == "join":
            items = values[0]
            if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
                raise self.error(
                    command.pos,
                    command.text,
                    f"wrong type for value; expected []string; got {_go_type(items)}",
                )
            return self.string(command, args[1]).join(items)
        if name == "split":
            return self.string(command, args[0]).split(self.string(command, args[1]))
        if name == "pad":
            text = self.string(command, args[0])
            return " " * self.integer(command, args[1]) + text + " " * self.integer(command, args[2])
        if name == "truncate":
            text = self.string(command, args[0])
            length = self.integer(command, args[1])
            return text[:length] if len(text) > length else text
        if name == "println":
            return " ".join(_printed(v) for v in values) + "\n"
        if name == "len":
            if not isinstance(values[0], str | list | dict):
                raise self.error(
                    command.pos, command.text, f"error calling len: len of type {_go_type(values[0])}"
                )
            return len(values[0])
        if name == "index":
            return self.index(command, values)
        if name == "not":
            return not _truth(values[0])
        if name in ("eq", "ne"):
            equal = values[0] == values[1]
            return equal if name == "eq" else not equal
        if name == "and":
            return next((v for v in values if not _truth(v)), values[-1])
        return next((v for v in values if _truth(v)), values[-1])  # or

    def index(self, command: _Command, values: list[Any]) -> Any:
        item = values[0]
        for key in values[1:]:
            if isinstance(item, Mapping) and isinstance(key, str):
                item = item.get(key)
            elif isinstance(item, list) and isinstance(key, int) and not isinstance(key, bool):
                if not 0 <= key < len(item):
                    raise self.error(
                        command.pos, command.text, f"error calling index: index out of range: {key}"
                    )
                item = item[key]
            else:
                raise self.error(
                    command.pos, command.text, f"error calling index: cannot index {_go_type(item)}"
                )
        return item


def _plain(value: Any) -> Any:
    return value.value if isinstance(value, _Literal) else value


def _range_items(value: Any) -> list[Any] | None:
    if isinstance(value, list):
        return value
    if isinstance(value, Mapping) and not isinstance(value, Struct):
        return [value[key] for key in sorted(value)]
    if value is None:
        return []
    return None


def _truth(value: Any) -> bool:
    value = _plain(value)
    if isinstance(value, Struct):
        return True
    return bool(value)


def _go_type(value: Any) -> str:
    value = _plain(value)
    if isinstance(value, Struct):
        return value.type_name
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float64"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "[]interface {}"
    if isinstance(value, Mapping):
        return "map[string]interface {}"
    return "interface {}"


def _printed(value: Any) -> str:
    """A value as Go's fmt prints it with %v: lists as `[a b]`, maps as `map[k:v]` sorted, nil as `<nil>`."""
    value = _plain(value)
    if value is _MISSING or value is None:
        return "<nil>" if value is None else ""
    if isinstance(value, Struct):
        return "{" + " ".join(_printed(v) for v in value.fields.values()) + "}"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return _go_float(value)
    if isinstance(value, list):
        return "[" + " ".join(_printed(v) for v in value) + "]"
    if isinstance(value, Mapping):
        return "map[" + " ".join(f"{k}:{_printed(value[k])}" for k in sorted(value)) + "]"
    return str(value)


def _go_float(value: float) -> str:
    """%v of a float64: the shortest digits, in exponent form below 1e-4 or from 1e21 up."""
    if math.isinf(value) or math.isnan(value):
        return {"inf": "+Inf", "-inf": "-Inf"}.get(str(value), "NaN")
    if value.is_integer() and abs(value) < 1e21:
        return str(int(value))
    text = repr(value)
    if "e" in text:
        mantissa, exponent = text.split("e")
        sign = "-" if exponent.startswith("-") else "+"
        return f"{mantissa}e{sign}{abs(int(exponent)):02d}"
    return text


def _title(text: str) -> str:
    """Go's strings.Title: the first letter of every word upper case, the rest as it was."""
    out: list[str] = []
    previous = " "
    for char in text:
        separator = not (previous.isalnum() or previous == "_") if previous.isascii() else previous.isspace()
        out.append(char.upper() if separator else char)
        previous = char
    return "".join(out)


def _json(value: Any, *, escape_html: bool = False) -> str:
    """`json.Marshal` as Docker's `json` function calls it: compact, UTF-8, `<>&` escaped only where
    Docker's own marshalling of a model does."""
    text = json.dumps(_jsonable(value), ensure_ascii=False, separators=(",", ":"))
    text = text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
    if escape_html:
        text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return text


def _jsonable(value: Any) -> Any:
    value = _plain(value)
    if isinstance(value, Struct):
        return value.json_data()
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if isinstance(value, Mapping):
        return {k: _jsonable(v) for k, v in value.items()}
    return value


# ---- tabwriter ----------------------------------------------------------------------------------------


def tabwrite(text: str, *, minwidth: int = 10, padding: int = 3) -> str:
    """Align tab-separated cells as Go's text/tabwriter does with Docker's settings (minimum width 10,
    padding 3, spaces): a column block is a run of lines that have a tab-terminated cell in that column,
    and its width is its widest cell plus the padding. Widths count characters, as Go counts runes."""
    rows = [line.split("\t") for line in text.split("\n")]
    return tabulate(rows, minwidth, padding, count_runes=True)
