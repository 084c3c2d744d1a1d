"""Pydantic's validation errors in plain words, for the parser, the settings and the config file.

Pydantic words its errors for programmers ("Input should be a valid integer, unable to parse string as an
integer"); users of this bot typed a flag, an environment variable or a TOML key. `describe` turns one error
into what was wrong with the value; `unknown_key` adds the did-you-mean a misspelled key deserves.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from pydantic_core import ErrorDetails

from bot.suggest import did_you_mean

_WORDS: Mapping[str, str] = {
    "int_parsing": "not an integer",
    "int_type": "not an integer",
    "int_from_float": "not an integer",
    "float_parsing": "not a number",
    "float_type": "not a number",
    "bool_parsing": "expected true or false",
    "bool_type": "expected true or false",
    "string_type": "expected a string",
    "list_type": "expected a list",
    "tuple_type": "expected a list",
    "dict_type": "expected a table",
    "model_type": "expected a table",
    "missing": "required",
}


def describe(error: ErrorDetails, patterns: Mapping[str, str] | None = None) -> str:
    """One validation error as what is wrong with the value (no location, no echo of the input);
    `patterns` says in words what each `Field(pattern=…)` of the model accepts."""
    kind = error["type"]
    context: Mapping[str, Any] = error.get("ctx") or {}
    if kind == "value_error":
        return str(error["msg"]).removeprefix("Value error, ")
    if kind in _WORDS:
        return _WORDS[kind]
    bounds = {
        "greater_than": ("must be greater than", "gt"),
        "greater_than_equal": ("must be at least", "ge"),
        "less_than": ("must be less than", "lt"),
        "less_than_equal": ("must be at most", "le"),
    }
    if kind in bounds:
        words, key = bounds[kind]
        return f"{words} {context.get(key)}"
    if kind == "string_pattern_mismatch":
        pattern = str(context.get("pattern", ""))
        return (patterns or {}).get(pattern, "has a character or a form that is not allowed here")
    if kind == "string_too_long":
        return f"too long (at most {context.get('max_length')} characters)"
    if kind == "string_too_short":
        return "must not be empty" if context.get("min_length") == 1 else "too short"
    if kind == "too_short":
        return "needs at least one value" if context.get("min_length") == 1 else "too few values"
    if kind == "too_long":
        return f"too many values (at most {context.get('max_length')})"
    if kind in {"literal_error", "enum"}:
        return f"must be one of {context.get('expected')}"
    return str(error["msg"]).removeprefix("Value error, ")


def unknown_key(key: str, known: Iterable[str]) -> str:
    """`unknown key` with a did-you-mean among the keys that exist (`; did you mean "allow"?`)."""
    hint = did_you_mean(key, known)
    return "unknown key" + (f"; {hint}" if hint else "")
