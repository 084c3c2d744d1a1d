"""How fast the bot acknowledges a slash command in HTTP mode, with a healthy and with a frozen engine.

Slack waits 3 seconds for the HTTP answer to a slash command; a slower one shows the user "dispatch_failed".
The bot acknowledges first and runs the Docker work on its own pool, so the acknowledgement must not depend
on the engine at all. This bench checks that from the outside, over real sockets:

  * the fake Slack of the tests (`tests/fakes`) runs in this process and hands out the response_urls;
  * the bot runs as a real process, `python -m bot run`, in HTTP mode on a free port of 127.0.0.1, with its
    own state file in a temporary directory, pointed at the fake (SLACK_API_URL);
  * every request is a freshly signed `/docker ps -a` with its own response_url, so no two bodies, hence no
    two signatures, are alike (the bot refuses a repeated signature with 409).

Measured per request, from this process:

  ack     the HTTP round trip of the POST to /slack/events, from opening the connection to the last byte of
          the answer (one new connection per request): what Slack sees as the acknowledgement. Every one
          must be `200`.
  told    from just before the POST until the fake Slack recorded the bot's answer on that request's
          response_url (both clocks are this process's `time.monotonic()`).

Two phases, each with its own bot process:

  (a) healthy  DOCKER_HOST is the real engine (the environment's, else the local socket); the answer is the
               `ps -a` table in the channel.
  (b) frozen   DOCKER_HOST is a Unix socket in a temporary directory served by this bench: it accepts every
               connection and never answers, as a wedged dockerd does. Each `ps -a` hangs in a worker
               (the pool of CHATOPS_WORKERS fills at once and the rest queue) until the bot's own timer
               answers "'ps -a' did not finish within N s" (CHATOPS_COMMAND_TIMEOUT, 5 s here unless
               --command-timeout says otherwise; every command's timer runs from its dispatch, so a queued
               one is told as soon as a running one). Slack would show that answer to the user, so "told"
               is the time until the user learns of the timeout. The router's queue is bounded (16 commands
               per worker, at least 64): a command beyond it is told at once that nothing was run ("was not
               started: N commands are already waiting"), which counts as its one right answer too. So
               does the host's circuit breaker: once enough calls in a row got no answer, the host is down
               and a command is told at once "host local is down since …; retrying in N s", nothing sent.

Each phase sends `--requests` (200) commands twice, as two schemes, one after the other (the second starts
once every answer of the first has arrived):

  burst       `--clients` (4) threads send back to back, each taking the next request as soon as its
              previous one is acknowledged: several users clicking at once, the honest case for a chat bot.
              The goals are judged on this scheme.
  sequential  one request at a time: the acknowledgement's cost without contention, for reference.

A few `help` commands (answered without Docker) warm the bot up before each phase and are not counted.
Percentiles are nearest-rank: p99 of 200 requests is the 198th fastest.

Exactly once: every response_url must receive exactly one answer: the table in (a), the timeout in (b).
Doubles would come from a late result racing the timer, so in (b), once every user has been told, the
frozen engine is let go: from then on it hangs up on every connection, so the hung calls fail at once and
every queued command runs and fails quickly, each late result meeting the bot's "deliver once" guard. The
bench waits until the engine has been quiet for a moment, then counts the answers again. How many connections
the frozen engine accepted, and how many were open at most at once, is printed too: it shows how many
workers really hung, and that commands already answered with a timeout still run afterwards.

Goals (PASS/FAIL lines): acknowledgement p99 under 100 ms with a healthy engine and under 1 s with a frozen
one (burst scheme); every request answered exactly once in both phases, and in (b) with the timeout. The exit
status is 0 unless `--strict` is given and a goal fails. The bot is stopped and the fake Slack closed at the
end, also on Ctrl-C or SIGTERM. About 20–30 s in all.

    .venv/bin/python bench/ack_latency.py [--requests 200] [--clients 4] [--command-timeout 5] [--strict]
"""

from __future__ import annotations

import argparse
import http.client
import os
import selectors
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType

from figures import goal, ms, percentile, run_main  # bench/ is on sys.path: run as a script

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from fakes.slack import FakeSlack, signed_slash_command  # noqa: E402 - needs tests/ on sys.path
from fakes.web_api import Message  # noqa: E402

SECRET = "bench-signing-secret"  # noqa: S105 - the bench's own secret, shared with the bot it starts
HEALTHY_ACK_GOAL = 0.100
FROZEN_ACK_GOAL = 1.0
DEFAULT_DOCKER_URL = os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock"
BOT_DOCKER_TIMEOUT = 10.0  # the bot's default CHATOPS_DOCKER_TIMEOUT, when --docker-timeout is not given
WARM_UP = 5
HEALTHY_ANSWER_WAIT = 60.0
QUIET = 1.5  # seconds without a new connection after which the released engine counts as drained
TIMEOUT_TEXT = "did not finish within"
BUSY_TEXT = "was not started:"  # the router's bounded queue is full: answered at once, nothing run
DOWN_TEXT = " is down since "  # the host's circuit breaker is open: answered at once, nothing sent


# --- the bot and the frozen engine -----------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class BotProcess:
    """`python -m bot run` in HTTP mode against the fake Slack, its output in a log file."""

    def __init__(self, workdir: Path, slack: FakeSlack, env: dict[str, str]) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = workdir / "bot.log"
        base = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "CHATOPS_", "DOCKER_"))}
        with self.log.open("wb") as sink:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "bot", "run"],
                env={
                    **base,
                    "PYTHONPATH": str(ROOT),
                    "SLACK_BOT_TOKEN": slack.bot_token,
                    "SLACK_SIGNING_SECRET": SECRET,
                    "SLACK_API_URL": slack.api_url,
                    "CHATOPS_HTTP_HOST": "127.0.0.1",
                    "CHATOPS_HTTP_PORT": str(self.port),
                    "CHATOPS_STATE_PATH": str(workdir / "state.db"),
                    "CHATOPS_LOG_LEVEL": "INFO",
                    **env,
                },
                cwd=workdir,  # no .env of the checkout is read
                stdin=subprocess.DEVNULL,
                stdout=sink,
                stderr=subprocess.STDOUT,
            )

    def wait_healthy(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                with urllib.request.urlopen(self.url + "/healthz", timeout=1) as answer:  # noqa: S310
                    if answer.status == 200:
                        return
            except OSError:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the bot did not start in HTTP mode:\n{self.output()}")
            time.sleep(0.05)

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)


class FrozenEngine:
    """A Unix socket that accepts every connection and never answers; `release()` makes it hang up instead.

    It reads (and drops) what clients send, so it notices when they give up and close; it counts the
    connections it accepted and the most that were open at once.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.accepted = 0
        self.peak_open = 0
        self.last_accept = time.monotonic()
        self._open: set[socket.socket] = set()
        self._released = threading.Event()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._listener.bind(str(path))
        self._listener.listen(512)
        self._listener.setblocking(False)
        self._thread = threading.Thread(target=self._serve, name="frozen-engine", daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"unix://{self.path}"

    def release(self) -> None:
        """From now on hang up on every connection, open or new: the hung calls fail at once."""
        with self._lock:
            self.last_accept = time.monotonic()  # quiet_for() counts from the release at the earliest
        self._released.set()

    def quiet_for(self) -> float:
        """Seconds since the last accepted connection (or the release, if later)."""
        with self._lock:
            return time.monotonic() - self.last_accept

    def _serve(self) -> None:
        with selectors.DefaultSelector() as selector:
            selector.register(self._listener, selectors.EVENT_READ)
            while not self._stop.is_set():
                for key, _ in selector.select(timeout=0.05):
                    sock = key.fileobj
                    assert isinstance(sock, socket.socket)  # noqa: S101 - only sockets are registered
                    if sock is self._listener:
                        self._accept(selector)
                    else:
                        self._read(selector, sock)
                if self._released.is_set():
                    for sock in list(self._open):
                        self._drop(selector, sock)
            for sock in list(self._open):
                self._drop(selector, sock)

    def _accept(self, selector: selectors.BaseSelector) -> None:
        try:
            conn, _ = self._listener.accept()
        except BlockingIOError:
            return
        conn.setblocking(False)
        with self._lock:
            self.accepted += 1
            self.last_accept = time.monotonic()
            self._open.add(conn)
            self.peak_open = max(self.peak_open, len(self._open))
        selector.register(conn, selectors.EVENT_READ)

    def _read(self, selector: selectors.BaseSelector, sock: socket.socket) -> None:
        try:
            data = sock.recv(65536)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if not data:
            self._drop(selector, sock)

    def _drop(self, selector: selectors.BaseSelector, sock: socket.socket) -> None:
        selector.unregister(sock)
        sock.close()
        with self._lock:
            self._open.discard(sock)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self._listener.close()
        self.path.unlink(missing_ok=True)


# --- sending and collecting ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Sent:
    """One signed slash command: where it is answered, when it left, and its acknowledgement."""

    response_url: str
    sent_at: float  # time.monotonic(), just before the connection was opened
    status: int
    ack: float  # seconds, the HTTP round trip


def send(bot: BotProcess, slack: FakeSlack, text: str) -> Sent:
    """Sign a fresh `/docker TEXT` with its own response_url and POST it; time the round trip."""
    response_url = slack.new_response_url()
    body, headers = signed_slash_command(SECRET, text, response_url=response_url)
    sent_at = time.monotonic()
    started = time.perf_counter()
    connection = http.client.HTTPConnection("127.0.0.1", bot.port, timeout=30)
    try:
        connection.request("POST", "/slack/events", body=body, headers=headers)
        answer = connection.getresponse()
        answer.read()
        status = answer.status
    except OSError:
        status = 0
    finally:
        connection.close()
    return Sent(response_url, sent_at, status, time.perf_counter() - started)


def burst(bot: BotProcess, slack: FakeSlack, text: str, n: int, clients: int) -> list[Sent]:
    with ThreadPoolExecutor(clients, thread_name_prefix="client") as pool:
        return list(pool.map(lambda _: send(bot, slack, text), range(n)))


def sequential(bot: BotProcess, slack: FakeSlack, text: str, n: int) -> list[Sent]:
    return [send(bot, slack, text) for _ in range(n)]


def answers(slack: FakeSlack, sent: Sequence[Sent]) -> dict[str, list[Message]]:
    return {s.response_url: slack.responses(s.response_url) for s in sent}


def wait_answered(slack: FakeSlack, sent: Sequence[Sent], timeout: float) -> dict[str, list[Message]]:
    """Poll until every request has at least one answer, or `timeout` seconds pass."""
    deadline = time.monotonic() + timeout
    while True:
        got = answers(slack, sent)
        if all(got.values()) or time.monotonic() > deadline:
            return got
        time.sleep(0.05)


# --- figures ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Stats:
    n: int
    p50: float
    p99: float
    min: float
    max: float

    @classmethod
    def of(cls, values: Sequence[float]) -> Stats | None:
        if not values:
            return None
        return cls(len(values), percentile(values, 50), percentile(values, 99), min(values), max(values))

    def line(self, label: str) -> str:
        return (
            f"  {label:34} {ms(self.p50):>10} {ms(self.p99):>10} {ms(self.min):>10} {ms(self.max):>10}"
            f"  {self.n:>4}"
        )


@dataclass(slots=True)
class Scheme:
    """One scheme's requests and what came of them."""

    name: str
    sent: list[Sent]
    seconds: float
    got: dict[str, list[Message]] = field(default_factory=dict)

    @property
    def ack(self) -> Stats | None:
        return Stats.of([s.ack for s in self.sent if s.status == 200])

    @property
    def told(self) -> Stats | None:
        times = [got[0].time - s.sent_at for s in self.sent if (got := self.got.get(s.response_url))]
        return Stats.of(times)

    def not_200(self) -> dict[int, int]:
        counts: dict[int, int] = {}
        for s in self.sent:
            if s.status != 200:
                counts[s.status] = counts.get(s.status, 0) + 1
        return counts

    def answer_counts(self) -> tuple[int, int, int]:
        """(requests with no answer, with exactly one, with more than one)."""
        lost = sum(1 for s in self.sent if not self.got.get(s.response_url))
        once = sum(1 for s in self.sent if len(self.got.get(s.response_url, [])) == 1)
        return lost, once, len(self.sent) - lost - once

    def wrong_answers(self, good: Callable[[Message], bool]) -> int:
        return sum(1 for s in self.sent for m in self.got.get(s.response_url, []) if not good(m))


def print_scheme(scheme: Scheme, *, told_label: str) -> None:
    rate = len(scheme.sent) / scheme.seconds if scheme.seconds else 0.0
    print(f"  {scheme.name}: {len(scheme.sent)} requests in {scheme.seconds:.2f} s ({rate:.0f}/s)")
    if (ack := scheme.ack) is not None:
        print(ack.line("acknowledgement (HTTP round trip)"))
    if (told := scheme.told) is not None:
        print(told.line(told_label))
    if bad := scheme.not_200():
        shown = ", ".join(f"{count}× {status or 'no answer'}" for status, count in sorted(bad.items()))
        print(f"  acknowledgements other than 200: {shown}")
    lost, _, doubled = scheme.answer_counts()
    if lost or doubled:
        print(f"  answers: {lost} request(s) never answered, {doubled} answered more than once")


def header() -> None:
    print(f"  {'':34} {'p50':>10} {'p99':>10} {'min':>10} {'max':>10}  {'n':>4}")


# --- the phases ------------------------------------------------------------------------------------------


@dataclass(slots=True)
class Phase:
    name: str
    schemes: list[Scheme]
    log_problems: list[str]


def run_schemes(bot: BotProcess, slack: FakeSlack, options: argparse.Namespace, wait: float) -> list[Scheme]:
    """Warm up, then the burst and the sequential scheme, each waiting for its answers before the next."""
    for _ in range(WARM_UP):
        send(bot, slack, "help")
    schemes: list[Scheme] = []
    runs: list[tuple[str, Callable[[], list[Sent]]]] = [
        (
            f"burst, {options.clients} clients",
            lambda: burst(bot, slack, "ps -a", options.requests, options.clients),
        ),
        ("sequential", lambda: sequential(bot, slack, "ps -a", options.requests)),
    ]
    for name, run in runs:
        started = time.perf_counter()
        sent = run()
        scheme = Scheme(name, sent, time.perf_counter() - started)
        scheme.got = wait_answered(slack, sent, wait)
        schemes.append(scheme)
    return schemes


def log_problems(bot: BotProcess) -> list[str]:
    return [line for line in bot.output().splitlines() if "Traceback" in line or " ERROR " in line]


def healthy_phase(slack: FakeSlack, workdir: Path, options: argparse.Namespace) -> Phase:
    print(f"\n(a) healthy engine: DOCKER_HOST={options.url}")
    bot = BotProcess(workdir, slack, {"DOCKER_HOST": options.url, **bot_env(options)})
    try:
        bot.wait_healthy()
        schemes = run_schemes(bot, slack, options, HEALTHY_ANSWER_WAIT)
        time.sleep(1.0)  # a second answer would come right after the first
        for scheme in schemes:
            scheme.got = answers(slack, scheme.sent)
    finally:
        bot.stop()
    header()
    for scheme in schemes:
        print_scheme(scheme, told_label="answered in the channel")
    return Phase("healthy", schemes, log_problems(bot))


def frozen_phase(slack: FakeSlack, workdir: Path, options: argparse.Namespace) -> Phase:
    engine = FrozenEngine(workdir / "frozen.sock")
    timeout = options.command_timeout
    docker_timeout = options.docker_timeout or BOT_DOCKER_TIMEOUT
    print(
        f"\n(b) frozen engine: DOCKER_HOST={engine.url} (accepts, never answers); "
        f"CHATOPS_COMMAND_TIMEOUT={timeout:g} s, CHATOPS_DOCKER_TIMEOUT={docker_timeout:g} s"
    )
    bot = BotProcess(workdir, slack, {"DOCKER_HOST": engine.url, **bot_env(options)})
    drain = 0.0
    try:
        bot.wait_healthy()
        schemes = run_schemes(bot, slack, options, timeout + 30.0)
        hung_accepted, hung_peak = engine.accepted, engine.peak_open
        started = time.monotonic()
        engine.release()
        while engine.quiet_for() < QUIET and time.monotonic() - started < 60:
            time.sleep(0.1)
        drain = engine.last_accept - started  # until the last connection of the drained backlog
        for scheme in schemes:
            scheme.got = answers(slack, scheme.sent)
    finally:
        bot.stop()
        engine.close()
    header()
    for scheme in schemes:
        print_scheme(scheme, told_label="told of the timeout")
    commands = sum(len(s.sent) for s in schemes)
    print(
        f"  the frozen engine, while every user was being told: {hung_accepted} connection(s) accepted, "
        f"at most {hung_peak} open at once (CHATOPS_WORKERS={options.workers or 8})"
    )
    print(
        f"  after it was let go (hangs up at once): {engine.accepted - hung_accepted} more connection(s) "
        f"in {drain:.1f} s (then {QUIET:g} s quiet), {engine.accepted} for {commands} timed-out commands "
        "in all; answers counted again"
    )
    return Phase("frozen", schemes, log_problems(bot))


def bot_env(options: argparse.Namespace) -> dict[str, str]:
    env = {"CHATOPS_COMMAND_TIMEOUT": f"{options.command_timeout:g}"}
    if options.docker_timeout is not None:
        env["CHATOPS_DOCKER_TIMEOUT"] = f"{options.docker_timeout:g}"
    if options.workers is not None:
        env["CHATOPS_WORKERS"] = str(options.workers)
    return env


# --- goals -----------------------------------------------------------------------------------------------


def ack_goal(phase: Phase | None, limit: float, what: str) -> bool | None:
    scheme = phase.schemes[0] if phase else None
    stats = scheme.ack if scheme else None
    if scheme is None or stats is None:
        return goal(None, f"acknowledgement p99 under {limit * 1000:g} ms with {what} (not measured)")
    all_200 = not scheme.not_200()
    return goal(
        all_200 and stats.p99 < limit,
        f"acknowledgement p99 under {limit * 1000:g} ms with {what}: {ms(stats.p99)} "
        f"({scheme.name}; {'every' if all_200 else 'NOT every'} request acknowledged 200)",
    )


def once_goal(phase: Phase | None, what: str, good: Callable[[Message], bool]) -> bool | None:
    if phase is None:
        return goal(None, f"every request answered exactly once with {what} (not measured)")
    lost = doubled = wrong = total = 0
    for scheme in phase.schemes:
        missing, _, more = scheme.answer_counts()
        lost, doubled = lost + missing, doubled + more
        wrong += scheme.wrong_answers(good)
        total += len(scheme.sent)
    return goal(
        lost == doubled == wrong == 0,
        f"every request answered exactly once with {what}: {total} requests, {lost} lost, "
        f"{doubled} doubled, {wrong} other answer(s)",
    )


def check_goals(healthy: Phase | None, frozen: Phase | None, timeout: float) -> list[bool | None]:
    print("\nGoals")
    results = [
        ack_goal(healthy, HEALTHY_ACK_GOAL, "a healthy engine"),
        ack_goal(frozen, FROZEN_ACK_GOAL, "a frozen engine"),
        once_goal(healthy, "the ps -a table in the channel", lambda m: m.response_type == "in_channel"),
        once_goal(
            frozen,
            f'the timeout ("{TIMEOUT_TEXT} {timeout:g} s"), with the queue full "{BUSY_TEXT}", '
            f'or with the breaker open "host local{DOWN_TEXT}…"',
            lambda m: any(
                text in (m.text or "") for text in (f"{TIMEOUT_TEXT} {timeout:g} s", BUSY_TEXT, DOWN_TEXT)
            ),
        ),
    ]
    if frozen is not None:
        texts = [m.text or "" for scheme in frozen.schemes for ms in scheme.got.values() for m in ms]
        busy = sum(1 for text in texts if BUSY_TEXT in text)
        down = sum(1 for text in texts if DOWN_TEXT in text)
        sent = sum(len(scheme.sent) for scheme in frozen.schemes)
        print(
            f"      (frozen: {busy} of {sent} told at once that the queue was full and nothing was run, "
            f"{down} that the host is down and nothing was sent)"
        )
    for phase in (healthy, frozen):
        if phase is not None:
            problems = phase.log_problems
            results.append(
                goal(
                    not problems,
                    f"no traceback or ERROR in the bot's log ({phase.name}): {len(problems)} line(s)"
                    + (f", first: {problems[0][:200]}" if problems else ""),
                )
            )
    return results


# --- main ------------------------------------------------------------------------------------------------


def _terminate(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--requests", type=int, default=200, help="requests per scheme (default: 200)")
    parser.add_argument("--clients", type=int, default=4, help="concurrent senders of the burst (default: 4)")
    parser.add_argument(
        "--command-timeout", type=float, default=5.0, help="CHATOPS_COMMAND_TIMEOUT of the bot (default: 5)"
    )
    parser.add_argument(
        "--docker-timeout",
        type=float,
        default=None,
        help=f"CHATOPS_DOCKER_TIMEOUT of the bot (default: the bot's, {BOT_DOCKER_TIMEOUT:g})",
    )
    parser.add_argument("--workers", type=int, default=None, help="CHATOPS_WORKERS (default: the bot's, 8)")
    parser.add_argument("--url", default=DEFAULT_DOCKER_URL, help=f"healthy engine ({DEFAULT_DOCKER_URL})")
    parser.add_argument("--only", choices=("healthy", "frozen"), help="run one phase only")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a goal fails")
    options = parser.parse_args(argv)
    if options.requests < 1 or options.clients < 1 or options.command_timeout <= 0:
        parser.error("--requests and --clients must be at least 1, --command-timeout positive")
    return options


def main(argv: Sequence[str] | None = None) -> int:
    options = parse_args(argv)
    started = time.perf_counter()
    signal.signal(signal.SIGTERM, _terminate)
    print(
        f"ack latency, HTTP mode: {options.requests} signed `/docker ps -a` per scheme "
        f"(burst with {options.clients} clients, then sequential); {os.cpu_count()} CPUs"
    )
    healthy: Phase | None = None
    frozen: Phase | None = None
    with FakeSlack() as slack, tempfile.TemporaryDirectory(prefix="ack-bench-") as tmp:
        if options.only != "frozen":
            (workdir := Path(tmp) / "healthy").mkdir()
            healthy = healthy_phase(slack, workdir, options)
        if options.only != "healthy":
            (workdir := Path(tmp) / "frozen").mkdir()
            frozen = frozen_phase(slack, workdir, options)
        if slack.errors:
            print(f"warning: the fake Slack raised {len(slack.errors)} error(s): {slack.errors[0]!r}")
    results = check_goals(healthy, frozen, options.command_timeout)
    print(f"\ntotal time {time.perf_counter() - started:.1f} s")
    return 1 if options.strict and False in results else 0


if __name__ == "__main__":
    try:
        run_main(main, "interrupted; the bot was stopped")
    except RuntimeError as exc:  # the bot did not start: its output says why
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)
