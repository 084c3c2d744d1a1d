"""Every Step-1 command through the shell door (`python -m bot shell -c TEXT`) against the real engine.

Exit codes: 0 ok, 1 failed, 2 usage, 3 denied, 4 needs confirmation. No run ever prints a traceback.
"""

from __future__ import annotations

import contextlib
import json
import re
import secrets
from collections.abc import Iterator
from typing import Any

import docker
import pytest

from ._oracle import HEADERS, Run, compare, run_bot, run_docker, table
from .world import FAKE_SLACK_TOKEN, LOG_LINES, Zoo

MASK = "•••"


def bot(text: str, expect: int = 0, **env: str) -> Run:
    """Run the bot once; it must exit `expect` and print no traceback."""
    run = run_bot(text, **env)
    assert "Traceback" not in run.output, run.describe()
    assert run.returncode == expect, run.describe()
    return run


def lines(text: str) -> list[str]:
    """The non-blank lines of `text`."""
    return [line for line in text.splitlines() if line.strip()]


def message_lines(text: str) -> list[str]:
    """The lines of an error answer, without the optional `hint:` line under the message."""
    return [line for line in lines(text) if not line.startswith("hint:")]


def host_port(zoo: Zoo, port: str) -> str:
    """The host port the engine picked for the web container's `port` (e.g. "80/tcp")."""
    return run_docker("port", zoo.web, port).stdout.split()[0].rsplit(":", 1)[1]


# --- inspect ---------------------------------------------------------------------------------------


def test_inspect_digest_of_exited_container(zoo: Zoo) -> None:
    """`inspect` of an exited container states its status, exit code 3, OOMKilled and restart count."""
    out = bot(f"inspect {zoo.exited3}").stdout
    low = out.lower()
    assert zoo.exited3 in out
    assert "exited" in low
    assert re.search(r"exit\s*code\W+3\b", low), out
    assert "oom" in low, out
    assert "restart" in low, out


def test_inspect_digest_of_restarting_container(zoo: Zoo) -> None:
    """`inspect` shows the restart count the engine holds for a container in a restart loop."""
    count = int(run_docker("inspect", "-f", "{{.RestartCount}}", zoo.restarting).stdout)
    assert count >= 2
    out = bot(f"inspect {zoo.restarting}").stdout
    shown = re.search(r"restart\w*\W+(?:count\W+)?(\d+)", out.lower())
    assert shown, out
    assert int(shown.group(1)) >= count, out  # the loop goes on between the two reads


def test_inspect_digest_of_web_container(zoo: Zoo) -> None:
    """`inspect` shows ports, mounts (named volume vs bind), networks, labels, and masks the secret env."""
    run = bot(f"inspect {zoo.web}")
    out = run.stdout
    assert "running" in out.lower()
    assert f"127.0.0.1:{host_port(zoo, '80/tcp')}->80/tcp" in out, out
    assert f"{host_port(zoo, '53/udp')}->53/udp" in out, out
    assert "443/tcp" in out, out
    named = next(line for line in lines(out) if zoo.named_volume in line)
    assert "/data" in named
    assert "volume" in named.lower(), named
    bind = next(line for line in lines(out) if str(zoo.bind_dir) in line)
    assert "/srv/host" in bind
    assert "bind" in bind.lower(), bind
    assert "bridge" in out
    assert re.search(r"team\W+payments", out), out
    assert f"SECRET_TOKEN={MASK}" in out, out
    assert zoo.secret_value not in run.output


@pytest.mark.parametrize(
    ("role", "health", "probe"),
    [("healthy", "healthy", "probe-ok"), ("unhealthy", "unhealthy", "probe-failed")],
)
def test_inspect_digest_shows_health_and_probe_output(zoo: Zoo, role: str, health: str, probe: str) -> None:
    """`inspect` shows the health status and the last probe's output."""
    out = bot(f"inspect {getattr(zoo, role)}").stdout
    assert re.search(rf"(?<!un){health}", out.lower()), out
    assert probe in out, out


def _only_json(stdout: str) -> Any:
    """The JSON document in stdout (the bot may print one summary line first)."""
    start = min(i for i in (stdout.find("{"), stdout.find("[")) if i >= 0)
    return json.loads(stdout[start:])


def test_inspect_json_is_valid_and_masked(zoo: Zoo) -> None:
    """`inspect --json` prints the engine's inspect document as valid JSON with secret env values masked."""
    run = bot(f"inspect --json {zoo.web}")
    document = _only_json(run.stdout)
    if isinstance(document, list):
        (document,) = document
    assert document["Name"].lstrip("/") == zoo.web
    assert f"SECRET_TOKEN={MASK}" in document["Config"]["Env"]
    assert any(entry.startswith("GREETING=") for entry in document["Config"]["Env"])
    assert zoo.secret_value not in run.output


def test_inspect_image_and_volume_by_name(zoo: Zoo) -> None:
    """`inspect` falls back from containers to images, then to volumes, when resolving a name."""
    image = bot(f"inspect {zoo.app_tags[0]}").stdout
    assert zoo.app_id.removeprefix("sha256:")[:12] in image, image
    volume = bot(f"inspect {zoo.spare_volume}").stdout
    assert zoo.spare_volume in volume
    assert f"/var/lib/docker/volumes/{zoo.spare_volume}/_data" in volume, volume


@pytest.fixture
def shadow_volumes(docker_api: docker.APIClient, zoo: Zoo) -> Iterator[tuple[str, str]]:
    """Volumes named like a zoo container and like a zoo image, so a bare name is ambiguous."""
    names = (zoo.quoted, f"{zoo.prefix}app")
    try:
        for name in names:
            docker_api.create_volume(name, labels={"ctest.zoo": zoo.prefix})
        yield names
    finally:
        for name in names:
            with contextlib.suppress(docker.errors.NotFound):
                docker_api.remove_volume(name, force=True)


def test_inspect_resolution_order(zoo: Zoo, shadow_volumes: tuple[str, str]) -> None:
    """A name held by a container and a volume inspects the container; by an image and a volume, the image."""
    container_name, image_name = shadow_volumes
    container = bot(f"inspect {container_name}").stdout
    assert zoo.container_ids[zoo.containers.index(zoo.quoted)][:12] in container, container
    assert "/var/lib/docker/volumes" not in container, container
    image = bot(f"inspect {image_name}").stdout
    assert zoo.app_id.removeprefix("sha256:")[:12] in image, image
    assert "/var/lib/docker/volumes" not in image, image


# --- logs ------------------------------------------------------------------------------------------


def test_logs_tail(zoo: Zoo) -> None:
    """`logs NAME --tail 2` prints exactly the container's last two lines."""
    out = bot(f"logs {zoo.logger} --tail 2").stdout
    assert lines(out)[-2:] == list(LOG_LINES[-2:]), out
    assert LOG_LINES[0] not in out


def test_logs_mask_secrets(zoo: Zoo) -> None:
    """`logs` masks a password and a Slack token the container printed, and keeps the other lines."""
    run = bot(f"logs {zoo.logger}")
    for line in (LOG_LINES[0], *LOG_LINES[-2:]):
        assert line in run.stdout, run.stdout
    assert "hunter2" not in run.output
    assert FAKE_SLACK_TOKEN not in run.output
    assert FAKE_SLACK_TOKEN[:12] not in run.output
    assert MASK in run.stdout


def test_logs_since(zoo: Zoo) -> None:
    """`logs --since 10m` includes lines the container printed a few seconds ago."""
    out = bot(f"logs --since 10m {zoo.logger}").stdout
    assert LOG_LINES[0] in out
    assert LOG_LINES[-1] in out


def test_logs_timestamps(zoo: Zoo) -> None:
    """`logs -t` prefixes each line with its RFC 3339 timestamp, as `docker logs -t` does."""
    out = bot(f"logs -t {zoo.logger}").stdout
    stamped = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z ")
    assert any(stamped.match(line) and line.endswith(LOG_LINES[-1]) for line in lines(out)), out


# --- volumes, system, help -------------------------------------------------------------------------


def test_volume_inspect(zoo: Zoo) -> None:
    """`volume inspect NAME` shows the volume's driver and mount point."""
    out = bot(f"volume inspect {zoo.named_volume}").stdout
    assert zoo.named_volume in out
    assert "local" in out
    assert f"/var/lib/docker/volumes/{zoo.named_volume}/_data" in out, out


def test_version_names_the_engine() -> None:
    """`version` shows the engine's version and API version, as the Docker CLI reports them."""
    server = run_docker("version", "-f", "{{.Server.Version}} {{.Server.APIVersion}}").stdout.split()
    out = bot("version").stdout
    for value in server:
        assert value in out, out


def test_info_names_the_engine() -> None:
    """`info` shows the engine's server version and container counts."""
    version = run_docker("info", "-f", "{{.ServerVersion}}").stdout.strip()
    out = bot("info").stdout
    assert version in out, out
    assert "Containers" in out, out


def test_help_lists_commands() -> None:
    """`help` lists every Step-1 command."""
    out = bot("help").stdout
    for command in (
        "ps",
        "images",
        "logs",
        "inspect",
        "system df",
        "volume ls",
        "compose",
        "version",
        "info",
    ):
        assert command in out, command


def test_help_for_one_command() -> None:
    """`help ps` shows the usage of `ps` and its flags."""
    out = bot("help ps").stdout
    assert re.search(r"usage:?\s+(docker\s+)?ps", out.lower()), out
    for flag in ("-a", "-f", "-q", "-n", "--no-trunc"):
        assert flag in out, flag


# --- compose ---------------------------------------------------------------------------------------


def test_compose_ls_shows_project(zoo: Zoo) -> None:
    """`compose ls` shows the project with its combined status and config file, as `docker compose ls`."""
    out = bot("compose ls").stdout
    row = next((line for line in lines(out) if line.split()[0] == zoo.project), None)
    assert row is not None, out
    # docker compose sorts the states: combinedStatus in docker/compose cmd/compose/list.go
    assert re.split(r"\s{2,}", row.strip()) == [
        zoo.project,
        "exited(1), running(1)",
        "/srv/shop/compose.yaml",
    ]


def test_compose_ps_lists_project_containers(zoo: Zoo) -> None:
    """`compose ps PROJECT` lists the project's running containers; with `-a` its stopped ones too."""
    running = [line.split() for line in lines(bot(f"compose ps {zoo.project}").stdout)]
    every = [line.split() for line in lines(bot(f"compose ps -a {zoo.project}").stdout)]
    assert [zoo.shop_web] == [words[0] for words in running if words[0].startswith(zoo.prefix)], running
    names = {words[0] for words in every if words[0].startswith(zoo.prefix)}
    assert names == {zoo.shop_web, zoo.shop_db}, every
    services = {words[0]: words for words in every}
    assert "web" in services[zoo.shop_web]
    assert "db" in services[zoo.shop_db]


# --- ps and images: forms and filters, against the CLI ---------------------------------------------


def test_leading_docker_word_is_accepted(zoo: Zoo) -> None:
    """`docker ps -a` is the same command as `ps -a`."""
    comparison = compare(("ps", "-a"), "docker ps -a", HEADERS["ps"])
    assert not comparison.mismatches, comparison.explain()
    assert zoo.web in "\n".join(comparison.bot)


def test_chain_runs_each_step(zoo: Zoo) -> None:
    """`ps -a && images` runs both commands and prints both tables."""
    out = bot("ps -a && images").stdout
    assert zoo.created in "\n".join(table(out, HEADERS["ps"]))
    assert f"{zoo.prefix}app" in "\n".join(table(out, HEADERS["images"]))


def test_chain_stops_at_first_failure(zoo: Zoo) -> None:
    """In `A && B`, when A fails B does not run and the exit code is A's."""
    run = bot(f"inspect nope-{secrets.token_hex(4)} && images", expect=1)
    assert not table(run.stdout, HEADERS["images"]), run.describe()
    assert f"{zoo.prefix}app" not in run.output


FILTERED = [
    # (the same text for the bot and docker, table kind or None for -q, zoo containers shown, not shown)
    ("ps -f status=exited -a", "ps", ("exited0", "exited3", "shop_db"), ("web", "created")),
    ("ps -f name={p} -q", None, ("web", "paused", "unhealthy"), ("created", "exited3")),
    ("ps -a -f label=com.docker.compose.project={p}shop", "ps", ("shop_web", "shop_db"), ("web",)),
    ("ps -a -f name={p} -f status=running", "ps", ("web", "logger"), ("exited0", "paused")),
    ("ps -a -f label=team=payments", "ps", ("web",), ("quoted",)),
    ("ps -n 2", "ps", (), ()),
    ("ps -l", "ps", (), ()),
    ("images {p}app", "images", (), ()),
    ("images -f reference={p}app:*", "images", (), ()),
]


@pytest.mark.parametrize(
    ("template", "header", "present", "absent"), FILTERED, ids=[case[0] for case in FILTERED]
)
def test_filtered_listing_equals_docker_cli(
    zoo: Zoo, template: str, header: str | None, present: tuple[str, ...], absent: tuple[str, ...]
) -> None:
    """Filters, limits and name arguments select the same rows, printed the same way, as the Docker CLI."""
    text = template.format(p=zoo.prefix)
    comparison = compare(text.split(), text, header and HEADERS[header])
    assert not comparison.mismatches, comparison.explain()
    assert comparison.bot, comparison.explain()
    shown = "\n".join(comparison.bot)
    ids = dict(zip(zoo.containers, zoo.container_ids, strict=True))
    for role in present:
        name = getattr(zoo, role)
        assert (ids[name][:12] if header is None else name) in shown, (
            f"{role} missing\n{comparison.explain()}"
        )
    for role in absent:
        name = getattr(zoo, role)
        assert (ids[name][:12] if header is None else name) not in shown, (
            f"{role} listed\n{comparison.explain()}"
        )


# --- errors ----------------------------------------------------------------------------------------


def _zoo_objects(api: docker.APIClient, zoo: Zoo) -> tuple[list[tuple[str, str]], list[str], list[str]]:
    """The zoo's containers (id, state), image tags and volumes; other sessions share the engine."""
    listed = api.containers(all=True, filters={"label": f"ctest.zoo={zoo.prefix}"})
    containers = sorted(
        (c["Id"], "" if c["Names"][0] == f"/{zoo.restarting}" else c["State"]) for c in listed
    )
    images = sorted(
        tag for i in api.images(all=True) for tag in i["RepoTags"] or () if tag.startswith(zoo.prefix)
    )
    volumes = sorted(
        v["Name"] for v in api.volumes().get("Volumes") or [] if v["Name"].startswith(zoo.prefix)
    )
    return containers, images, volumes


@pytest.mark.parametrize(
    ("text", "expect", "wanted"),
    [
        ("inspects {web}", 2, r"\binspect\b"),
        ("ps --bogus", 2, r"(?i)usage:?\s+(docker\s+)?ps"),
        ("ps -f bogus=1", 2, r"bogus"),
    ],
    ids=["unknown command", "bad flag", "bad filter"],
)
def test_bad_input_fails_cleanly_and_changes_nothing(
    docker_api: docker.APIClient, zoo: Zoo, text: str, expect: int, wanted: str
) -> None:
    """A bad command exits with its code and a short message naming the problem, and touches no object."""
    before = _zoo_objects(docker_api, zoo)
    run = bot(text.format(web=zoo.web), expect=expect)
    assert re.search(wanted, run.output), run.describe()
    assert 1 <= len(message_lines(run.output)) <= 2, run.describe()  # the message, maybe the usage line
    assert _zoo_objects(docker_api, zoo) == before


def test_missing_container_is_one_line(docker_api: docker.APIClient, zoo: Zoo) -> None:
    """`inspect` of a name nothing holds exits 1 with one line naming it, and touches no object."""
    name = f"nope-{secrets.token_hex(4)}"
    before = _zoo_objects(docker_api, zoo)
    run = bot(f"inspect {name}", expect=1)
    assert len(message_lines(run.output)) == 1, run.describe()
    assert name in message_lines(run.output)[0]
    assert _zoo_objects(docker_api, zoo) == before


def test_no_engine_is_one_line_naming_the_host(tmp_path_factory: pytest.TempPathFactory) -> None:
    """With no engine at DOCKER_HOST the bot exits 1 with one line naming that host, no traceback."""
    socket = tmp_path_factory.mktemp("no-engine") / f"absent-{secrets.token_hex(4)}.sock"
    run = bot("ps -a", expect=1, DOCKER_HOST=f"unix://{socket}")
    assert len(message_lines(run.output)) == 1, run.describe()
    assert str(socket) in message_lines(run.output)[0], run.describe()
