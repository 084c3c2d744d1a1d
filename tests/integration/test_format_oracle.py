"""`--format` against the Docker CLI on the zoo: the same template prints the same lines.

Templates here avoid what differs between two calls for reasons of the engine, not of the bot: clock cells
(`RunningFor`, `Status`, `CreatedSince`) and `Labels` (Go prints a map in random order); those fields are
compared on their own. The engine's order of images created in the same second is random too, so image
listings are compared as sorted lines.
"""

from __future__ import annotations

import json

import pytest

from bot.render.mask import mask_secrets

from ._oracle import _run, run_bot, run_docker
from .world import Zoo


def _bot(text: str) -> list[str]:
    run = run_bot(text)
    assert run.returncode == 0, run.describe()
    return run.stdout.splitlines()


def _docker(*args: str) -> list[str]:
    return run_docker(*args).stdout.splitlines()


PS_FORMATS = [
    "{{.ID}}\\t{{.Names}}\\t{{.Image}}\\t{{.Command}}\\t{{.State}}",
    "table {{.Names}}\\t{{.Ports}}\\t{{.Networks}}\\t{{.LocalVolumes}}",
    'table {{.Names}}\\t{{.Label "tier"}}\\t{{.Label "com.docker.compose.project"}}\\t{{.Label "nope"}}',
    "{{.Names | upper}} {{truncate .ID 5}} {{json .Ports}} {{len .Names}} {{title .State}}",
    '{{if eq .State "running"}}up{{else}}{{.State}}{{end}} {{.Names}}',
    "{{.CreatedAt}} {{.Names}}",
]


@pytest.mark.parametrize("template", PS_FORMATS)
@pytest.mark.parametrize("no_trunc", [False, True])
def test_ps_format_equals_docker_cli(zoo: Zoo, template: str, no_trunc: bool) -> None:
    flags = ["-a", "-f", f"name={zoo.prefix}", *(["--no-trunc"] if no_trunc else [])]
    bot = _bot(f"ps {' '.join(flags)} --format '{template}'")
    cli = [
        mask_secrets(line) for line in _docker("ps", *flags, "--format", template)
    ]  # the bot masks COMMAND
    # a restarting container flips between running and restarting from one look to the next
    assert _steady(bot, zoo) == _steady(cli, zoo)
    assert len(bot) >= len(zoo.containers)


def _steady(lines: list[str], zoo: Zoo) -> list[str]:
    return [line for line in lines if zoo.restarting not in line.lower()]


def test_ps_format_mounts_equals_docker_cli(zoo: Zoo) -> None:
    """`.Mounts` (cut to 15 characters unless --no-trunc), compared as sets: the engine lists a container's
    mounts in a different order on every call."""
    for flags in (["-a", "-f", f"name={zoo.web}"], ["-a", "-f", f"name={zoo.web}", "--no-trunc"]):
        bot = _bot(f"ps {' '.join(flags)} --format '{{{{.Mounts}}}}'")
        cli = _docker("ps", *flags, "--format", "{{.Mounts}}")
        assert [set(line.split(",")) for line in bot] == [set(line.split(",")) for line in cli]
        assert bot
        assert len(bot[0].split(",")) == 2


def test_ps_json_equals_docker_cli_field_by_field(zoo: Zoo) -> None:
    """`--format json` and `{{json .}}` (which also asks for sizes, as the CLI does): every field but the
    clock's, Labels and Mounts as sets."""
    for template in ("json", "{{json .}}"):
        bot = [json.loads(line) for line in _bot(f"ps -a -f name={zoo.prefix} --format '{template}'")]
        cli = [
            json.loads(line) for line in _docker("ps", "-a", "-f", f"name={zoo.prefix}", "--format", template)
        ]
        assert [row["Names"] for row in bot] == [row["Names"] for row in cli]
        for mine, theirs in zip(bot, cli, strict=True):
            assert sorted(mine) == sorted(theirs)
            for unordered in ("Labels", "Mounts"):  # a Go map, and the engine's order of mounts: random
                assert set(mine.pop(unordered).split(",")) == set(theirs.pop(unordered).split(","))
            for clock in ("RunningFor", "Status"):
                mine.pop(clock), theirs.pop(clock)
            assert mine == theirs


def test_ps_format_size_asks_for_sizes_as_the_cli_does(zoo: Zoo) -> None:
    template = "{{.Names}} {{.Size}}"
    flags = ["-a", "-f", f"name={zoo.created}"]
    assert _bot(f"ps {' '.join(flags)} --format '{template}'") == _docker("ps", *flags, "--format", template)


IMAGE_FORMATS = [
    "table {{.Repository}}\\t{{.Tag}}\\t{{.ID}}\\t{{.Digest}}\\t{{.Size}}\\t{{.VirtualSize}}",
    "{{.Repository}}:{{.Tag}} {{.CreatedAt}} {{.Containers}} {{.SharedSize}} {{.UniqueSize}}",
]


@pytest.mark.parametrize("template", IMAGE_FORMATS)
def test_images_format_equals_docker_cli(zoo: Zoo, template: str) -> None:
    flags = ["-f", f"reference={zoo.prefix}*"]
    bot = _bot(f"images {' '.join(flags)} --format '{template}'")
    cli = _docker("images", *flags, "--format", template)
    table = template.startswith("table")
    assert bot[:1] == cli[:1] if table else True
    assert sorted(bot) == sorted(cli)
    assert len(bot) >= 3


VOLUME_FORMATS = [
    "{{json .}}",
    'table {{.Name}}\\t{{.Driver}}\\t{{.Scope}}\\t{{.Mountpoint}}\\t{{.Label "ctest.zoo"}}\\t{{.Labels}}',
]


@pytest.mark.parametrize("template", VOLUME_FORMATS)
def test_volume_ls_format_equals_docker_cli(zoo: Zoo, template: str) -> None:
    flags = ["-f", f"name={zoo.prefix}"]
    bot = _bot(f"volume ls {' '.join(flags)} --format '{template}'")
    assert bot == _docker("volume", "ls", *flags, "--format", template)
    assert len(bot) >= 2


INSPECT_FORMATS = [
    "{{.State.Status}} {{.Config.Image}} {{json .Config.Cmd}} {{.HostConfig.RestartPolicy.Name}}",
    '{{range .NetworkSettings.Networks}}{{.Gateway}} {{end}}{{index .Config.Labels "tier"}}',
    "{{.Name}} {{.Config.Labels}} {{len .Mounts}} {{json .State.Running}}",
    "{{range .Mounts}}{{.Type}}:{{.Destination}} {{end}}",
]


@pytest.mark.parametrize("template", INSPECT_FORMATS)
def test_inspect_format_equals_docker_cli(zoo: Zoo, template: str) -> None:
    bot = _bot(f"inspect -f '{template}' {zoo.web}")
    cli = _docker("inspect", "-f", template, zoo.web)
    if ".Mounts}}" in template:  # listed in a different order on every call
        bot, cli = sorted(" ".join(bot).split()), sorted(" ".join(cli).split())
    assert bot == cli


def test_inspect_format_masks_what_inspect_masks(zoo: Zoo) -> None:
    """`{{.Config.Env}}` shows the names, never the values (the zoo's web has a SECRET_TOKEN)."""
    shown = "\n".join(_bot(f"inspect -f '{{{{.Config.Env}}}}' {zoo.web}"))
    assert "SECRET_TOKEN=•••" in shown
    assert zoo.secret_value not in shown


def test_version_format_equals_docker_cli() -> None:
    template = (
        "{{.Server.Version}} {{.Server.APIVersion}} {{.Server.Os}}/{{.Server.Arch}} {{.Server.GitCommit}}"
    )
    assert _bot(f"version -f '{template}'") == _docker("version", "-f", template)


@pytest.mark.parametrize(
    ("bot_text", "docker_args"),
    [
        ("ps --format '{{.Foo}}'", ("ps", "--format", "{{.Foo}}")),
        ("ps --format '{{.Names'", ("ps", "--format", "{{.Names")),
        ("images --format '{{.Nope}}'", ("images", "--format", "{{.Nope}}")),
        ("version -f '{{.Nope}}'", ("version", "-f", "{{.Nope}}")),
    ],
)
def test_template_errors_are_the_clis(bot_text: str, docker_args: tuple[str, ...]) -> None:
    """A broken template is refused before any engine call with the CLI's own line (exit 2 here: a usage
    error; the CLI exits 1)."""

    bot = run_bot(bot_text)
    cli = _run(["docker", *docker_args])
    assert bot.returncode == 2
    assert cli.returncode != 0
    expected = cli.stderr.strip().splitlines()[0]
    assert f"error: {expected}" in bot.stderr


def test_inspect_missing_key_is_the_clis_line(zoo: Zoo) -> None:

    bot = run_bot(f"inspect -f '{{{{.Nope}}}}' {zoo.web}")
    cli = _run(["docker", "inspect", "-f", "{{.Nope}}", zoo.web])
    assert cli.stderr.strip() in bot.stdout
