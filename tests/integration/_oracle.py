"""Run the bot and the Docker CLI as real processes and compare their tables line for line.

The Docker CLI on the same engine is the oracle. Between two CLI calls the clock moves (ages tick, a
restarting container flips between `Restarting` and `Up`), so the bot, run in between, must print each line
exactly as the CLI printed it either just before or just after.
"""

from __future__ import annotations

import difflib
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from bot.render.mask import mask_secrets

REPO_ROOT = Path(__file__).resolve().parents[2]
TIMEOUT_S = 20  # the bot gives up on a slow engine after 15 s
# How long to wait for the shared engine to hold still (other test sessions or benchmarks may be running).
CHURN_DEADLINE_S = 30.0
CHURN_PAUSE_S = 0.5
MAX_REPORTED = 12  # mismatching lines shown in a failure; the diff follows
MAX_DIFF_LINES = 120

# The first line of each table the bot and the CLI print; the bot may put a summary line above it.
HEADERS = {
    "ps": "CONTAINER ID",
    "images": "REPOSITORY",
    "system df": "TYPE",
    "system df -v": "Images space usage:",
    "volume ls": "DRIVER",
}


@dataclass(frozen=True)
class Run:
    """One finished process: what ran, its exit code and its output."""

    argv: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        """Stdout and stderr together, for assertions that do not care which stream."""
        return self.stdout + self.stderr

    def describe(self) -> str:
        """Everything about the run, for failure messages."""
        return (
            f"$ {' '.join(self.argv)}\nexit {self.returncode}\n"
            f"--- stdout ---\n{self.stdout}--- stderr ---\n{self.stderr}"
        )


def _run(argv: Sequence[str], env: Mapping[str, str] | None = None) -> Run:
    """Run to the end, or kill it after TIMEOUT_S and report exit code -1 with what it printed so far."""
    try:
        done = subprocess.run(
            list(argv),
            capture_output=True,
            text=True,
            timeout=TIMEOUT_S,
            cwd=REPO_ROOT,
            env=dict(env) if env is not None else None,
            check=False,
        )
    except subprocess.TimeoutExpired as hung:
        partial = [
            part.decode(errors="replace") if isinstance(part, bytes) else part or ""
            for part in (hung.stdout, hung.stderr)
        ]
        return Run(tuple(argv), -1, partial[0], f"{partial[1]}[killed: still running after {TIMEOUT_S} s]\n")
    return Run(tuple(argv), done.returncode, done.stdout, done.stderr)


def bot_env(**overrides: str) -> dict[str, str]:
    """The test process's environment without any CHATOPS_* setting, plus `overrides`."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("CHATOPS_")}
    env.update(overrides)
    return env


def run_bot(text: str, **env: str) -> Run:
    """`python -m bot shell -c TEXT` from the repository root, inheriting DOCKER_HOST."""
    return _run([sys.executable, "-m", "bot", "shell", "-c", text], bot_env(**env))


def run_docker(*args: str) -> Run:
    """The Docker CLI on PATH, against the same engine; it must succeed."""
    run = _run(["docker", *args])
    assert run.returncode == 0, run.describe()
    return run


def _split(line: str) -> list[str]:
    return re.split(r" {3,}", line.rstrip())


def misaligned(lines: Sequence[str]) -> list[str]:
    """How a table fails docker's tabwriter layout (every row's cells start where the header's columns do,
    at least three spaces after the cell before), one problem a column."""
    if not lines:
        return []
    header = lines[0]
    starts = [m.end() for m in re.finditer(r" {3,}", header.rstrip())]
    problems = []
    for start in starts:
        if any(len(line) > start and line[start - 3 : start] != "   " for line in lines):
            problems.append(f"a row runs into the column starting at {start} ({header[start:].split()[0]!r})")
    return problems


def table(stdout: str, header: str) -> list[str]:
    """The lines from the one starting with `header` to the end, trailing blank lines dropped."""
    lines = stdout.splitlines()
    starts = [i for i, line in enumerate(lines) if line.startswith(header)]
    if not starts:
        return []
    body = lines[starts[0] :]
    while body and not body[-1].strip():
        body.pop()
    return body


def quiet_ids(stdout: str) -> list[str]:
    """The output of a `-q` listing: one id a line, after at most one summary line."""
    lines = [line for line in stdout.splitlines() if line.strip()]
    if lines and not _is_hex(lines[0]):
        lines = lines[1:]
    return lines


def _is_hex(text: str) -> bool:
    return bool(text) and all(c in "0123456789abcdef" for c in text)


@dataclass(frozen=True)
class Comparison:
    """The bot's lines against the oracle's lines before and after; `mismatches` empty means they agree."""

    before: list[str]
    bot: list[str]
    after: list[str]
    bot_run: Run

    @property
    def exact(self) -> bool:
        """True when every line of the bot is byte for byte one of docker's (not mixed from both)."""
        return not self.mismatches and all(
            line in {lines[i] for lines in (self.before, self.after) if i < len(lines)}
            for i, line in enumerate(self.bot)
        )

    @property
    def mismatches(self) -> list[str]:
        """Why the bot's lines are not those of the oracle (before or after), one reason a line."""
        problems = []
        if self.bot_run.returncode != 0:
            problems.append(f"bot exited {self.bot_run.returncode}")
        if len(self.bot) not in (len(self.before), len(self.after)):
            problems.append(
                f"bot printed {len(self.bot)} lines, docker {len(self.before)} before and "
                f"{len(self.after)} after"
            )
            return problems
        mixed = False
        for i, line in enumerate(self.bot):
            allowed = {lines[i] for lines in (self.before, self.after) if i < len(lines)}
            if line in allowed:
                continue
            if self._cells_from_either(i, line):
                mixed = True
                continue
            problems.append(f"line {i}: {line!r} is none of {sorted(allowed)!r}")
        if mixed and not problems:
            problems.extend(misaligned(self.bot))
        return problems

    def _cells_from_either(self, i: int, line: str) -> bool:
        """True when each cell of the bot's line is docker's before or after: the bot looked at the clock
        between docker's two looks, after one time column rolled over and before another did (CREATED "9
        seconds ago" with STATUS "Up 8 seconds"), which neither docker line shows. Widths may then differ."""
        if i >= len(self.before) or i >= len(self.after):
            return False
        cells, before, after = _split(line), _split(self.before[i]), _split(self.after[i])
        return len(cells) == len(before) == len(after) and all(
            cell in (old, new) for cell, old, new in zip(cells, before, after, strict=True)
        )

    def explain(self) -> str:
        """A readable account: each mismatch, then a unified diff from docker (before) to the bot."""
        diff = list(difflib.unified_diff(self.before, self.bot, "docker (before)", "bot", lineterm=""))
        if len(diff) > MAX_DIFF_LINES:
            diff = [*diff[:MAX_DIFF_LINES], f"… diff cut: {len(diff) - MAX_DIFF_LINES} more lines"]
        after = self.after if len(self.after) <= MAX_DIFF_LINES else [*self.after[:MAX_DIFF_LINES], "…"]
        mismatches = self.mismatches
        if len(mismatches) > MAX_REPORTED:
            mismatches = [*mismatches[:MAX_REPORTED], f"… and {len(mismatches) - MAX_REPORTED} more"]
        return "\n".join(
            [
                *mismatches,
                *diff,
                "--- docker (after) ---",
                *after,
                f"$ {' '.join(self.bot_run.argv)}  -> exit {self.bot_run.returncode}",
                f"bot stderr: {self.bot_run.stderr}",
            ]
        )


def _image_created() -> dict[str, str]:
    """Short image id -> creation time (to the second), from the CLI."""
    out = run_docker("image", "ls", "-a", "--format", "{{.ID}}\t{{.CreatedAt}}").stdout
    return dict(line.split("\t", 1) for line in out.splitlines())


def order_ties(lines: list[str], created: Mapping[str, str]) -> list[str]:
    """`images` rows with the header first, runs of rows created in the same second sorted by text.

    The engine lists images by creation time in whole seconds and breaks ties (and orders one image's tags)
    at random: two `docker images` calls in a row disagree. Only the order between seconds is meaningful.
    """
    if not lines:
        return lines
    ordered: list[str] = [lines[0]]
    run: list[str] = []
    run_key = None
    for line in lines[1:]:
        words = line.split()
        key = created.get(words[2], line) if len(words) > 2 else line
        if run and key != run_key:
            ordered += sorted(run)
            run = []
        run.append(line)
        run_key = key
    return ordered + sorted(run)


def order_df_verbose(lines: list[str], created: Mapping[str, str]) -> list[str]:
    """`system df -v` with its images' same-second ties sorted and its volumes sorted by name.

    The engine's /system/df lists volumes in a random order on every call; the CLI prints them as listed.
    """
    sections: list[list[str]] = [[]]
    for line in lines:
        if line.endswith(" usage:") or line.startswith("Build cache usage:"):
            sections.append([])
        sections[-1].append(line)
    ordered: list[str] = []
    for section in sections:
        title = section[0] if section else ""
        if title.startswith("Images space usage:"):
            ordered += section[:2] + order_ties(section[2:], created)
        elif title.startswith("Local Volumes space usage:"):
            body = [line for line in section[3:] if line.strip()]
            ordered += section[:3] + sorted(body) + [line for line in section[3:] if not line.strip()]
        else:
            ordered += section
    return ordered


def _identity(header: str | None) -> Callable[[str], object]:
    """What of a line names its object, unchanged by the clock: system df lines have no clock at all."""
    if header == HEADERS["system df"]:
        return lambda line: line
    return lambda line: tuple(line.split()[:3])


def _cells(line: str) -> str:
    return " | ".join(re.split(r" {3,}", line.rstrip()))


def masked_alike(comparison: Comparison) -> Comparison:
    """Where docker prints a secret the bot masks (`ps --no-trunc` of a `password=…` command), compare cell by
    cell with docker's cells masked: the masked value is shorter, so the column widths rightly differ. Every
    other listing stays a byte-for-byte comparison."""
    docker = comparison.before + comparison.after
    if all(mask_secrets(line) == line for line in docker):
        return comparison
    return Comparison(
        [_cells(mask_secrets(line)) for line in comparison.before],
        [_cells(line) for line in comparison.bot],
        [_cells(mask_secrets(line)) for line in comparison.after],
        comparison.bot_run,
    )


def compare(docker_args: Sequence[str], bot_text: str, header: str | None, attempts: int = 4) -> Comparison:
    """Run docker, the bot, docker until the bot matches byte for byte; return the last comparison, or one
    that agreed cell by cell across a clock tick when no exact one came (see `Comparison.mismatches`).

    `header` picks the table out of each output; None means an id-per-line `-q` listing. A triple during
    which other clients of the shared engine added or removed objects (docker's before and after list
    different objects) proves nothing and is retried until CHURN_DEADLINE_S; only `attempts` triples on a
    steady engine count.
    """
    created = _image_created() if header in (HEADERS["images"], HEADERS["system df -v"]) else {}
    identity = _identity(header)

    def lines(stdout: str) -> list[str]:
        if header is None:
            return quiet_ids(stdout)
        found = table(stdout, header)
        if header == HEADERS["images"]:
            return order_ties(found, created)
        if header == HEADERS["system df -v"]:
            return order_df_verbose(found, created)
        return found

    deadline = time.monotonic() + CHURN_DEADLINE_S
    steady = 0
    agreed_mixed: Comparison | None = None
    while True:
        before = run_docker(*docker_args)
        bot = run_bot(bot_text)
        after = run_docker(*docker_args)
        raw = Comparison(lines(before.stdout), lines(bot.stdout), lines(after.stdout), bot)
        comparison = masked_alike(raw)
        if comparison.exact or bot.returncode != 0:
            return comparison  # agreed, or the bot failed outright: the clock is not to blame
        if not comparison.mismatches:
            agreed_mixed = comparison  # agreed cell by cell across a clock tick; an exact one is better
        churned = [identity(line) for line in comparison.before] != [
            identity(line) for line in comparison.after
        ]
        steady += not churned
        if steady >= attempts or time.monotonic() > deadline:
            return agreed_mixed or comparison
        time.sleep(CHURN_PAUSE_S if churned else 0)
