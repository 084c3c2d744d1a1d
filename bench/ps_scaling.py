"""How `ps -a` scales with the number of containers, through every door we have.

With N containers on the engine (100, 1,000 and 3,000 by default; "created", never started, so they cost
the engine almost nothing) this times one `ps -a` five ways:

  (a)  raw      one Engine API call: `docker.APIClient.containers(all=True)`, i.e. `GET /containers/json`
  (b)  router   `Router.handle(Invocation("ps -a"))` in-process: parse, authorize, that same call, and the
                conversion of every row into `ContainerRow` models (no text rendering)
  (b') router + `bot.render.text.render_reply_text` on the reply: what the shell prints (extra information;
                skipped when the renderers cannot be imported)
  (c)  CLI      the `docker ps -a` process, start to exit
  (d)  shell    the `docker-chatops shell -c "ps -a"` process, start to exit; its time includes Python's
                start-up and our imports, so `docker-chatops shell -c help` (no engine call) is timed with it
                as the start-up baseline and (d − start-up) is printed too
  (e)  docker-py the high-level `DockerClient.containers.list(all=True)`, which inspects every container
                after listing them (one extra `GET /containers/{id}/json` per row)

Each measurement is run once to warm up, then `--repeat` times (7 by default; twice as many for the cheap
in-process calls, about half as many for (e) from 2,000 containers on, where one call takes seconds); the
median and the minimum are printed. The in-process calls (a, b, b') are timed round-robin, as are the
processes (c, d, start-up), so that changes in the machine's load hit both sides of a ratio alike. The
denominators of the per-container costs are the rows the listing actually returned (our N plus whatever
else is on the engine).

How to read the ratios (medians at the same N):

  b/a  what the router adds on top of the bare API call; close to 1 means the router is a thin layer over
       one `GET /containers/json`. Goal: at most 1.3 at 1,000 containers, judged on the "paired" ratio, the
       median of the per-round ratios, which cancels most of the drift of a busy machine.
  d/c  the shell process against the Docker CLI process; mostly start-up cost at small N.
  e/b  how much dearer docker-py's high-level listing is than the router (N inspects against one list).
       Goal: at least 5 at 1,000 containers.

The ratios of the minima are printed too: the minimum is the least disturbed run, the cost of the work
itself; the median adds what the machine's load does to it.

Linearity: the per-container cost (median / rows) of (a), (b) and (e) is printed at every N, and the
marginal cost per extra container between consecutive sizes (on the minima: a difference of two timings
is too noisy on medians) is compared: the last step may cost at most 1.5× the first (more would mean
something grows faster than the listing).

The goals print as PASS/FAIL lines; the exit status is 0 regardless unless `--strict` is given. The
containers carry the label `chatops.bench=<run id>` and the name prefix `bench-<run id>-`; all of them,
and only them, are removed at the end, also on Ctrl-C or SIGTERM.

    .venv/bin/python bench/ps_scaling.py [--sizes 100,1000,3000] [--repeat 7] [--strict]
"""

from __future__ import annotations

import argparse
import gc
import itertools
import os
import shutil
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import as_completed
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

import docker
import docker.errors
from figures import goal, ms, run_main  # bench/ is on sys.path: run as a script
from fleet import LABEL, Fleet, interrupts_deferred, pool

from bot.engine import Engine, Host
from bot.models import Outcome, PsResult, Reply
from bot.router import Invocation, Router

DEFAULT_IMAGE = "chatops-test/busybox:latest"
DEFAULT_URL = os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock"
API_TIMEOUT = 120.0
PROCESS_TIMEOUT = 300.0
ROUTER_MAX_OVER_RAW = 1.3
DOCKER_PY_MIN_OVER_ROUTER = 5.0
LINEAR_TOLERANCE = 1.5
GOAL_SIZE = 1000
IN_PROCESS_FACTOR = 2  # (a), (b), (b') are cheap: twice the rounds, for steadier ratios
SLOW_SIZE = 2000  # from here on, (e) takes seconds per call and is repeated fewer times


# --- measuring -------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Timing:
    """Wall-clock seconds of the timed runs (the warm-up excluded)."""

    runs: tuple[float, ...]

    @property
    def median(self) -> float:
        return statistics.median(self.runs)

    @property
    def min(self) -> float:
        return min(self.runs)


class ProcessFailed(RuntimeError):
    """A timed process exited non-zero (for the shell: most likely a module that does not import)."""


def measure(fns: Mapping[str, Callable[[], object]], repeat: int) -> dict[str, Timing | str]:
    """Time several callables round-robin: one warm-up round, then `repeat` timed rounds.

    Interleaving spreads any drift in the machine's load evenly over the callables, which keeps their
    ratios honest on a busy machine. Each call follows a garbage collection. A process that fails is
    reported by its message instead of a timing and not run again.
    """
    runs: dict[str, list[float]] = {key: [] for key in fns}
    failed: dict[str, str] = {}
    for round_ in range(repeat + 1):
        for key, fn in fns.items():
            if key in failed:
                continue
            gc.collect()
            started = time.perf_counter()
            try:
                fn()
            except (ProcessFailed, subprocess.TimeoutExpired, OSError) as exc:
                failed[key] = str(exc)
                continue
            if round_:
                runs[key].append(time.perf_counter() - started)
    return {key: failed.get(key) or Timing(tuple(runs[key])) for key in fns}


def run_process(argv: Sequence[str], min_lines: int = 0) -> None:
    """Run a process to completion with its output captured; fail on a non-zero exit or short output."""
    done = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=PROCESS_TIMEOUT)
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["(no stderr)"])[-1]
        raise ProcessFailed(f"{' '.join(argv)} exited {done.returncode}: {last}")
    lines = done.stdout.count("\n")
    if lines < min_lines:
        raise ProcessFailed(f"{' '.join(argv)} printed {lines} lines, expected at least {min_lines}")


def process(argv: Sequence[str], min_lines: int = 0) -> Callable[[], None]:
    """A callable that runs `argv` once, for `measure`."""
    return lambda: run_process(argv, min_lines)


# --- the containers --------------------------------------------------------------------------------------


class GrowingFleet(Fleet):
    """The containers of one run, created concurrently ("created", never started) until there are N."""

    def __init__(self, url: str, image: str, workers: int) -> None:
        super().__init__(url, image, workers, timeout=API_TIMEOUT)
        self.count = 0

    def _create(self, index: int) -> None:
        self.api().create_container(
            self.image,
            command=["true"],
            name=f"{self.prefix}{index:05d}",
            labels={LABEL: self.run_id},
        )

    def grow_to(self, total: int) -> tuple[int, float]:
        """Create containers until this run owns `total`; returns (how many were created, seconds)."""
        indexes = range(self.count, total)
        started = time.perf_counter()
        with pool(self.workers) as executor:
            for future in as_completed([executor.submit(self._create, i) for i in indexes]):
                future.result()
                self.count += 1
        return len(indexes), time.perf_counter() - started


def _terminate(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)


# --- one size --------------------------------------------------------------------------------------------


@dataclass(slots=True)
class Sample:
    """Everything measured with `n` bench containers on the engine."""

    n: int
    rows: int
    created: int
    create_seconds: float
    timings: dict[str, Timing | str] = field(default_factory=dict)

    def timing(self, key: str) -> Timing | None:
        timing = self.timings.get(key)
        return timing if isinstance(timing, Timing) else None

    def median(self, key: str) -> float | None:
        timing = self.timing(key)
        return timing.median if timing else None

    def min(self, key: str) -> float | None:
        timing = self.timing(key)
        return timing.min if timing else None

    def paired(self, top: str, bottom: str) -> float | None:
        """The median of the per-round ratios top/bottom (both timed in the same rounds)."""
        t, b = self.timing(top), self.timing(bottom)
        if t is None or b is None or len(t.runs) != len(b.runs):
            return None
        return statistics.median(x / y for x, y in zip(t.runs, b.runs, strict=True))

    def startless_d(self) -> float | None:
        """(d) without the start-up baseline measured alongside it."""
        d, base = self.median("d"), self.median("base")
        return d - base if d is not None and base is not None else None


@dataclass(frozen=True, slots=True)
class Doors:
    """The five ways to list containers, ready to be called."""

    raw: Callable[[], list[dict[str, Any]]]
    router: Callable[[], Reply]
    rendered: Callable[[], object] | None
    docker_py: Callable[[], object]
    cli: list[str] | None
    chatops: list[str]
    baseline: list[str]


def make_doors(url: str) -> tuple[Doors, str | None, Callable[[], None]]:
    """The callables and argvs to time, why (b') is missing if it is, and how to close the clients."""
    api = docker.APIClient(base_url=url, version="auto", timeout=API_TIMEOUT)
    engine = Engine(Host("local", url, API_TIMEOUT))
    router = Router([engine])
    client = docker.DockerClient(base_url=url, version="auto", timeout=API_TIMEOUT)

    def routed() -> Reply:
        return router.handle(Invocation(text="ps -a"))

    rendered: Callable[[], object] | None = None
    why_not: str | None = None
    try:
        from bot.render.text import render_reply_text  # noqa: PLC0415 — may be mid-edit; (b') is optional

        def rendered_fn() -> object:
            return render_reply_text(routed())

        rendered = rendered_fn
    except Exception as exc:
        why_not = f"{type(exc).__name__}: {exc}"

    def close() -> None:
        api.close()
        engine.close()
        client.close()

    cli = shutil.which("docker")
    doors = Doors(
        raw=lambda: api.containers(all=True),
        router=routed,
        rendered=rendered,
        docker_py=lambda: client.containers.list(all=True, ignore_removed=True),
        cli=[cli, "ps", "-a"] if cli else None,
        chatops=[*shell_argv(), "shell", "-c", "ps -a"],
        baseline=[*shell_argv(), "shell", "-c", "help"],
    )
    return doors, why_not, close


def shell_argv() -> list[str]:
    """Our console script next to this interpreter, else `python -m bot`."""
    script = Path(sys.executable).with_name("docker-chatops")
    return [str(script)] if script.exists() else [sys.executable, "-m", "bot"]


def check_router(reply: Reply, at_least: int) -> None:
    """Fail loudly if the router did not answer `ps -a` with at least the containers we made."""
    result = reply.steps[0].result if reply.steps else None
    if reply.outcome is not Outcome.OK or not isinstance(result, PsResult):
        problem = reply.steps[0].problem if reply.steps else None
        raise RuntimeError(f"router answered {reply.outcome}: {problem}")
    if len(result.rows) < at_least:
        raise RuntimeError(f"router listed {len(result.rows)} containers, expected at least {at_least}")


def sample(fleet: GrowingFleet, doors: Doors, n: int, repeat: int) -> Sample:
    """Grow the fleet to `n` containers and time every door."""
    created, seconds = fleet.grow_to(n)
    rows = len(doors.raw())
    rate = f" ({created / seconds:.0f}/s)" if created else ""
    print(f"\nN = {n:,}: created {created:,} in {seconds:.1f} s{rate}; the engine lists {rows:,} containers")
    check_router(doors.router(), n)
    slow_repeat = repeat if n < SLOW_SIZE else max(2, (repeat + 1) // 2)
    result = Sample(n, rows, created, seconds)
    in_process: dict[str, Callable[[], object]] = {"a": doors.raw, "b": doors.router}
    if doors.rendered is not None:
        in_process["b'"] = doors.rendered
    processes: dict[str, Callable[[], object]] = {}
    if doors.cli is not None:
        processes["c"] = process(doors.cli, min_lines=n + 1)
    processes["d"] = process(doors.chatops, min_lines=n + 1)
    processes["base"] = process(doors.baseline)
    result.timings |= measure(in_process, IN_PROCESS_FACTOR * repeat)
    result.timings |= measure(processes, repeat)
    if doors.cli is None:
        result.timings["c"] = "docker CLI not on PATH"
    result.timings |= measure({"e": doors.docker_py}, slow_repeat)
    return result


# --- printing --------------------------------------------------------------------------------------------

LABELS = {
    "a": "(a)  raw API containers(all=True)",
    "b": "(b)  router.handle('ps -a')",
    "b'": "(b') router + render_reply_text",
    "c": "(c)  docker ps -a  (process)",
    "d": "(d)  docker-chatops shell -c 'ps -a'",
    "base": "     start-up: shell -c 'help'",
    "e": "(e)  docker-py containers.list(all=True)",
}


def ratio(top: float | None, bottom: float | None) -> float | None:
    return top / bottom if top is not None and bottom else None


def fmt_ratio(value: float | None) -> str:
    return f"{value:.2f}" if value is not None else "n/a"


def print_sample(s: Sample) -> None:
    print(f"  {'':42} {'median':>11} {'min':>11}  runs")
    for key, label in LABELS.items():
        timing = s.timings.get(key)
        if timing is None:
            continue
        if isinstance(timing, str):
            print(f"  {label:42} failed: {timing}")
            continue
        print(f"  {label:42} {ms(timing.median):>11} {ms(timing.min):>11}  {len(timing.runs)}")
        if key == "base" and (startless := s.startless_d()) is not None:
            print(f"  {'     (d) − start-up':42} {ms(startless):>11}")
    a, b, c, d, e = (s.median(k) for k in "abcde")
    print(
        f"  ratios of medians: b/a = {fmt_ratio(ratio(b, a))}   d/c = {fmt_ratio(ratio(d, c))}   "
        f"e/b = {fmt_ratio(ratio(e, b))}"
    )
    print(
        f"  b/a paired (median of per-round ratios) = {fmt_ratio(s.paired('b', 'a'))}   "
        f"of minima: b/a = {fmt_ratio(ratio(s.min('b'), s.min('a')))}   "
        f"d/c = {fmt_ratio(ratio(s.min('d'), s.min('c')))}   e/b = {fmt_ratio(ratio(s.min('e'), s.min('b')))}"
    )
    per = "   ".join(
        f"({k}) {median / s.rows * 1e6:.1f} µs (min {minimum / s.rows * 1e6:.1f})"
        for k in "abe"
        if (median := s.median(k)) is not None and (minimum := s.min(k)) is not None
    )
    print(f"  per listed container, median: {per}")


def print_summary(samples: Sequence[Sample]) -> None:
    print("\nSummary (medians in ms; per listed container in µs; d−st = (d) − start-up; b/a paired)")
    times = " ".join(f"{c:>8}" for c in ("a", "b", "c", "d", "d−st", "e"))
    ratios = " ".join(f"{c:>6}" for c in ("b/a", "d/c", "e/b"))
    per = " ".join(f"{c:>7}" for c in ("a/row", "b/row", "e/row"))
    print(f"  {'N':>6} {'rows':>6} {times} {ratios} {per}")
    for s in samples:
        a, b, c, d, e = (s.median(k) for k in "abcde")
        times = " ".join(
            f"{v * 1000:8.1f}" if v is not None else f"{'—':>8}" for v in (a, b, c, d, s.startless_d(), e)
        )
        ratios = " ".join(f"{fmt_ratio(r):>6}" for r in (s.paired("b", "a"), ratio(d, c), ratio(e, b)))
        per = " ".join(f"{v / s.rows * 1e6:7.1f}" if v is not None else f"{'—':>7}" for v in (a, b, e))
        print(f"  {s.n:>6} {s.rows:>6} {times} {ratios} {per}")
    created = sum(s.created for s in samples)
    seconds = sum(s.create_seconds for s in samples)
    if created:
        print(f"  created {created:,} containers in {seconds:.1f} s ({created / seconds:.0f}/s)")


# --- goals -----------------------------------------------------------------------------------------------


def check_goals(samples: Sequence[Sample]) -> list[bool | None]:
    print("\nGoals")
    at = next((s for s in samples if s.n == GOAL_SIZE), None)
    results: list[bool | None] = []
    b_a = at.paired("b", "a") if at else None
    results.append(
        goal(
            None if b_a is None else b_a <= ROUTER_MAX_OVER_RAW,
            f"at {GOAL_SIZE:,} containers the router costs ≤ {ROUTER_MAX_OVER_RAW}× the raw API call "
            f"(b/a paired = {fmt_ratio(b_a)})",
        )
    )
    e_b = ratio(at.median("e"), at.median("b")) if at else None
    results.append(
        goal(
            None if e_b is None else e_b >= DOCKER_PY_MIN_OVER_ROUTER,
            f"at {GOAL_SIZE:,} containers docker-py's containers.list(all=True) costs ≥ "
            f"{DOCKER_PY_MIN_OVER_ROUTER:g}× the router (e/b = {fmt_ratio(e_b)})",
        )
    )
    for key in "abe":
        results.append(linear(samples, key))
    return results


def linear(samples: Sequence[Sample], key: str) -> bool | None:
    """Marginal cost per extra row between consecutive sizes (on minima): the last step against the first."""
    points = [(s.rows, m) for s in samples if (m := s.min(key)) is not None]
    steps = [(t2 - t1) / (r2 - r1) for (r1, t1), (r2, t2) in itertools.pairwise(points) if r2 > r1]
    name = LABELS[key].split("  ", 1)[1].strip()
    if len(steps) < 2:
        return goal(None, f"({key}) {name} grows linearly (needs at least three sizes)")
    first, last = steps[0], steps[-1]
    shown = " → ".join(f"{step * 1e6:.1f}" for step in steps)
    return goal(
        first > 0 and last <= LINEAR_TOLERANCE * first,
        f"({key}) {name} grows linearly: marginal µs per container (minima) {shown} "
        f"(last ≤ {LINEAR_TOLERANCE}× first)",
    )


# --- main ------------------------------------------------------------------------------------------------


def sizes_arg(text: str) -> list[int]:
    try:
        sizes = sorted({int(part.replace("_", "")) for part in text.split(",") if part.strip()})
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not a comma-separated list of integers: {text!r}") from exc
    if not sizes or sizes[0] < 1:
        raise argparse.ArgumentTypeError("sizes must be positive integers")
    return sizes


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--sizes", type=sizes_arg, default=[100, 1000, 3000], help="default: 100,1000,3000")
    parser.add_argument("--repeat", type=int, default=7, help="timed rounds after one warm-up (default: 7)")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a goal fails")
    parser.add_argument("--workers", type=int, default=8, help="threads creating/removing containers")
    parser.add_argument(
        "--image", default=DEFAULT_IMAGE, help=f"local image to create from ({DEFAULT_IMAGE})"
    )
    parser.add_argument("--url", default=DEFAULT_URL, help=f"Docker engine (default: {DEFAULT_URL})")
    options = parser.parse_args(argv)
    if options.repeat < 1 or options.workers < 1:
        parser.error("--repeat and --workers must be at least 1")
    return options


def main(argv: Sequence[str] | None = None) -> int:
    options = parse_args(argv)
    started = time.perf_counter()
    signal.signal(signal.SIGTERM, _terminate)
    fleet = GrowingFleet(options.url, options.image, options.workers)
    try:
        fleet.api().inspect_image(options.image)
    except docker.errors.ImageNotFound:
        print(f"image {options.image} is not on the engine; pass --image", file=sys.stderr)
        return 2
    doors, why_not_rendered, close_doors = make_doors(options.url)
    server = fleet.api().version().get("Version", "?")
    sizes = ", ".join(f"{n:,}" for n in options.sizes)
    print(f"ps -a scaling: sizes {sizes}; repeat {options.repeat}; dockerd {server}; {os.cpu_count()} CPUs")
    print(f"run {fleet.run_id}: containers {fleet.prefix}*, label {fleet.label}, image {options.image}")
    if why_not_rendered:
        print(f"(b') skipped: the renderers do not import ({why_not_rendered})")
    try:
        run_process(doors.baseline)
    except (ProcessFailed, subprocess.TimeoutExpired, OSError) as exc:
        print(f"warning: the shell does not start, (d) will fail: {exc}")
    samples: list[Sample] = []
    try:
        for n in options.sizes:
            samples.append(sample(fleet, doors, n, options.repeat))
            print_sample(samples[-1])
    finally:
        with interrupts_deferred():
            print(f"\ncleaning up run {fleet.run_id}…", flush=True)
            removed, seconds = fleet.remove_all()
            print(f"removed {removed:,} containers in {seconds:.1f} s")
            close_doors()
            fleet.close()
    print_summary(samples)
    results = check_goals(samples)
    print(f"\ntotal time {time.perf_counter() - started:.1f} s")
    return 1 if options.strict and False in results else 0


if __name__ == "__main__":
    run_main(main, "interrupted; the containers of this run were removed")
