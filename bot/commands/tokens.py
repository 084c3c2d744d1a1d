"""Split command text into words the way a POSIX shell would, without ever running one.

Quoting (single, double, backslash) works as in `sh`; `&&` outside quotes separates chained commands. Every
other shell operator outside quotes (`|`, `;`, `>`, `<`, `&`, `$(…)`, backticks) is refused with an
explanation, so `docker ps | grep web` gets a clear answer instead of a surprising one.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.errors import UsageError

AND = "&&"
# Slack and phone keyboards turn quotes into typographic ones; people mean the plain ones.
_SMART_QUOTES = str.maketrans({"“": '"', "”": '"', "„": '"', "‘": "'", "’": "'"})
# Each refused operator, as the refusal names it ("a pipe (|) is not supported: …").
_OPERATORS = {
    "||": "'||' (run if the first fails)",
    "|": "a pipe (|)",
    ";": "a command list (;)",
    ">": "a redirection (>)",
    "<": "a redirection (<)",
    "&": "a background job (&)",
    "`": "command substitution (`…`)",
    "$(": "command substitution ($(…))",
}
_DOUBLE_QUOTE_ESCAPES = {'"', "\\", "$", "`"}


@dataclass(frozen=True, slots=True)
class Word:
    """One word of the text; `operator` is True only for an unquoted `&&`; `quoted` if any part was quoted."""

    text: str
    operator: bool = False
    quoted: bool = False


def split_words(text: str) -> list[Word]:
    """Tokenise `text` like `sh` does for simple commands; raise `UsageError` on shell syntax we refuse."""
    text = text.translate(_SMART_QUOTES)
    words: list[Word] = []
    current: list[str] = []
    in_word = quoted = False
    i, n = 0, len(text)
    while i < n:
        char = text[i]
        if char.isspace():
            if in_word:
                words.append(Word("".join(current), quoted=quoted))
                current, in_word, quoted = [], False, False
            i += 1
        elif char == "'":
            end = text.find("'", i + 1)
            if end < 0:
                raise UsageError("unterminated single quote", hint="close the ' or remove it")
            current.append(text[i + 1 : end])
            in_word, quoted, i = True, True, end + 1
        elif char == '"':
            i = _double_quoted(text, i + 1, current)
            in_word = quoted = True
        elif char == "\\":
            if i + 1 < n:
                current.append(text[i + 1])
            in_word, quoted, i = True, True, i + 2
        elif text.startswith(AND, i):
            if in_word:
                words.append(Word("".join(current), quoted=quoted))
                current, in_word, quoted = [], False, False
            words.append(Word(AND, operator=True))
            i += 2
        elif (operator := _operator_at(text, i)) is not None:
            raise UsageError(
                f"{_OPERATORS[operator]} is not supported: the bot runs Docker commands, not a shell",
                hint="chain commands with && ; filter with -f KEY=VALUE (e.g. ps -f name=web)",
            )
        else:
            current.append(char)
            in_word, i = True, i + 1
    if in_word:
        words.append(Word("".join(current), quoted=quoted))
    return words


def _double_quoted(text: str, i: int, out: list[str]) -> int:
    """Append the content of a double-quoted string starting at `i`; return the index after its end."""
    n = len(text)
    while i < n:
        char = text[i]
        if char == '"':
            return i + 1
        if char == "\\" and i + 1 < n and text[i + 1] in _DOUBLE_QUOTE_ESCAPES:
            out.append(text[i + 1])
            i += 2
            continue
        if char == "`" or text.startswith("$(", i):
            raise UsageError(
                "command substitution is not supported: the bot runs Docker commands, not a shell",
                hint="quote the text with ' instead",
            )
        out.append(char)
        i += 1
    raise UsageError("unterminated double quote", hint='close the " or remove it')


def _operator_at(text: str, i: int) -> str | None:
    for operator in ("$(", "||"):
        if text.startswith(operator, i):
            return operator
    char = text[i]
    return char if char in _OPERATORS else None
