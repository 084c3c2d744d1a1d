"""How well one Docker host is isolated from others that hang: the healthy host's latency alone and next to
stuck hosts, and how long the stuck hosts' commands take against their wall-clock deadline.

Two in-process routers on the same real engine: "alone" has only that host (2 workers), "next to stuck
hosts" has three hosts, 2 workers each (`--workers`, 6, split evenly):

  local    the real engine (DOCKER_HOST, else the local socket)
  trickle  the tests' fake engine (tests/fakes/engine.py) on a Unix socket, answering `/_ping` and `/version`
           at once and `GET /containers/json` one byte every `--trickle-interval` (2) seconds: a per-read
           timeout never fires, so before the wall-clock deadline one call took 4 KB × 2 s, over two hours
  silent   the same fake, never answering `/containers/json` (a wedged dockerd)

The bad hosts' deadline is `--deadline` (10 s, CHATOPS_DOCKER_TIMEOUT's default); the real engine's is 30 s.
Phases, each command through `Router.dispatch` as the Slack door sends it (timings from this process):

  (a)/(b)       each bad host is sent its share + 4 more `ps -a` (2 stuck in the engine, 4 queued); once both
                engines hold 2 listings, `--requests` (200) rounds of one `ps -a` on local through the router
                alone (a), then one through the router next to the stuck hosts (b), for at most the deadline
                less 1 s (on a loaded engine, fewer rounds). Alternating cancels the load of whatever else
                uses the engine. The bench checks that no bad command had finished by the end: every worker
                of both bad shares was stuck all along
  (c) deadline  every bad command's answer: its time running in a worker (`Reply.elapsed`) against the
                deadline plus the quick check that follows a call without an answer (`GET /_ping` and a
                one-row listing, 1 s at most: both bad hosts answer the ping and fail the listing, so each
                such call counts against its host), and from dispatch to answer (a queued one waits first)
  (d) down      after three failures in a row the breaker has marked each bad host down: `--requests` / 10
                more `ps -a` per bad host are answered at once ("host X is down since …; retrying in N s"),
                as long as its cool-down lasts
  (e) probe     once the cool-down is over, one `ps -a` per bad host: its probe is the quick check, whose
                listing hangs although `/_ping` answers, so the host stays down, the cool-down doubles and the
                command's own listing is never sent

Printed: p50/p99/max of (a) and (b), their ratio, and the median of the per-round ratios; (c) per host; (d)
p50/max; (e) per host. Percentiles are nearest-rank.
Goals (PASS/FAIL): (b)/(a) p50 ≤ 1.5 and p99 ≤ 2.0 (or within 5 ms); every bad command in (c) ran at most
deadline + quick check + 0.5 s; (d) max ≤ 50 ms; (e) every probe left its host down for a doubled
cool-down, sending only the quick check. Exit 0 unless `--strict` and a goal fails. About 35–45 s.

    .venv/bin/python bench/host_isolation.py [--requests 200] [--deadline 10] [--workers 6] [--strict]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from figures import goal, ms, percentile, run_main  # bench/ is on sys.path: run as a script

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from fakes.engine import FakeEngine  # noqa: E402 - needs tests/ on sys.path

from bot.engine import Engine, Host  # noqa: E402
from bot.engine.hosts import CHECK_DEADLINE  # noqa: E402
from bot.models import Outcome, Reply  # noqa: E402
from bot.pool import worker_shares  # noqa: E402
from bot.router import Invocation, Router  # noqa: E402

EXTRA_QUEUED = 4
COMMAND_TIMEOUT = 600.0  # far beyond every deadline: each answer must come from the engine's own deadline


@dataclass(frozen=True)
class Answer:
    """One dispatched command's reply and its timings."""

    host: str
    dispatched: float
    arrived: float
    reply: Reply

    @property
    def waited(self) -> float:
        return self.arrived - self.dispatched


class Answers:
    """Replies delivered by `Router.dispatch`, as they arrive."""

    def __init__(self) -> None:
        self.got: list[Answer] = []
        self._lock = threading.Lock()

    def sender(self, host: str) -> Callable[[Reply], None]:
        """A `deliver` for one command to `host`, dispatched now."""
        dispatched = time.monotonic()

        def deliver(reply: Reply) -> None:
            with self._lock:
                self.got.append(Answer(host, dispatched, time.monotonic(), reply))

        return deliver

    def count(self) -> int:
        with self._lock:
            return len(self.got)

    def wait(self, count: int, timeout: float) -> list[Answer]:
        deadline = time.monotonic() + timeout
        while self.count() < count and time.monotonic() < deadline:
            time.sleep(0.01)
        with self._lock:
            return list(self.got)


def healthy_latency(router: Router) -> float:
    """One `ps -a` on the real engine through dispatch; fails loudly on a bad answer."""
    started = time.monotonic()
    reply = router.handle_within(Invocation("ps -a", host="local", source="bench"), 30.0)
    took = time.monotonic() - started
    if reply.outcome is not Outcome.OK:
        raise SystemExit(f"the real engine did not answer `ps -a`: {reply.problem}")
    return took


def line(label: str, values: Sequence[float]) -> str:
    return (
        f"  {label:<34} p50 {ms(percentile(values, 50)):>10}   p99 {ms(percentile(values, 99)):>10}   "
        f"max {ms(max(values)):>10}   (n={len(values)})"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200, help="healthy `ps -a` per phase (200)")
    parser.add_argument("--deadline", type=float, default=10.0, help="the bad hosts' deadline in s (10)")
    parser.add_argument("--workers", type=int, default=6, help="CHATOPS_WORKERS, split over 3 hosts (6)")
    parser.add_argument("--trickle-interval", type=float, default=2.0, help="s between two bytes (2)")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a goal fails")
    options = parser.parse_args()

    real = os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock"
    with tempfile.TemporaryDirectory(prefix="bench-isolation-") as workdir:
        trickling = FakeEngine(
            Path(workdir) / "trickle.sock", containers="trickle", trickle_interval=options.trickle_interval
        )
        silent = FakeEngine(Path(workdir) / "silent.sock", containers="silent")
        with trickling, silent:
            router = Router(
                [
                    Engine(Host("local", real, 30.0)),
                    Engine(Host("trickle", trickling.url, options.deadline)),
                    Engine(Host("silent", silent.url, options.deadline)),
                ],
                workers=options.workers,
            )
            share = worker_shares(options.workers, [None] * 3)[0]
            lone = Router([Engine(Host("local", real, 30.0))], workers=share)
            try:
                return measure(lone, router, trickling, silent, options)
            finally:
                trickling.stop()
                silent.stop()
                router.close()
                lone.close()


def measure(
    lone: Router, router: Router, trickling: FakeEngine, silent: FakeEngine, options: argparse.Namespace
) -> int:
    counts = worker_shares(options.workers, [None] * len(router.engines))
    shares = dict(zip(router.engines, counts, strict=True))
    deadline = options.deadline
    print(
        f"hosts: local (real engine), trickle (a byte every {options.trickle_interval:g} s), silent; "
        f"workers {shares}; bad hosts' deadline {deadline:g} s"
    )
    for _ in range(10):  # warm-up: clients, API version, the first listings
        healthy_latency(lone)
        healthy_latency(router)
    answers, sent = stick(router, {"trickle": trickling, "silent": silent}, shares)
    stuck_at = time.monotonic()
    alone: list[float] = []
    stuck: list[float] = []
    # only while every bad worker is surely still stuck: the first of them ends at the deadline
    while len(alone) < options.requests and time.monotonic() - stuck_at < deadline - 1.0:
        alone.append(healthy_latency(lone))
        stuck.append(healthy_latency(router))
    finished_early = answers.count()
    measured_for = time.monotonic() - stuck_at
    per_round = percentile([b / a for a, b in zip(alone, stuck, strict=True)], 50)
    got = answers.wait(sent, timeout=3 * deadline + 30)
    if len(got) < sent:
        raise SystemExit(f"only {len(got)} of {sent} bad-host commands were answered")
    down_times, down_texts = ask_down_hosts(router, max(1, options.requests // 10))
    probes = probe_down_hosts(router, {"trickle": trickling, "silent": silent})

    print()
    print("(a)/(b) the healthy host, `ps -a` through Router.dispatch, rounds of (a) then (b):")
    print(line("(a) alone", alone))
    print(line("(b) next to 2 stuck hosts", stuck))
    p50_ratio = percentile(stuck, 50) / percentile(alone, 50)
    p99_ratio = percentile(stuck, 99) / percentile(alone, 99)
    print(f"  ratio (b)/(a): p50 {p50_ratio:.2f}, p99 {p99_ratio:.2f}; per-round median {per_round:.2f}")
    print(
        f"  bad commands finished while (a)/(b) ran: {finished_early} (of {sent}); "
        f"the rounds took {measured_for:.2f} s, the deadline is {deadline:g} s"
    )
    print()
    print(f"(c) the bad hosts' commands against their {deadline:g} s wall-clock deadline:")
    worst_run = report_deadlines(got, deadline)
    trickle_bytes = trickling.trickle_bytes + 100
    print(
        f"  without the deadline, the trickling call would have lasted ≥ {trickle_bytes} bytes × "
        f"{options.trickle_interval:g} s = {trickle_bytes * options.trickle_interval / 3600:.1f} h"
    )
    print()
    print("(d) commands to a host the breaker marked down:")
    if not down_times:
        raise SystemExit("no bad host was down any more when (d) began")
    print(line("(d) answered at once", down_times))
    print(f"  answers: {sorted(down_texts)}")
    print()
    print("(e) the first command after the cool-down (its probe: the quick check):")
    for host, (took, answer, retry, listings) in probes.items():
        print(
            f"  {host:<8} answered in {took:.2f} s: {answer!r}; the next refusal: {retry!r}; "
            f"listings sent: {listings} (the check's one-row listing only)"
        )
    print()
    near = percentile(stuck, 50) - percentile(alone, 50) <= 0.005
    near99 = percentile(stuck, 99) - percentile(alone, 99) <= 0.005
    ok = [
        goal(
            (p50_ratio <= 1.5 or near) and (p99_ratio <= 2.0 or near99),
            f"healthy host next to stuck hosts: p50 ×{p50_ratio:.2f} (≤ 1.5), p99 ×{p99_ratio:.2f} (≤ 2.0) "
            "(or within 5 ms)",
        ),
        goal(finished_early == 0, "every worker of both bad shares stayed stuck while (a)/(b) ran"),
        goal(
            worst_run <= deadline + min(CHECK_DEADLINE, deadline) + 0.5,
            f"every bad-host command ran at most deadline + quick check + 0.5 s: max {worst_run:.3f} s",
        ),
        goal(
            max(down_times) <= 0.05,
            f"a down host is answered at once: max {ms(max(down_times))} (≤ 50 ms)",
        ),
        goal(
            all(
                answer.endswith(" is down") and retry == "retrying in 10 s" and listings == 1
                for _, answer, retry, listings in probes.values()
            ),
            "a probe against a listing that hangs keeps the host down, cool-down 5 s → 10 s, "
            "the command unsent",
        ),
    ]
    return 1 if options.strict and not all(ok) else 0


def stick(router: Router, fakes: dict[str, FakeEngine], shares: dict[str, int]) -> tuple[Answers, int]:
    """Send each bad host its share + `EXTRA_QUEUED` commands; return once its whole share is stuck."""
    answers = Answers()
    sent = 0
    for host in fakes:
        for _ in range(shares[host] + EXTRA_QUEUED):
            router.dispatch(
                Invocation("ps -a", host=host, source="bench"), COMMAND_TIMEOUT, answers.sender(host)
            )
            sent += 1
    for host, fake in fakes.items():
        if not fake.wait_for_requests("/containers/json", shares[host], timeout=10):
            raise SystemExit(f"host {host}: its workers never reached the fake engine")
    return answers, sent


def report_deadlines(got: Sequence[Answer], deadline: float) -> float:
    """Print (c) per host; the longest time a bad command ran."""
    worst = 0.0
    for host in sorted({a.host for a in got}, reverse=True):
        mine = [a for a in got if a.host == host]
        ran = [a.reply.elapsed for a in mine if a.reply.elapsed > 0]
        messages = [a.reply.problem.message for a in mine if a.reply.problem]
        timed_out = sum("did not answer within" in m for m in messages)
        downs = sum("is down since" in m for m in messages)
        worst = max([worst, *ran])
        print(
            f"  {host:<8} {timed_out} answered 'did not answer within {deadline:g} s', {downs} 'down'; "
            f"running: p50 {percentile(ran, 50):.3f} s, max {max(ran):.3f} s "
            f"({max(ran) / deadline:.3f} × deadline); "
            f"dispatch to answer: max {max(a.waited for a in mine):.2f} s"
        )
    return worst


def ask_down_hosts(router: Router, requests: int) -> tuple[list[float], set[str]]:
    """(d): up to `requests` commands to each bad host while it is down; their times and answers."""
    times: list[float] = []
    texts: set[str] = set()
    for host in ("trickle", "silent"):
        for _ in range(requests):
            if router.engines[host].health.refusal() is None:  # the cool-down is over: a probe would go
                break
            started = time.monotonic()
            reply = router.handle_within(Invocation("ps -a", host=host, source="bench"), 30.0)
            times.append(time.monotonic() - started)
            texts.add(reply.problem.message.split(" since ")[0] if reply.problem else "ok?")
    return times, texts


def probe_down_hosts(router: Router, fakes: dict[str, FakeEngine]) -> dict[str, tuple[float, str, str, int]]:
    """(e): per bad host, once its cool-down is over, one `ps -a`: how long its answer took, the answer, the
    refusal right after it, and how many listings reached the fake meanwhile."""
    found: dict[str, tuple[float, str, str, int]] = {}
    for host, fake in fakes.items():
        health = router.engines[host].health
        deadline = time.monotonic() + 90
        while health.refusal() is None and time.monotonic() < deadline:  # a stray probe closed it?
            time.sleep(0.05)
        while health.refusal() is not None and time.monotonic() < deadline:
            time.sleep(0.05)
        before = len(fake.requests("/containers/json"))
        started = time.monotonic()
        reply = router.handle_within(Invocation("ps -a", host=host, source="bench"), 30.0)
        took = time.monotonic() - started
        refusal = health.refusal()
        answer = reply.problem.message if reply.problem else "ok?"
        retry = refusal.message.split("; ", 1)[-1] if refusal else "not down"
        found[host] = (
            took,
            answer.split(" since ")[0],
            retry,
            len(fake.requests("/containers/json")) - before,
        )
    return found


if __name__ == "__main__":
    run_main(main, "interrupted; the fake engines are stopped")
