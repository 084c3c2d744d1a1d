"""Settings: environment over .env, the TOML file for structure, and one clear line for any bad value."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.errors import ConfigError
from bot.settings import Settings, load_settings
from bot.startup import check_config, report_schedules

ENV_EXAMPLE = Path(__file__).resolve().parents[2] / ".env.example"


def test_defaults_run_the_local_shell_on_the_local_socket() -> None:
    """With nothing configured, Slack is off and the default host is named "local"."""
    settings = load_settings(None)
    assert not settings.slack_configured
    assert settings.docker_host is None
    assert settings.chatops_host_name == "local"
    assert settings.chatops_docker_timeout == 10.0


def test_env_example_names_every_setting_and_loads_as_is(tmp_path: Path) -> None:
    """.env.example lists every setting with a comment, and copying it unchanged configures nothing odd."""
    text = ENV_EXAMPLE.read_text(encoding="utf-8")
    names = {line.split("=", 1)[0] for line in text.splitlines() if line and not line.startswith("#")}
    fields = {name.upper() for name in Settings.model_fields if name != "file"}
    assert names == fields
    lines = text.splitlines()
    for index, line in enumerate(lines):
        if line and not line.startswith("#"):
            assert lines[index - 1].startswith("# "), f"{line} has no comment above it"
    settings = load_settings(ENV_EXAMPLE)
    assert not settings.slack_configured
    assert settings.chatops_config is None


def test_environment_wins_over_env_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A variable in the environment overrides the same one in .env."""
    env_file = tmp_path / ".env"
    env_file.write_text("CHATOPS_HOST_NAME=fromfile\nCHATOPS_DOCKER_TIMEOUT=3\n", encoding="utf-8")
    monkeypatch.setenv("CHATOPS_HOST_NAME", "fromenv")
    settings = load_settings(env_file)
    assert settings.chatops_host_name == "fromenv"
    assert settings.chatops_docker_timeout == 3.0


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("CHATOPS_DOCKER_TIMEOUT", "abc", "CHATOPS_DOCKER_TIMEOUT: not a number (got 'abc')"),
        ("CHATOPS_DOCKER_TIMEOUT", "0", "CHATOPS_DOCKER_TIMEOUT: must be greater than 0"),
        (
            "CHATOPS_COMMAND_TIMEOUT",
            "9999",
            "CHATOPS_COMMAND_TIMEOUT: must be at most 600",
        ),
        (
            "CHATOPS_LOG_LEVEL",
            "LOUD",
            "CHATOPS_LOG_LEVEL: must be one of 'DEBUG', 'INFO', 'WARNING' or 'ERROR'",
        ),
        ("CHATOPS_HOST_NAME", "Prod Box", "CHATOPS_HOST_NAME: a host name is 1-63 lowercase letters"),
        ("DOCKER_HOST", "ssh://me@box", "DOCKER_HOST: must start with one of"),
        ("SLACK_API_URL", "ftp://x", "SLACK_API_URL: must be an http(s) URL"),
    ],
)
def test_bad_value_is_one_line_naming_the_setting(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, expected: str
) -> None:
    """A bad value stops start-up with one line that starts with the variable's name."""
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as caught:
        load_settings(None)
    assert str(caught.value).startswith(expected)
    assert "\n" not in str(caught.value)


def test_secret_values_never_appear_in_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    """Settings errors quote bad values, except tokens and secrets."""
    monkeypatch.setenv("SLACK_API_URL", "xoxb-secret-value")
    with pytest.raises(ConfigError) as caught:
        load_settings(None)
    assert "SLACK_API_URL" in str(caught.value)
    monkeypatch.delenv("SLACK_API_URL")
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-123")
    settings = load_settings(None)
    assert "xoxb-123" not in repr(settings)


def test_config_file_hosts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`[[hosts]]` in the CHATOPS_CONFIG file become named hosts."""
    config = tmp_path / "chatops.toml"
    config.write_text(
        '[[hosts]]\nname = "prod"\nurl = "tcp://10.0.0.5:2376"\ntls_verify = true\n', encoding="utf-8"
    )
    monkeypatch.setenv("CHATOPS_CONFIG", str(config))
    settings = load_settings(None)
    assert [h.name for h in settings.file.hosts] == ["prod"]
    assert settings.file.hosts[0].tls_verify


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("[[hosts]]\nname = 'Prod'\nurl = 'unix:///x'\n", "hosts.0.name"),
        ("[[hosts]]\nname = 'a'\nurl = 'ssh://x'\n", "hosts.0.url"),
        ("[[hosts]]\nname = 'a'\nurl = 'unix:///x'\n[[hosts]]\nname = 'a'\nurl = 'unix:///y'\n", "unique"),
        ("[[hosts]]\nname = 'a'\nurl = 'unix:///x'\ncolour = 'red'\n", "hosts.0.colour: unknown key"),
        ("[rolez]\n", 'rolez: unknown key; did you mean "roles"?'),
        ("[roles.ops]\nalow = ['read']\n", 'roles.ops.alow: unknown key; did you mean "allow"?'),
        # the typo is named, not the "required" its intended key then reports
        (
            "[[notify.routes]]\nchanel = 'C0A'\nevents = ['died']\n",
            "routes.0.chanel: unknown key; did you mean",
        ),
        ("[[hosts]]\nname = 'a'\nurl = 'unix:///x'\ntimeout = 'abc'\n", "hosts.0.timeout: not a number"),
        ("[[hosts]]\nname = 'Prod'\nurl = 'unix:///x'\n", "hosts.0.name: a host name is 1-63 lowercase"),
        ("[[hosts]\n", "not valid TOML"),
    ],
)
def test_bad_config_file_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, content: str, expected: str
) -> None:
    """A malformed or mistyped config file stops start-up with one line naming the file and the key."""
    config = tmp_path / "chatops.toml"
    config.write_text(content, encoding="utf-8")
    monkeypatch.setenv("CHATOPS_CONFIG", str(config))
    with pytest.raises(ConfigError) as caught:
        load_settings(None)
    message = str(caught.value)
    assert message.startswith("CHATOPS_CONFIG: ")
    assert expected in message
    assert "\n" not in message


def test_missing_config_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A CHATOPS_CONFIG that names no file says so."""
    monkeypatch.setenv("CHATOPS_CONFIG", str(tmp_path / "nope.toml"))
    with pytest.raises(ConfigError, match="file not found"):
        load_settings(None)


# ---- scheduled reports: `[notify] timezone` and `[[notify.reports]]` -------------------------------------

DISK_ROUTE = '[[notify.routes]]\nchannel = "C0DISK"\nevents = ["disk"]\n'


def test_reports_config_loads_with_its_time_zone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A report with a cron and a zone parses; its schedule reads times in that zone."""
    config = tmp_path / "chatops.toml"
    config.write_text(
        '[notify]\ntimezone = "Europe/Berlin"\n'
        + DISK_ROUTE
        + '[[notify.reports]]\nkind = "disk"\ncron = "0 8 * * 1-5"\nhosts = ["prod-*"]\n',
        encoding="utf-8",
    )
    monkeypatch.setenv("CHATOPS_CONFIG", str(config))
    notify = load_settings(None).file.notify
    ((report, schedule),) = report_schedules(notify)
    assert report.hosts == ("prod-*",)
    assert schedule.fields == "0 8 * * 1-5"
    assert str(schedule.zone) == "Europe/Berlin"


def test_timezone_defaults_to_utc_without_a_database() -> None:
    """With no `timezone`, cron times are UTC (which needs no time zone database)."""
    from datetime import UTC  # noqa: PLC0415 - imports of the appended report tests stay with them

    from bot.settings import NotifyConfig, notify_zone  # noqa: PLC0415

    assert NotifyConfig().timezone == "UTC"
    assert notify_zone("UTC") is UTC


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (
            DISK_ROUTE + '[[notify.reports]]\ncron = "60 8 * * *"\n',
            "notify.reports.1.cron: minute field: '60' is not valid (values 0-59;",
        ),
        (
            DISK_ROUTE + '[[notify.reports]]\ncron = "0 8 * *"\n',
            "notify.reports.1.cron: '0 8 * *' has 4 field(s); write 5",
        ),
        (
            DISK_ROUTE + '[[notify.reports]]\ncron = "0 0 30 2 *"\n',
            "notify.reports.1.cron: '0 0 30 2 *' never fires",
        ),
        (
            DISK_ROUTE
            + '[[notify.reports]]\ncron = "@daily"\n'
            + '[[notify.reports]]\ncron = "0 8 * * mon-fry"\n',
            "notify.reports.2.cron: day of week field: 'mon-fry' is not valid (values 0-7 or sun…sat;",
        ),
        (
            DISK_ROUTE + '[[notify.reports]]\nkind = "cpu"\ncron = "@daily"\n',
            "notify.reports.1.kind: unknown report 'cpu'; known: disk",
        ),
        (
            DISK_ROUTE + '[[notify.reports]]\ncron = "@daily"\nhosts = []\n',
            "notify.reports.1.hosts: empty",
        ),
        (
            DISK_ROUTE + '[[notify.reports]]\ncron = "@daily"\nhosts = ["prod-[1"]\n',
            "notify.reports.1.hosts: unclosed '['",
        ),
        (
            '[[notify.routes]]\nchannel = "C0A"\nevents = ["died"]\n[[notify.reports]]\ncron = "@daily"\n',
            "notify.reports.1: no route listens to 'disk', so the report would go nowhere",
        ),
        (
            '[notify]\ntimezone = "Mars/Olympus"\n' + DISK_ROUTE,
            "notify.timezone: unknown time zone 'Mars/Olympus'",
        ),
        ('[notify]\ntimezone = "../etc/passwd"\n', "notify.timezone: unknown time zone '../etc/passwd'"),
        (DISK_ROUTE + "[[notify.reports]]\nkind = 'disk'\n", "notify.reports.0.cron: required"),
        (
            DISK_ROUTE + '[[notify.reports]]\ncron = "@daily"\nat = "8:00"\n',
            "notify.reports.0.at: unknown key",
        ),
        (
            '[[notify.routes]]\nchannel = "C0A"\nevents = ["disc"]\n',
            "notify.routes.1.events: unknown event 'disc'",
        ),
    ],
)
def test_bad_report_config_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, content: str, expected: str
) -> None:
    """A bad schedule, report kind, host pattern, time zone or a report nobody listens to stops start-up
    with one line naming the key."""
    config = tmp_path / "chatops.toml"
    config.write_text(content, encoding="utf-8")
    monkeypatch.setenv("CHATOPS_CONFIG", str(config))
    with pytest.raises(ConfigError) as caught:
        check_config(load_settings(None))
    message = str(caught.value)
    assert message.startswith("CHATOPS_CONFIG: ")
    assert expected in message
    assert "\n" not in message
