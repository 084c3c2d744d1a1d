"""Masking against the clock and in a process of its own: big and hostile input is masked in time, and the
bot's own log is masked. What is masked and what is kept: tests/unit/test_mask.py."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bot.render.mask import mask_secrets

ROOT = Path(__file__).resolve().parents[2]


# ---- speed ------------------------------------------------------------------------------------------------
#
# How fast masking is, and how it compares with another revision, is measured by bench/mask_throughput.py;
# these tests only catch a hang or a pattern that backtracks quadratically.


def _best_of(runs: int, text: str) -> float:
    best = float("inf")
    for _ in range(runs):
        start = time.perf_counter()
        mask_secrets(text)
        best = min(best, time.perf_counter() - start)
    return best


def test_mask_secrets_masks_a_thousand_line_log_without_hanging() -> None:
    """A realistic 1,000-line log (a few secrets among ordinary lines) is masked, and quickly."""
    lines = []
    for i in range(1000):
        if i % 100 == 0:
            lines.append(f'2026-11-27T17:42:44Z level=warn msg="retry" password=hunter{i} attempt={i}')
        else:
            lines.append(
                f'2026-11-27T17:42:{i % 60:02d}.400311484Z level=info msg="GET /api/items/{i}" '
                f"status=200 duration=3.{i % 10}ms container=3f9a0c1d2e3b remote=10.0.0.{i % 255}"
            )
    text = "\n".join(lines)
    masked = mask_secrets(text)
    assert masked.count("password=•••") == 10
    assert _best_of(3, text) < 1.0


HOSTILE = {
    "key": "key" * 33_000,
    "pass": "pass" * 25_000,
    "flags": "--key" * 20_000,
    "eyj": "eyj" * 33_000,
    "url": "://:" + "a" * 100_000,
    "url-ats": "://" + "a:@" * 33_000,
    "urls": "://a:b" * 16_000,
    "colon": "token: " * 14_000,
    "quote": 'password: "' + "a" * 100_000,
    "pem": "-----BEGIN RSA PRIVATE KEY-----" * 3_000,
    "authorization": "authorization: " * 6_000,
    "digest-params": "authorization: digest " + "a=b, " * 20_000,
    "digest-escapes": 'authorization: digest a=\\"' + '\\"' * 50_000,
    "auth-schemes": "auth=basic " * 9_000,
    "x-auth": "x-auth: bearer " * 7_000,
    "flag-schemes": "--token bearer " * 6_000,
    "mysql": "mysql " * 17_000,
    "mysql-quotes": "mysql" + " -p'" * 25_000,
    "mysql-escapes": "mysql -p" + '\\"' * 50_000,
    "curl-flags": "curl" + " -u" * 33_000,
    "curl-values": "curl" + " -x y" * 20_000,
    "redis-quotes": "redis-cli" + " -a '" * 20_000,
    "sql": "password '" * 10_000,
    "identified": "identified by " * 7_000,
    "tokens": "sk-" * 33_000,
    "token-body": "hf_" + "a" * 100_000,
    "aws": "AKIA" * 25_000,
    "cookies": "cookie: " + "a=b;" * 25_000,
    "x-auth-basic": "X-Auth: Basic " * 7_000,
    "signatures": "&X-Amz-Signature=" * 6_000,
    "requirepass": 'requirepass "' * 8_000,
    "auth-pass": "sentinel auth-pass '" * 5_000,
    "masterauth": "masterauth " * 9_000,
    "auth-commands": '"AUTH" ' * 14_000,
    "auth-quotes": '"auth" "' * 12_000,
    "auth-escapes": '"AUTH" "' + '\\"' * 50_000,
    "password-is": "password is '" * 8_000,
    "ldap": "ldapsearch" + " -x" * 33_000,
    "openssl": "openssl" + " -k a" * 20_000,
    "htpasswd": "htpasswd -b" + " a" * 50_000,
    "htpasswd-quotes": "htpasswd -b" + ' "a' * 33_000,
    "vault": "vault login" + " s" * 50_000,
    "smbclient": "smbclient -U a%" * 7_000,
}


@pytest.mark.parametrize("text", HOSTILE.values(), ids=HOSTILE.keys())
def test_mask_secrets_stays_linear_on_hostile_input(text: str) -> None:
    """A container cannot stall the bot with a crafted 100 kB line: no pattern backtracks quadratically."""
    assert _best_of(1, text) < 0.5


def test_the_bot_process_masks_its_log(tmp_path: Path) -> None:
    """`docker-chatops` installs the filter on its root handler: a secret logged after start-up is masked."""
    script = (
        "import logging\n"
        "from bot.cli import main\n"
        "code = main(['shell', '-c', 'help'])\n"
        "logging.getLogger('bot.test').warning('connecting to %s', 'postgres://app:hunter2@db:5432/app')\n"
        "raise SystemExit(code)\n"
    )
    base = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "CHATOPS_", "DOCKER_"))}
    env = {
        **base,
        "PYTHONPATH": str(ROOT),
        "DOCKER_HOST": f"unix://{tmp_path}/docker.sock",
        "CHATOPS_STATE_PATH": str(tmp_path / "state.db"),
        "CHATOPS_HISTORY_FILE": str(tmp_path / "history"),
    }
    result = subprocess.run(
        [sys.executable, "-c", script],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "WARNING bot.test: connecting to postgres://app:•••@db:5432/app" in result.stderr
    assert "hunter2" not in result.stderr
