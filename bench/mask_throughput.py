"""How fast `mask_secrets` is on a realistic corpus, compared with the masker of another revision.

`mask_secrets` runs on every line the bot writes to its log (the logging filter), on every cell of a table
reply (`ps` COMMAND) and on the joined text of `logs` (one call for the whole reply). The corpus is
`--lines` (10,000) lines as containers print them: nginx access and error lines, postgres, redis, node (JSON,
pino), Go (logfmt) and Java lines, `ps --no-trunc` COMMAND cells and health checks, with about one line in
a hundred carrying a secret (a password assignment, an `Authorization` header, a URL with a password, a
token). Ordinary lines hold the words the masker looks for too ("cache key", "authorized", "tokens").

Timed in CPU time of this process (`time.process_time`: on a busy machine wall-clock time mostly measures
the other processes), best of `--repeat` (7) runs each, after one warm-up run:

  per line   `mask_secrets(line)` for every line, one call each (the logging filter, table cells)
  joined     one `mask_secrets` call on all lines joined with newlines (what `logs` does)

With `--baseline REV` (a git revision, e.g. `main`) the masker of that revision (`bot/render/mask.py` as
`git show REV:…` prints it) is timed the same way, round-robin with the working tree's, and the ratios
(current / baseline) are printed with the goal: at most 1.5 on both figures. The masked outputs are compared
too: the number of lines the two versions mask differently is printed (new rules mask more).
Exit status 0 unless `--strict` is given and a goal fails.
"""

from __future__ import annotations

import argparse
import importlib.util
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from figures import goal, ms, run_main  # bench/ is on sys.path: run as a script

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

Masker = Callable[[str], str]


def _ordinary(rng: random.Random, i: int) -> str:
    """One ordinary line of a kind picked at random; numbers, ids and times vary with `i`."""
    cid = f"{rng.getrandbits(48):012x}"
    ip = f"172.18.0.{i % 250 + 2}"
    second = f"{i % 60:02d}"
    kinds = [
        f'{ip} - - [27/Nov/2026:17:42:{second} +0000] "GET /api/items/{i}?page=2 HTTP/1.1" 200 {i % 9000} '
        '"-" "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0"',
        f'{ip} - - [27/Nov/2026:17:42:{second} +0000] "POST /auth/login HTTP/1.1" 302 0 '
        '"https://shop.example.com/" "curl/8.5.0"',
        f"2026/11/27 17:42:{second} [error] 29#29: *{i} connect() failed (111: Connection refused) while "
        f'connecting to upstream, client: {ip}, server: _, request: "GET /healthz HTTP/1.1", '
        'upstream: "http://10.0.0.5:8080/healthz", host: "localhost"',
        f"2026-11-27 17:42:{second}.{i % 1000:03d} UTC [{i % 900 + 60}] LOG:  connection authorized: "
        "user=app database=app application_name=psql",
        f"2026-11-27 17:42:{second}.{i % 1000:03d} UTC [{i % 900 + 60}] LOG:  duration: 0.{i % 900} ms  "  # noqa: S608 - a log line, not a query
        f"statement: SELECT id, name FROM items WHERE id = {i}",
        f"2026-11-27 17:42:{second}.{i % 1000:03d} UTC [66] LOG:  checkpoint complete: wrote {i % 300} "
        "buffers (1.8%); 0 WAL file(s) added, 0 removed, 0 recycled; write=0.301 s, sync=0.004 s",
        f"1:M 27 Nov 2026 17:42:{second}.{i % 1000:03d} * {i % 100} changes in 60 seconds. Saving...",
        f"1:M 27 Nov 2026 17:42:{second}.{i % 1000:03d} * Background saving started by pid {i % 3000}",
        f'{{"level":30,"time":17642653{i:05d},"pid":1,"hostname":"{cid}","req":{{"id":{i},"method":"GET",'
        f'"url":"/api/items/{i}","headers":{{"host":"api:3000","user-agent":"axios/1.6.2",'
        f'"accept":"application/json"}}}},"res":{{"statusCode":200}},"responseTime":{i % 50},'
        '"msg":"request completed"}',
        f'{{"ts":"2026-11-27T17:42:{second}.123Z","level":"info","msg":"cache hit","key":"items:{i}",'
        f'"ttl":300,"tokens":{i % 4000}}}',
        f'time="2026-11-27T17:42:{second}Z" level=info msg="reconciled" container={cid} '
        f"duration={i % 90}ms attempt=1",
        f'2026-11-27T17:42:{second}.400311484Z level=debug msg="GET /api/items/{i}" status=200 '
        f"duration=3.{i % 10}ms remote={ip}",
        f"2026-11-27 17:42:{second}.123  INFO 1 --- [nio-8080-exec-{i % 10}] "
        "o.s.web.servlet.DispatcherServlet : Completed initialization in 2 ms",
        f"2026-11-27 17:42:{second},123 WARN [pool-{i % 4}-thread-1] c.e.app.TokenCache : refreshing OAuth "
        "token for client app-frontend (expires in 300 s)",
        "nginx: worker process",
        "postgres: checkpointer ",
        "/usr/local/bin/docker-entrypoint.sh postgres -c max_connections=200",
        "curl -fsS http://localhost:8080/healthz || exit 1",
        "redis-server *:6379",
        f"node /app/server.js --port 3000 --workers {i % 8 + 1}",
        f"pulled sha256:{rng.getrandbits(256):064x}",
        f"container {rng.getrandbits(256):064x} started",
    ]
    return kinds[rng.randrange(len(kinds))]


def _secret(rng: random.Random, i: int) -> str:
    """One line that carries a secret."""
    kinds = [
        f'2026-11-27T17:42:44Z level=warn msg="retry" password=hunter{i} attempt={i}',
        f'{{"level":"debug","msg":"upstream","headers":{{"authorization":"Bearer tok{i}abcdef0123456789"}}}}',
        f"connecting to postgres://app:s3cret{i}@db:5432/app",
        f"curl -fsS -u admin:pw{i} http://localhost:8080/healthz",
        f"redis-cli -a pw{i} ping",
        f"using token ghp_{rng.getrandbits(160):040x}",
        f"auth=Basic YWRtaW46cGFzc3dvcmQ{i}",
    ]
    return kinds[rng.randrange(len(kinds))]


def corpus(lines: int, seed: int = 9) -> list[str]:
    """`lines` log lines, about one in a hundred with a secret."""
    rng = random.Random(seed)  # noqa: S311 - a reproducible corpus, no secret
    return [_secret(rng, i) if rng.random() < 0.01 else _ordinary(rng, i) for i in range(lines)]


def load_masker(revision: str | None) -> Masker:
    """`mask_secrets` of the working tree, or of `bot/render/mask.py` at a git revision."""
    if revision is None:
        from bot.render.mask import mask_secrets  # noqa: PLC0415 - after ROOT is on sys.path

        return mask_secrets
    source = subprocess.run(
        ["git", "-C", str(ROOT), "show", f"{revision}:bot/render/mask.py"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    folder = Path(tempfile.mkdtemp(prefix="mask-baseline-"))
    path = folder / "mask_baseline.py"
    path.write_text(source, encoding="utf-8")
    spec = importlib.util.spec_from_file_location("mask_baseline", path)
    if spec is None or spec.loader is None:
        raise RuntimeError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules["mask_baseline"] = module  # dataclasses look their module up while the class is made
    spec.loader.exec_module(module)
    masker: Masker = module.mask_secrets
    return masker


def _per_line(masker: Masker, lines: Sequence[str]) -> float:
    start = time.process_time()
    for line in lines:
        masker(line)
    return time.process_time() - start


def _joined(masker: Masker, text: str) -> float:
    start = time.process_time()
    masker(text)
    return time.process_time() - start


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--lines", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--baseline", metavar="REV", help="a git revision to compare with, e.g. main")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a goal fails")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    options = parse_args(argv)
    lines = corpus(options.lines)
    text = "\n".join(lines)
    maskers = {"current": load_masker(None)}
    if options.baseline:
        maskers["baseline"] = load_masker(options.baseline)
    best: dict[tuple[str, str], float] = {}
    for masker in maskers.values():  # warm-up: compiled patterns, caches
        _per_line(masker, lines)
        _joined(masker, text)
    for _ in range(options.repeat):
        for name, masker in maskers.items():
            for figure, seconds in (
                ("per line", _per_line(masker, lines)),
                ("joined", _joined(masker, text)),
            ):
                best[name, figure] = min(best.get((name, figure), float("inf")), seconds)
    print(f"{options.lines} lines, {len(text):,} characters, best of {options.repeat}")
    for name in maskers:
        per_line, joined = best[name, "per line"], best[name, "joined"]
        print(
            f"  {name:8}  per line {ms(per_line):>9} ({per_line / options.lines * 1e6:.2f} µs/line)"
            f"   joined {ms(joined):>9}"
        )
    if "baseline" not in maskers:
        return 0
    current, baseline = maskers["current"], maskers["baseline"]
    differ = sum(current(line) != baseline(line) for line in lines)
    masked = sum(current(line) != line for line in lines)
    print(f"  lines masked: {masked} (current); masked differently from the baseline: {differ}")
    ok = True
    for figure in ("per line", "joined"):
        ratio = best["current", figure] / best["baseline", figure]
        ok = bool(goal(ratio <= 1.5, f"{figure}: current / baseline = {ratio:.2f} (goal ≤ 1.5)")) and ok
    return 0 if ok or not options.strict else 1


if __name__ == "__main__":
    run_main(main, "interrupted")
