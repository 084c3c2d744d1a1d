"""Fixtures of the integration tier: the zoo (once per session), a test's scratch objects and the bot's
engine on the tests' Docker host; what they are is in world.py."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator

import docker
import pytest

from bot.engine import Engine, Host

from .world import Scratch, Zoo, ZooBuilder, build_zoo


@pytest.fixture(scope="session")
def zoo(
    docker_api: docker.APIClient, test_image: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Zoo]:
    """Every container state, image kind and volume kind the bot prints, named `ctest-<hex>-…`."""
    builder = ZooBuilder(docker_api, test_image, f"ctest-{secrets.token_hex(4)}-")
    try:
        yield build_zoo(builder, tmp_path_factory.mktemp("zoo-bind"))
    finally:
        problems = builder.tear_down()
    assert not problems, f"zoo: could not remove: {problems}"


@pytest.fixture
def scratch(docker_api: docker.APIClient, test_image: str) -> Iterator[Scratch]:
    """A fresh set of objects for one test, removed afterwards."""
    made = Scratch(docker_api, test_image)
    try:
        yield made
    finally:
        made.tear_down()


@pytest.fixture
def engine(docker_api: docker.APIClient) -> Iterator[Engine]:
    """The bot's engine on the same Docker host as the tests' client."""
    url = os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock"
    made = Engine(Host("local", url, 60.0))
    yield made
    made.close()
