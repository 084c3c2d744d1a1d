"""Digests of inspect, logs, version, info and help results, pinned by golden files.

The inspect fixtures under tests/golden/inspect are trimmed real Engine API (1.41) answers captured from
throwaway `dtest-` containers and volumes; regenerate the digests with UPDATE_GOLDEN=1 after checking them.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import golden
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.models import (
    HelpEntry,
    HelpResult,
    InfoResult,
    InspectKind,
    InspectResult,
    LogsResult,
    VersionResult,
)
from bot.render.digest import render_help, render_info, render_inspect, render_logs, render_version

GOLDEN = Path(__file__).resolve().parent.parent / "golden"
ALL_V4 = "0.0.0.0"  # noqa: S104 - a published port's host IP in a fixture, nothing listens
NOW = 1_795_801_600.0  # 2026-11-27 17:46:40 UTC, a few minutes after the fixtures were captured


def fixture(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((GOLDEN / "inspect" / f"{name}.json").read_text(encoding="utf-8"))
    return data


def inspect(kind: InspectKind, data: dict[str, Any], *, raw: bool = False) -> str:
    return render_inspect(InspectResult(kind=kind, data=data, now=NOW, raw=raw))


def check_golden(name: str, text: str) -> None:
    """tests/golden/digest/NAME.txt holds `text` plus a final newline (UPDATE_GOLDEN=1 rewrites it)."""
    golden.check_golden("digest", f"{name}.txt", text + "\n")


HELP_ENTRIES = (
    HelpEntry("ps", ("ls", "list"), "docker ps [OPTIONS]", "List containers", "read"),
    HelpEntry("logs", (), "docker logs [OPTIONS] CONTAINER", "Fetch the logs of a container", "read"),
    HelpEntry(
        "restart", (), "docker restart CONTAINER [CONTAINER...]", "Restart one or more containers", "write"
    ),
)
PS_DETAIL = HelpEntry(
    "ps",
    ("ls", "list"),
    "docker ps [OPTIONS]",
    "List containers",
    "read",
    options=(("-a, --all", "Show all containers (default shows just running)"), ("-q, --quiet", "Only IDs")),
    examples=("ps -a", "ps --filter label=app=web"),
)

GOLDENS: dict[str, Callable[[], str]] = {
    "container_web": lambda: inspect("container", fixture("container_web")),
    "container_exit": lambda: inspect("container", fixture("container_exit")),
    "container_flaky": lambda: inspect("container", fixture("container_flaky")),
    "container_paused": lambda: inspect("container", fixture("container_paused")),
    "container_tmpfs": lambda: inspect("container", fixture("container_tmpfs")),
    "container_web_raw": lambda: inspect("container", fixture("container_web"), raw=True),
    "image_busybox": lambda: inspect("image", fixture("image_busybox")),
    "volume_named": lambda: inspect("volume", fixture("volume_named")),
    "volume_anonymous": lambda: inspect("volume", fixture("volume_anonymous")),
    "version": lambda: render_version(VersionResult("0.1.0", fixture("version"))),
    "info": lambda: render_info(InfoResult(fixture("info"))),
    "help": lambda: render_help(HelpResult(HELP_ENTRIES)),
    "help_ps": lambda: render_help(HelpResult((PS_DETAIL,), detailed=True)),
}


@pytest.mark.parametrize("name", sorted(GOLDENS))
def test_digest_matches_its_golden_file(name: str) -> None:
    """Each digest of a real Engine API answer reads exactly as its reviewed golden file."""
    check_golden(name, GOLDENS[name]())


# ---- inspect: container ------------------------------------------------------------------------------------


def test_container_digest_shows_the_fields_an_operator_looks_for() -> None:
    """Name, short IDs, state, health, quoted command, ports, mounts, networks and limits are all there."""
    text = inspect("container", fixture("container_web"))
    assert "Name:          dtest-digest-web\n" in text
    assert "ID:            eaf67df02c73\n" in text
    assert "Image:         chatops-test/busybox:latest (e164ddf2224c)\n" in text
    assert "Health:        unhealthy (failing streak 213)\n" in text
    assert "  Last probe:  exit 1, 13 seconds ago: probing\n" in text
    assert 'Command:       "sh -c \'echo \\"hello world\\"; sleep 1000\'"\n' in text
    assert "Ports:         443/tcp, 127.0.0.1:18080->80/tcp\n" in text
    assert "  volume dtest-digest-data → /data (rw)\n" in text
    assert "  bind /tmp → /host (ro)\n" in text
    assert "  tmpfs → /run/cache (rw)\n" in text
    assert "Limits:        memory 64MiB, cpus 0.5\n" in text


def test_container_digest_never_shows_environment_values() -> None:
    """Every Env entry shows as KEY=•••, so a password in the environment never reaches Slack."""
    text = inspect("container", fixture("container_web"))
    assert "hunter2" not in text
    assert "  DB_PASSWORD=•••\n  PLAIN=•••\n  EMPTY=•••\n  PATH=•••" in text


def test_raw_inspect_is_docker_inspect_json_with_env_masked() -> None:
    """--json prints a one-element array with 4-space indent; only Env values (and secrets) differ."""
    data = fixture("container_web")
    text = inspect("container", data, raw=True)
    assert text.startswith('[\n    {\n        "Id": "eaf67df02c73')
    assert text.endswith("\n    }\n]")
    parsed = json.loads(text)
    assert isinstance(parsed, list)
    assert len(parsed) == 1
    assert parsed[0]["Config"]["Env"] == ["DB_PASSWORD=•••", "PLAIN=•••", "EMPTY=•••", "PATH=•••"]
    assert "hunter2" not in text
    expected = copy.deepcopy(data)
    expected["Config"]["Env"] = parsed[0]["Config"]["Env"]
    assert parsed[0] == expected


def test_raw_inspect_masks_secrets_outside_env_and_keeps_other_text() -> None:
    """Secrets in arguments, labels and log options are masked too; <, > and & print as the CLI does."""
    data = {
        "Id": "abc",
        "Args": ["--db-password=hunter2", "echo a > /tmp/x && true"],
        "Config": {"Env": ["TOKEN=xoxb-1-2"], "Labels": {"api_token": "q1w2e3r4t5", "app": "web"}},
        "HostConfig": {"LogConfig": {"Type": "splunk", "Config": {"splunk-token": "00112233-4455"}}},
    }
    text = inspect("container", data, raw=True)
    assert "hunter2" not in text
    assert "q1w2e3r4t5" not in text
    assert "00112233-4455" not in text
    assert '"echo a > /tmp/x && true"' in text
    parsed = json.loads(text)[0]
    assert parsed["Config"]["Labels"] == {"api_token": "•••", "app": "web"}
    assert parsed["Args"][0] == "--db-password=•••"


def test_raw_inspect_masks_a_password_given_as_the_next_word_of_an_exec_form_command() -> None:
    """`["curl", "-u", "admin:pw"]` in Cmd or a health check masks what `curl -u admin:pw` would; the user
    and docker's own `-u 1000:1000` stay."""
    data = {
        "Id": "abc",
        "Path": "redis-cli",
        "Args": ["-a", "s3cr3tpw", "ping"],
        "Config": {
            "Cmd": ["curl", "-fsS", "-u", "admin:hunter22", "http://localhost/"],
            "Healthcheck": {"Test": ["CMD", "redis-cli", "-a", "pr0bepw", "ping"]},
            "Entrypoint": ["docker", "run", "-u", "1000:1000", "img"],
        },
    }
    text = inspect("container", data, raw=True)
    for secret in ("s3cr3tpw", "hunter22", "pr0bepw"):
        assert secret not in text
    parsed = json.loads(text)[0]
    assert parsed["Config"]["Cmd"][3] == "admin:•••"
    assert parsed["Args"] == ["-a", "•••", "ping"]
    assert parsed["Config"]["Entrypoint"] == ["docker", "run", "-u", "1000:1000", "img"]


def test_stopped_container_shows_configured_ports_and_exit_details() -> None:
    """A container that is not running shows its port bindings as configured, its exit code, OOM and error."""
    data = {
        "Id": "0123456789abcdef",
        "Name": "/dtest-oom",
        "State": {
            "Status": "exited",
            "ExitCode": 137,
            "OOMKilled": True,
            "Error": "task failed:\nout of memory",
            "StartedAt": "2026-11-27T17:00:00.123456789Z",
            "FinishedAt": "2026-11-27T17:30:00Z",
        },
        "HostConfig": {
            "PortBindings": {"80/tcp": [{"HostIp": "", "HostPort": "8080"}], "53/udp": [{"HostIp": "::1"}]},
            "RestartPolicy": {"Name": "always"},
        },
        "NetworkSettings": {"Ports": {}},
    }
    text = inspect("container", data)
    assert text.endswith("\nPorts:        53/udp, 0.0.0.0:8080->80/tcp (when running)")
    assert "  Started:    2026-11-27 17:00:00 UTC (46 minutes ago)\n" in text
    assert "  Finished:   2026-11-27 17:30:00 UTC (16 minutes ago)\n" in text
    assert "  Exit code:  137\n" in text
    assert "  OOMKilled:  yes\n" in text
    assert "  Error:      task failed: out of memory\n" in text
    assert "Restarts:     0 (policy always)" in text


def test_published_ports_group_like_docker_ps() -> None:
    """IPv4 and IPv6 bindings and unpublished ports print as the PORTS column of `docker ps` does."""
    data = {
        "NetworkSettings": {
            "Ports": {
                "80/tcp": [{"HostIp": ALL_V4, "HostPort": "8080"}, {"HostIp": "::", "HostPort": "8080"}],
                "443/udp": [{"HostIp": ALL_V4, "HostPort": "443"}],
                "9000/tcp": None,
                "9001/tcp": None,
            }
        }
    }
    text = inspect("container", data)
    assert "Ports:  0.0.0.0:443->443/udp, 9000-9001/tcp, 0.0.0.0:8080->80/tcp, [::]:8080->80/tcp" in text


def test_health_probe_output_is_trimmed_cleaned_and_masked() -> None:
    """The last probe's output is squeezed onto one line, stripped of escapes, masked and cut at 200 chars."""
    output = "\x1b[31mFAIL\x1b[0m token=abc123def\n" + "x" * 300
    data = {"State": {"Status": "running", "Health": {"Status": "starting", "Log": [{"Output": output}]}}}
    text = inspect("container", data)
    probe = next(line for line in text.splitlines() if "Last probe" in line)
    assert probe.startswith("  Last probe:  FAIL token=••• xxx")
    assert probe.endswith("x…")
    assert "abc123def" not in text
    assert "\x1b" not in text


# ---- inspect: image and volume -----------------------------------------------------------------------------


def test_image_digest_shows_size_like_docker_images() -> None:
    """Size is decimal with three significant digits (1.98MB), as `docker images` prints it."""
    text = inspect("image", fixture("image_busybox"))
    assert "Size:      1.98MB\n" in text
    assert "Platform:  linux/amd64\n" in text
    assert "Layers:    1\n" in text


def test_untagged_image_shows_none_and_exposed_ports() -> None:
    """An image without tags or digests says <none>; exposed ports, entrypoint and env (masked) are listed."""
    data: dict[str, Any] = {
        "Id": "sha256:6d96a02a49b5ffff",
        "RepoTags": [],
        "RepoDigests": None,
        "Config": {
            "ExposedPorts": {"80/tcp": {}, "443/tcp": {}},
            "Entrypoint": ["/docker-entrypoint.sh"],
            "Cmd": ["nginx", "-g", "daemon off;"],
            "Env": ["NGINX_VERSION=1.25"],
        },
    }
    text = inspect("image", data)
    assert "ID:             6d96a02a49b5\n" in text
    assert "Tags:           <none>\n" in text
    assert "Command:        \"nginx -g 'daemon off;'\"\n" in text
    assert 'Entrypoint:     "/docker-entrypoint.sh"\n' in text
    assert "Exposed ports:  80/tcp, 443/tcp\n" in text
    assert "  NGINX_VERSION=•••" in text


def test_volume_digest_reads_the_anonymous_label_usage_and_masks_options() -> None:
    """The anonymous label decides the kind; usage data is shown; a cifs password in options is masked."""
    data = {
        "Name": "data",
        "Driver": "local",
        "Labels": {"com.docker.volume.anonymous": ""},
        "Options": {"type": "cifs", "o": "username=bob,password=hunter2,vers=3.0"},
        "UsageData": {"Size": 1_984_162, "RefCount": 1},
        "CreatedAt": "2026-11-27T18:42:44+01:00",
    }
    text = inspect("volume", data)
    assert "Kind:     anonymous\n" in text
    assert "Size:     1.98MB\n" in text
    assert "Used by:  1 container\n" in text
    assert "Created:  2026-11-27 17:42:44 UTC (3 minutes ago)\n" in text
    assert "  o=username=bob,password=•••,vers=3.0" in text
    assert "hunter2" not in text


# ---- inspect: odd JSON -------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["container", "image", "volume"])
@pytest.mark.parametrize("raw", [False, True])
def test_inspect_survives_empty_and_null_json(kind: InspectKind, raw: bool) -> None:
    """An empty object, or a real one with every value nulled, renders without raising."""
    assert isinstance(inspect(kind, {}, raw=raw), str)
    source = fixture({"container": "container_web", "image": "image_busybox", "volume": "volume_named"}[kind])
    assert isinstance(inspect(kind, dict.fromkeys(source), raw=raw), str)


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=20,
)
KEYS = st.sampled_from(
    [
        "Id",
        "Name",
        "State",
        "Config",
        "HostConfig",
        "NetworkSettings",
        "Mounts",
        "Args",
        "Path",
        "Created",
        "RepoTags",
        "RootFS",
        "Size",
        "Labels",
        "Options",
        "UsageData",
        "CreatedAt",
        "Env",
        "Health",
        "Ports",
    ]
)


@settings(max_examples=150, deadline=None)
@given(data=st.dictionaries(KEYS, JSON, max_size=8), kind=st.sampled_from(["container", "image", "volume"]))
def test_inspect_never_raises_on_odd_json(data: dict[str, Any], kind: InspectKind) -> None:
    """Fields of unexpected types (lists for maps, numbers for strings) are skipped, never an error."""
    assert isinstance(inspect(kind, data), str)
    assert isinstance(inspect(kind, data, raw=True), str)


# ---- logs, version, info, help -----------------------------------------------------------------------------


def test_logs_strip_escapes_keep_tabs_and_mask_secrets() -> None:
    """Colours, cursor moves and control characters go; tabs stay; secrets are masked; lines keep order."""
    lines = (
        "\x1b[32mINFO\x1b[0m\tstarted",
        "progress 10%\r\x1b[2Kprogress 100%",
        "\x1b]0;title\x07bell\x07 and nul\x00",
        "DB_PASSWORD=hunter2",
        "",
    )
    text = render_logs(LogsResult("web", lines, tail=100))
    assert text == "INFO\tstarted\nprogress 10%progress 100%\nbell and nul\nDB_PASSWORD=•••\n"


def test_logs_of_nothing_is_empty() -> None:
    """No lines render as the empty string (the router adds its own summary)."""
    assert render_logs(LogsResult("web", (), tail=10)) == ""


def test_version_falls_back_to_top_level_fields_on_old_engines() -> None:
    """Without a Components list (old API versions) the Engine section is built from the top-level fields."""
    server = {
        "Version": "17.03.0-ce",
        "ApiVersion": "1.26",
        "GoVersion": "go1.7.5",
        "GitCommit": "3a232c8",
        "BuildTime": "Tue Feb 28 08:10:07 2017",
        "Os": "linux",
        "Arch": "amd64",
    }
    text = render_version(VersionResult("0.1.0", server))
    assert text.splitlines()[3:] == [
        "Server:",
        " Engine:",
        "  Version:          17.03.0-ce",
        "  API version:      1.26",
        "  Go version:       go1.7.5",
        "  Git commit:       3a232c8",
        "  Built:            Tue Feb 28 08:10:07 2017",
        "  OS/Arch:          linux/amd64",
        "  Experimental:     false",
    ]


def test_version_names_the_platform_when_the_engine_has_one() -> None:
    """Docker CE's Platform.Name ("Docker Engine - Community") follows "Server:" as in `docker version`."""
    server = fixture("version") | {"Platform": {"Name": "Docker Engine - Community"}}
    assert "\nServer: Docker Engine - Community\n" in render_version(VersionResult("0.1.0", server))


def test_info_shows_swarm_warnings_and_masks_proxy_credentials() -> None:
    """An active swarm lists its node; warnings close the digest; a proxy password is masked."""
    data = fixture("info") | {
        "Swarm": {
            "LocalNodeState": "active",
            "NodeID": "n1",
            "ControlAvailable": True,
            "NodeAddr": "127.0.0.1",
        },
        "HttpProxy": "http://user:hunter2@proxy:3128",
        "Warnings": ["WARNING: No swap limit support", "bridge-nf-call-iptables is disabled"],
    }
    text = render_info(InfoResult(data))
    assert "Swarm: active\n NodeID: n1\n Is Manager: true\n Node Address: 127.0.0.1\n" in text
    assert "HTTP Proxy: http://user:•••@proxy:3128\n" in text
    assert text.endswith("\n\nWARNING: No swap limit support\nWARNING: bridge-nf-call-iptables is disabled")


def test_info_memory_uses_binary_units_like_docker_info() -> None:
    """Total Memory prints go-units BytesSize: powers of 1024 with four significant digits."""
    for mem_total, shown in [(25_276_510_208, "23.54GiB"), (2_147_483_648, "2GiB"), (1023, "1023B")]:
        assert f"Total Memory: {shown}" in render_info(InfoResult({"MemTotal": mem_total}))


def test_info_of_nothing_is_empty() -> None:
    """An empty /info answer gives an empty digest rather than an error."""
    assert render_info(InfoResult({})) == ""


def test_help_lists_each_command_with_its_aliases() -> None:
    """The short help aligns summaries and names the aliases a command also answers to."""
    assert (
        render_help(HelpResult(HELP_ENTRIES)).splitlines()[0]
        == "ps       List containers (aliases: ls, list)"
    )


def test_detailed_help_reads_like_docker_help() -> None:
    """`help ps` prints usage, summary, aliases, aligned options and examples, in docker's order."""
    text = render_help(HelpResult((PS_DETAIL,), detailed=True))
    assert text.startswith(
        "Usage:  docker ps [OPTIONS]\n\nList containers\n\nAliases: ls, list\n\nOptions:\n"
    )
    assert "  -a, --all    Show all containers (default shows just running)\n" in text
    assert text.endswith("Examples:\n  ps -a\n  ps --filter label=app=web")


def test_raw_json_masks_the_value_word_after_a_secret_flag() -> None:
    """`inspect --json` hides `--db-password VALUE` in Cmd/Args/Entrypoint, not only KEY=VALUE forms."""
    data = {
        "Path": "app",
        "Args": ["--db-password", "Hunter2x9", "--port", "80"],
        "Config": {
            "Cmd": ["app", "--api-key", "k-123", "--verbose"],
            "Entrypoint": ["run", "--token", "t-1"],
        },
    }
    text = render_inspect(InspectResult(kind="container", data=data, now=0.0, raw=True))
    for secret in ("Hunter2x9", "k-123", "t-1"):
        assert secret not in text
    assert '"80"' in text


def test_raw_json_masks_glued_passwords_after_the_program_that_runs() -> None:
    """`mysql -uroot -pSECRET` split into Path and Args (or Entrypoint and Cmd) is masked like the joined
    line; the same flag shape after another program, or docker-style ports, stays as it is."""
    data = {
        "Path": "/usr/bin/mysql",
        "Args": ["-uroot", "-pS3cretPw", "-P3306", "shop"],
        "Config": {
            "Entrypoint": ["mysqldump"],
            "Cmd": ["-u", "backup", "-pDumpPw1", "--all-databases"],
            "Labels": {"args": "-p8080:80"},
        },
        "HostConfig": {"Init": None},
    }
    (parsed,) = json.loads(render_inspect(InspectResult(kind="container", data=data, now=0.0, raw=True)))
    assert parsed["Args"] == ["-uroot", "-p•••", "-P3306", "shop"]
    assert parsed["Config"]["Cmd"] == ["-u", "backup", "-p•••", "--all-databases"]
    assert parsed["Config"]["Labels"] == {"args": "-p8080:80"}
    other = {"Path": "/bin/ps", "Args": ["-p1234", "-ocomm"], "Config": {"Cmd": ["nginx", "-pfoo"]}}
    (parsed,) = json.loads(render_inspect(InspectResult(kind="container", data=other, now=0.0, raw=True)))
    assert parsed["Args"] == ["-p1234", "-ocomm"]
    assert parsed["Config"]["Cmd"] == ["nginx", "-pfoo"]


def test_raw_json_masks_glued_passwords_after_wrappers_and_in_health_checks() -> None:
    """`env A=1 mysql -pX`, `tini -- mysqldump -pX` and a compose-style health check are masked too."""
    data = {
        "Path": "env",
        "Args": ["A=1", "B=2", "LONG_NAME=3", "mysql", "-pS3cretPw"],
        "Config": {
            "Entrypoint": ["tini", "--", "x"],
            "Cmd": ["mysqldump", "-pDumpPw1"],
            "Healthcheck": {"Test": ["CMD", "mysqladmin", "ping", "-pProbePw9"]},
        },
    }
    (parsed,) = json.loads(render_inspect(InspectResult(kind="container", data=data, now=0.0, raw=True)))
    assert parsed["Args"][-1] == "-p•••"
    assert parsed["Config"]["Cmd"] == ["mysqldump", "-p•••"]
    assert parsed["Config"]["Healthcheck"]["Test"] == ["CMD", "mysqladmin", "ping", "-p•••"]
