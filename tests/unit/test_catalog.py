"""The catalog's promise: every command reaches typed code, and every answer has a renderer."""

from __future__ import annotations

import typing

from bot import models
from bot.commands import CATALOG
from bot.commands.catalog import ADMIN, OPERATE, PULL, REMOVE, Act, Builtin, Read
from bot.render.result import renderable_types


def test_every_catalog_entry_has_its_handler_planner_and_renderer() -> None:
    """Every command names typed callables: a read its engine function, a mutation its planner and the
    engine function running that plan, a built-in the router's own; every result type has a renderer (the
    handlers are typed to return a `Result`, which mypy checks, so every command's answer renders)."""
    assert set(typing.get_args(models.Result)) == set(renderable_types())
    for spec in CATALOG.specs:
        handler = spec.handler
        assert isinstance(handler, Read | Act | Builtin), spec.name
        assert callable(handler.run), spec.name
        if spec.action_class in {OPERATE, REMOVE, PULL}:
            assert isinstance(handler, Act), f"{spec.name} changes Docker: it needs a planner"
            assert callable(handler.plan), spec.name
        elif spec.action_class == ADMIN:
            assert isinstance(handler, Builtin), spec.name
        else:
            assert isinstance(handler, Read | Builtin), spec.name
