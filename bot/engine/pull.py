"""`pull` and its planner: the daemon's progress stream folded into a `PullResult`, with `PullProgress`
reports on the way."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

from docker.utils import parse_repository_tag

from bot.commands import args as a
from bot.engine.base import EngineBase
from bot.engine.hosts import LONG_CALL_DEADLINE
from bot.errors import NotFound, OperationFailed, error_response
from bot.models import Plan, PullLayer, PullProgress, PullResult, Target
from bot.references import parse_normalized_named

PULL_PROGRESS_EVERY = 1.0  # seconds between two progress reports of `pull`
_DOWNLOADED = frozenset({"Download complete", "Pull complete", "Already exists", "Extracting"})


class Pulls(EngineBase):
    """`pull` of the `Engine`, with its planner."""

    def pull(
        self, args: a.PullArgs, plan: Plan, progress: Callable[[PullProgress], None] | None = None
    ) -> PullResult:
        """`docker pull` of the reference the plan shows (checked against the distribution grammar; it goes
        as a query parameter, never in a path): streams the daemon's progress; `progress` hears where the
        pull is at most every `PULL_PROGRESS_EVERY` seconds. A registry error is `OperationFailed` with the
        registry's words."""
        repository, typed_tag = parse_repository_tag(args.image)
        tag = typed_tag or "latest"
        shown = f"{repository}@{tag}" if tag.startswith("sha256:") else f"{repository}:{tag}"
        hint = f"pulling {shown} on host {self.name}"
        stream = PullStream(shown)

        def run(api: Any) -> str | None:
            """Follow the stream to its end; the daemon's error message if it sent one."""
            last = 0.0
            for event in api.pull(repository, tag=tag, stream=True, decode=True):
                if event.get("error"):
                    detail = event.get("errorDetail") or {}
                    return str(detail.get("message") or event["error"])
                stream.add(event)
                now = time.monotonic()
                if progress is not None and stream.layers and now - last >= PULL_PROGRESS_EVERY:
                    last = now
                    progress(stream.progress())
            return None

        try:
            refused = self._call(run, deadline=LONG_CALL_DEADLINE)
        except (NotFound, OperationFailed) as exc:
            if exc.daemon_message is None:  # not the daemon's own words (a redirect, an answer not JSON)
                raise
            raise OperationFailed(exc.daemon_line, hint=hint) from exc
        if refused is not None:
            raise OperationFailed(error_response(refused), hint=hint)
        return stream.result(tag, default_tag=not typed_tag)

    def plan_pull(self, args: a.PullArgs) -> Plan:
        """The image reference `pull` fetches (no Docker call: there is nothing to resolve locally)."""
        return Plan("pull", self.name, "pull", (Target("image", "", args.image),))


class PullStream:
    """The daemon's pull events, folded: each layer's latest status and bytes, the repositories it pulls
    from, and its closing `Digest:` and `Status:` words."""

    def __init__(self, image: str) -> None:
        self.image = image
        self.layers: dict[str, PullLayer] = {}
        self.sources: list[tuple[str, str]] = []
        self.digest: str | None = None
        self.status: str | None = None
        self.messages: list[str] = []

    def add(self, event: Mapping[str, Any]) -> None:
        """Take one event of the stream (`{"status": …, "id": …, "progressDetail": …}`)."""
        ident, status = str(event.get("id") or ""), str(event.get("status") or "")
        if not status:
            return
        if ident and status.startswith("Pulling from "):
            self.sources.append((ident, status.removeprefix("Pulling from ")))
        elif ident:
            layer = self.layers.get(ident, PullLayer(ident, status))
            current, total = layer.current, layer.total
            if status == "Downloading":
                detail = event.get("progressDetail") or {}
                current, total = int(detail.get("current") or 0), int(detail.get("total") or total)
            elif status in _DOWNLOADED:
                current = max(current, total)
            self.layers[ident] = PullLayer(ident, status, current, total)
        elif status.startswith("Digest: "):
            self.digest = status.removeprefix("Digest: ")
        elif status.startswith("Status: "):
            self.status = status.removeprefix("Status: ")
        else:
            self.messages.append(status)

    def progress(self) -> PullProgress:
        """Where the pull is now."""
        return PullProgress(self.image, tuple(self.layers.values()))

    def result(self, tag: str, *, default_tag: bool) -> PullResult:
        """The pull once the stream ended; `name` is the reference fully qualified, as the CLI prints it
        last (`docker.io/library/app:1.0`)."""
        parsed = parse_normalized_named(self.image)
        name = None
        if parsed is not None:
            name = f"{parsed.domain}/{parsed.path}" + (f"@{parsed.digest}" if parsed.digest else f":{tag}")
        return PullResult(
            image=self.image,
            name=name,
            sources=tuple(self.sources),
            layers=tuple(self.layers.values()),
            digest=self.digest,
            status=self.status,
            messages=tuple(self.messages),
            default_tag=default_tag,
        )
