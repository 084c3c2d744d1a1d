"""The `docker-chatops` process: start-up errors and a missing engine are one clear line, no traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def run_bot(
    *args: str, env: dict[str, str] | None = None, stdin: str = ""
) -> subprocess.CompletedProcess[str]:
    """Run `python -m bot ARGS` from an empty folder (no .env), with a clean, explicit environment."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "CHATOPS_", "DOCKER_"))}
    base["PYTHONPATH"] = str(ROOT)
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        env={**base, **(env or {})},
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=ROOT / "tests",
    )


@pytest.mark.parametrize("command", [["run"], ["shell"], ["shell", "-c", "ps -a"]])
def test_no_engine_is_one_clear_message_and_exit_1(tmp_path: Path, command: list[str]) -> None:
    """`run`, the REPL and a one-shot all name the host and the address tried when no engine answers."""
    socket_path = tmp_path / "docker.sock"
    result = run_bot(*command, env={"DOCKER_HOST": f"unix://{socket_path}"})
    assert result.returncode == 1
    assert "Traceback" not in result.stdout + result.stderr
    assert (
        f"no Docker engine answers on host local: tried unix://{socket_path} (no such socket)"
        in result.stderr
    )
    assert "hint: start dockerd" in result.stderr


def test_run_without_slack_tokens_says_it_starts_the_local_shell(tmp_path: Path) -> None:
    """`run` with no Slack tokens explains that it starts the local shell."""
    result = run_bot("run", env={"DOCKER_HOST": f"unix://{tmp_path}/docker.sock"})
    assert "no Slack tokens configured; starting the local shell" in result.stderr


def test_bad_setting_stops_start_up_with_one_line() -> None:
    """A bad setting prints one line naming it and exits 2, before anything else happens."""
    result = run_bot("shell", "-c", "ps", env={"CHATOPS_DOCKER_TIMEOUT": "soon"})
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("docker-chatops: CHATOPS_DOCKER_TIMEOUT: not a number")


def test_bad_config_file_stops_start_up_with_one_line(tmp_path: Path) -> None:
    """A config file with an unknown key is refused in one line that names the file and the key."""
    config = tmp_path / "chatops.toml"
    config.write_text("[[hosts]]\nname = 'a'\nurl = 'unix:///x'\nport = 1\n", encoding="utf-8")
    result = run_bot("doctor", env={"CHATOPS_CONFIG": str(config)})
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1
    assert "CHATOPS_CONFIG" in result.stderr
    assert "hosts.0.port" in result.stderr


def test_usage_errors_need_no_engine_and_exit_2(tmp_path: Path) -> None:
    """A typo is answered with a did-you-mean and exit code 2, even with no engine."""
    result = run_bot("shell", "-c", "inspects web", env={"DOCKER_HOST": f"unix://{tmp_path}/docker.sock"})
    assert result.returncode == 2
    assert 'unknown command "inspects"' in result.stderr
    assert 'did you mean "inspect"?' in result.stderr


def test_doctor_reports_each_host(tmp_path: Path) -> None:
    """`doctor` says which host does not answer and exits 1; `--quiet` prints nothing."""
    env = {"DOCKER_HOST": f"unix://{tmp_path}/docker.sock"}
    result = run_bot("doctor", env=env)
    assert result.returncode == 1
    assert "error: no Docker engine answers on host local" in result.stdout
    quiet = run_bot("doctor", "--quiet", env=env)
    assert quiet.returncode == 1
    assert quiet.stdout == ""


def test_help_and_version_flags() -> None:
    """`--help` lists the subcommands and `--version` prints the package version."""
    assert "shell" in run_bot("--help").stdout
    assert run_bot("--version").stdout.startswith("docker-chatops 0.1.0")


def test_notify_status_lists_routes_reports_and_mutes(tmp_path: Path) -> None:
    """`notify status` needs no engine: every route, every scheduled report (with its zone), the mutes."""
    config = tmp_path / "chatops.toml"
    config.write_text(
        '[notify]\ntimezone = "Europe/Berlin"\n'
        '[[notify.routes]]\nchannel = "C0ALERTS"\nevents = ["died", "disk"]\ncontainers = ["web-*"]\n'
        '[[notify.reports]]\ncron = "0 8 * * 1-5"\n',
        encoding="utf-8",
    )
    env = {
        "CHATOPS_CONFIG": str(config),
        "CHATOPS_STATE_PATH": str(tmp_path / "state.db"),
        "DOCKER_HOST": f"unix://{tmp_path}/docker.sock",
    }
    result = run_bot("shell", "-c", "notify status", env=env)
    assert result.returncode == 0, result.stderr
    assert "died, disk from web-* on * -> C0ALERTS" in result.stdout  # the shell shows the channel's ID
    assert "reports:\n  disk report at `0 8 * * 1-5` (Europe/Berlin) for *" in result.stdout
    assert "1 route(s), 1 report(s), 0 mute(s)" in result.stdout
    assert "mutes:\n  (none)" in result.stdout


@pytest.mark.parametrize("command", [["shell", "-c", "ps"], ["doctor"], ["run"]])
def test_a_missing_tls_file_is_one_line_before_any_connection(tmp_path: Path, command: list[str]) -> None:
    """The README's TLS host with its certificate files absent: one line naming the key and the file."""
    config = tmp_path / "chatops.toml"
    config.write_text(
        "[[hosts]]\nname = 'prod'\nurl = 'tcp://10.0.0.5:2376'\ntls_verify = true\n"
        f"tls_ca_cert = '{tmp_path}/certs/ca.pem'\n",
        encoding="utf-8",
    )
    result = run_bot(*command, env={"CHATOPS_CONFIG": str(config)})
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines() == [
        f"docker-chatops: CHATOPS_CONFIG: {config}: "
        f"hosts.0.tls_ca_cert: file not found: {tmp_path}/certs/ca.pem"
    ]


def test_a_client_certificate_needs_its_key(tmp_path: Path) -> None:
    config = tmp_path / "chatops.toml"
    config.write_text(
        f"[[hosts]]\nname = 'prod'\nurl = 'tcp://10.0.0.5:2376'\ntls_client_cert = '{tmp_path}/cert.pem'\n",
        encoding="utf-8",
    )
    result = run_bot("doctor", env={"CHATOPS_CONFIG": str(config)})
    assert result.returncode == 2
    assert "tls_client_cert and tls_client_key go together" in result.stderr


@pytest.mark.parametrize("command", [["shell", "-c", "help"], ["audit", "export"], ["--help"]])
def test_a_closed_pipe_ends_the_command_quietly(tmp_path: Path, command: list[str]) -> None:
    """`docker-chatops shell -c "ps -a" | head -1`: the reader is gone; no traceback, the exit code of a
    process ended by SIGPIPE (as `docker ps -a | head` ends)."""
    state = tmp_path / "state.db"
    if command[0] == "audit":  # something to export: one audited command
        run_bot("shell", "-c", "whoami", env={"CHATOPS_STATE_PATH": str(state)})
    read_end, write_end = os.pipe()
    os.close(read_end)  # nobody will ever read: the first write fails with EPIPE
    base = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "CHATOPS_", "DOCKER_"))}
    try:
        result = subprocess.run(
            [sys.executable, "-m", "bot", *command],
            env={**base, "PYTHONPATH": str(ROOT), "CHATOPS_STATE_PATH": str(state)},
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            timeout=60,
            check=False,
            cwd=ROOT / "tests",
        )
    finally:
        os.close(write_end)
    assert "Traceback" not in result.stderr
    assert "Exception ignored" not in result.stderr
    if command != ["--help"]:  # argparse's own exit; quiet is what matters there
        assert result.returncode == 141, result.stderr


def test_doctor_refuses_what_run_refuses(tmp_path: Path) -> None:
    """With only SLACK_BOT_TOKEN set, `run` refuses (HTTP mode needs the signing secret): so does `doctor`."""
    env = {"SLACK_BOT_TOKEN": "xoxb-test", "DOCKER_HOST": f"unix://{tmp_path}/docker.sock"}
    run = run_bot("run", env=env)
    doctor = run_bot("doctor", env=env)
    assert run.returncode == 2
    assert "SLACK_SIGNING_SECRET: required in HTTP mode" in run.stderr
    assert doctor.returncode != 0
    assert "error: SLACK_SIGNING_SECRET: required in HTTP mode" in doctor.stdout
    assert "run would refuse to start" in doctor.stdout
    wrong = run_bot("doctor", env={**env, "SLACK_BOT_TOKEN": "xoxp-user-token", "SLACK_SIGNING_SECRET": "s"})
    assert "error: SLACK_BOT_TOKEN: must be a bot token (xoxb-…)" in wrong.stdout
    assert "xoxp-user-token" not in wrong.stdout + wrong.stderr
