"""The mutating commands: grammar, validation, catalog rules; and the pure parts of their plans and output."""

from __future__ import annotations

from typing import Any

import pytest

from bot.commands import CATALOG, parse
from bot.commands.catalog import ALWAYS, MANY, NEVER, OPERATE, PULL, REMOVE
from bot.engine import plans
from bot.engine.convert import image_removals
from bot.engine.pull import PullStream
from bot.errors import Conflict, ImageInUse, NotFound, OperationFailed, PartialFailure, UsageError
from bot.models import (
    ActionResult,
    ImageRemoved,
    ImageRow,
    Plan,
    PruneResult,
    PullLayer,
    PullProgress,
    PullResult,
    RmiResult,
    Target,
)
from bot.render.actions import (
    cli_lines,
    render_action,
    render_plan,
    render_pull_progress,
    summarize_action,
    summarize_plan,
)
from bot.render.result import render_result


def one(text: str) -> tuple[str, dict[str, object]]:
    (command,) = parse(text)
    return command.spec.name, command.args.model_dump()


@pytest.mark.parametrize(
    ("text", "name", "expected"),
    [
        ("start web", "start", {"containers": ("web",)}),
        ("container start web db", "start", {"containers": ("web", "db")}),
        ("stop web", "stop", {"containers": ("web",), "time": None}),
        ("stop -t 5 web", "stop", {"time": 5}),
        ("stop --time=0 web", "stop", {"time": 0}),
        ("container stop -t30 a b c", "stop", {"time": 30, "containers": ("a", "b", "c")}),
        ("restart web", "restart", {"time": None}),
        ("container restart -t 1 web", "restart", {"time": 1}),
        ("kill web", "kill", {"signal": "KILL"}),
        ("kill -s hup web", "kill", {"signal": "HUP"}),
        ("container kill --signal=SIGTERM web", "kill", {"signal": "SIGTERM"}),
        ("kill -s 9 web", "kill", {"signal": "9"}),
        ("kill -s RTMIN+3 web", "kill", {"signal": "RTMIN+3"}),
        ("pause web", "pause", {"containers": ("web",)}),
        ("container unpause web", "unpause", {"containers": ("web",)}),
        ("rm web", "rm", {"force": False, "volumes": False}),
        ("rm -fv web", "rm", {"force": True, "volumes": True}),
        ("container rm --force --volumes web", "rm", {"force": True, "volumes": True}),
        ("container remove web", "rm", {"containers": ("web",)}),
        ("rmi app:1.0", "rmi", {"images": ("app:1.0",), "force": False, "no_prune": False}),
        ("image rm -f app:1.0 b5d5f3a5cafb", "rmi", {"images": ("app:1.0", "b5d5f3a5cafb"), "force": True}),
        ("image remove --no-prune sha256:abc", "rmi", {"no_prune": True}),
        ("image prune", "image prune", {"all": False, "force": False, "filters": {}}),
        ("image prune -a", "image prune", {"all": True}),
        ("image prune -af", "image prune", {"all": True, "force": True}),
        ("image prune --force", "image prune", {"force": True}),
        ("image prune --filter until=24h", "image prune", {"filters": {"until": ("24h",)}}),
        (
            "image prune --filter label=tier=db --filter label!=keep",
            "image prune",
            {"filters": {"label": ("tier=db",), "label!": ("keep",)}},
        ),
        ("image prune --filter until=2024-01-02T03:04:05Z", "image prune", {}),
        ("image prune --filter until=1700000000", "image prune", {}),
        ("container prune", "container prune", {"filters": {}}),
        ("container prune -f --filter until=10m", "container prune", {"force": True}),
        ("volume prune", "volume prune", {"all": False}),
        ("volume prune -a --filter label=tmp", "volume prune", {"all": True, "filters": {"label": ("tmp",)}}),
        ("network prune --filter until=1h", "network prune", {"filters": {"until": ("1h",)}}),
        ("system prune", "system prune", {"all": False, "volumes": False}),
        ("system prune -a --volumes", "system prune", {"all": True, "volumes": True}),
        ("system prune -a --filter until=24h", "system prune", {"all": True}),
        ("pull app", "pull", {"image": "app"}),
        ("image pull 127.0.0.1:5000/team/app:1.0", "pull", {"image": "127.0.0.1:5000/team/app:1.0"}),
        ("pull app@sha256:" + "a" * 64, "pull", {"image": "app@sha256:" + "a" * 64}),
    ],
)
def test_mutating_commands_parse(text: str, name: str, expected: dict[str, Any]) -> None:
    """Every command, alias and flag spelling of the mutating commands."""
    got_name, args = one(text)
    assert got_name == name
    for key, value in expected.items():
        assert args[key] == value, key


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("stop", '"stop" requires'),
        ("start", '"start" requires'),
        ("rm", '"rm" requires'),
        ("rmi", '"rmi" requires'),
        ("pull", '"pull" requires'),
        ("pull a b", '"pull" requires exactly 1 argument'),
        ("stop -t web", '"stop" requires'),
        ("stop -t -1 web", "--time"),
        ("stop -t 601 web", "--time"),
        ("stop -t soon web", "--time"),
        ("kill -s 'NOT A SIGNAL' web", "invalid signal"),
        ("kill -s '' web", "invalid signal"),
        # a well-formed name the daemon does not know is refused here, before any plan or confirmation
        ("kill -s FOO web", "invalid signal: FOO"),
        ("kill -s 65 web", "invalid signal: 65"),
        ("stop -t soon web", 'invalid argument "soon" for "-t, --time" flag: not an integer'),
        ("start 'bad name'", "not a valid container name"),
        ("start -- -web", "not a valid container name"),
        ("rmi 'bad ref'", "not a valid image reference"),
        ("stop " + " ".join(f"c{i}" for i in range(21)), "at most 20"),
        ("rm -x web", "unknown shorthand flag"),
        ("image prune --filter dangling=true", "invalid filter 'dangling'"),
        ("image prune --filter until=yesterday", "until"),
        ("image prune --filter until=1h --filter until=2h", "once"),
        ("image prune --filter label==x", "KEY or KEY=VALUE"),
        ("image prune --filter nokey", "KEY=VALUE"),
        ("volume prune --filter until=1h", "invalid filter 'until'"),
        ("system prune --volumes --filter until=1h", "until cannot be used with --volumes"),
        ("container prune -a", "unknown shorthand flag"),
        ("network prune -a", "unknown shorthand flag"),
        ("image prune extra", "accepts no arguments"),
        ("image prune --force=maybe", "expected true or false"),
    ],
)
def test_mutating_command_errors(text: str, message: str) -> None:
    """Wrong arguments are usage errors with the command's usage line, before anything reaches Docker."""
    with pytest.raises(UsageError) as caught:
        parse(text)
    text_of = caught.value.message + " " + (caught.value.usage or "")
    assert message in text_of


def test_prune_filter_flag_is_long_only_and_dash_f_means_force() -> None:
    """Docker's prunes: `-f` is --force (our confirmation replaces the prompt), `--filter` filters."""
    for name in ("image prune", "container prune", "volume prune", "network prune", "system prune"):
        spec = CATALOG.get(name)
        assert spec is not None
        force, filters = spec.option("-f"), spec.option("--filter")
        assert force is not None
        assert force.dest == "force"
        assert not force.takes_value
        assert filters is not None
        assert filters.short is None
        assert filters.repeat


@pytest.mark.parametrize(
    ("name", "action_class", "confirm"),
    [
        ("start", OPERATE, NEVER),
        ("stop", OPERATE, MANY),
        ("restart", OPERATE, NEVER),
        ("kill", OPERATE, ALWAYS),
        ("pause", OPERATE, NEVER),
        ("unpause", OPERATE, NEVER),
        ("rm", REMOVE, ALWAYS),
        ("rmi", REMOVE, ALWAYS),
        ("image prune", REMOVE, ALWAYS),
        ("container prune", REMOVE, ALWAYS),
        ("volume prune", REMOVE, ALWAYS),
        ("network prune", REMOVE, ALWAYS),
        ("system prune", REMOVE, ALWAYS),
        ("pull", PULL, NEVER),
    ],
)
def test_action_classes_and_confirmation_rules(name: str, action_class: str, confirm: str) -> None:
    """Each mutating command carries its action class (what policy grants) and when it asks to confirm."""
    spec = CATALOG.get(name)
    assert spec is not None
    assert (spec.action_class, spec.confirm) == (action_class, confirm)


def test_every_container_verb_has_its_container_alias() -> None:
    """`container stop` is `stop`, as in the Docker CLI."""
    for verb in ("start", "stop", "restart", "kill", "pause", "unpause", "rm"):
        spec = CATALOG.get(f"container {verb}")
        assert spec is not None
        assert spec.name == verb
    rmi, pull = CATALOG.get("image rm"), CATALOG.get("image pull")
    assert rmi is not None
    assert rmi.name == "rmi"
    assert pull is not None
    assert pull.name == "pull"


# ---- the pure parts of plans --------------------------------------------------------------------------


def _container(id: str, name: str, state: str = "running", image: str = "sha256:i1") -> dict[str, Any]:
    return {"Id": id, "Names": [f"/{name}"], "State": state, "Status": state, "ImageID": image, "Labels": {}}


def test_containers_resolve_like_the_daemon() -> None:
    """Full ID, exact name, then a unique ID prefix; a prefix that fits two is refused; duplicates once."""
    raw = [_container("abc111" + "0" * 58, "web"), _container("abc222" + "0" * 58, "db")]
    found, problems = plans.resolve_containers(raw, ["web", "abc2", "abc", "nope", "abc111" + "0" * 58])
    assert [(ref, row.name) for ref, row in found] == [("web", "web"), ("abc2", "db")]
    assert problems == ["abc: more than one container has an ID starting with it", "No such container: nope"]


def test_images_resolve_by_tag_digest_and_id() -> None:
    """`app` means `app:latest`; docker.io/library is dropped; IDs by prefix with or without sha256:."""
    rows = [
        ImageRow("sha256:" + "1" * 64, ("app:latest", "busybox:1"), ("app@sha256:" + "f" * 64,), 0, 10),
        ImageRow("sha256:" + "2" * 64, ("<none>:<none>",), (), 0, 10),
    ]
    assert plans.resolve_image(rows, "app")[1] == "tag"
    assert plans.resolve_image(rows, "docker.io/library/busybox:1")[1] == "tag"
    assert plans.resolve_image(rows, "app@sha256:" + "f" * 64)[1] == "digest"
    assert plans.resolve_image(rows, "2222")[0] == rows[1]
    assert plans.resolve_image(rows, "sha256:1111")[0] == rows[0]
    assert plans.resolve_image(rows, "other") == (None, "No such image: other")


def test_prune_filters_match_like_the_daemon() -> None:
    """until: created before; every label must match; label! excludes when all of its values match."""
    now = 1_000_000.0
    labels = {"tier": "db", "keep": "yes"}
    assert plans.matches({"until": ("1h",)}, labels, now - 7200, now)
    assert not plans.matches({"until": ("1h",)}, labels, now - 60, now)
    assert plans.matches({"label": ("tier", "tier=db")}, labels, 0, now)
    assert not plans.matches({"label": ("tier=web",)}, labels, 0, now)
    assert not plans.matches({"label!": ("keep",)}, labels, 0, now)
    assert plans.matches({"label!": ("keep", "other")}, labels, 0, now)
    assert plans.until_timestamp("1700000000", now) == 1_700_000_000.0
    assert plans.until_timestamp("2023-11-14T22:13:20Z", now) == 1_700_000_000.0
    assert plans.parse_created("2023-11-14T22:13:20.123456789Z") == pytest.approx(1_700_000_000.123456)


def test_image_prune_candidates() -> None:
    """Heads only, unused only; dangling only without -a."""
    images: list[dict[str, Any]] = [
        {"Id": "p", "RepoTags": ["base:1"], "Containers": 0, "Size": 5, "SharedSize": 5},
        {"Id": "a", "ParentId": "p", "RepoTags": ["app:1"], "Containers": 0, "Size": 9, "SharedSize": 5},
        {"Id": "b", "RepoTags": None, "RepoDigests": None, "Containers": 0, "Size": 3, "SharedSize": -1},
        {"Id": "c", "RepoTags": ["used:1"], "Containers": 2, "Size": 3, "SharedSize": 0},
    ]
    dangling = plans.prunable_images(images, all=False, filters={}, now=0)
    assert [r.id for r in dangling] == ["b"]
    every = plans.prunable_images(images, all=True, filters={}, now=0)
    assert [r.id for r in every] == ["a", "b"]
    assert [plans.unique_size(r) for r in every] == [4, 3]


def test_cli_output_lines() -> None:
    """rmi's capitalised lines, prune's lower-case ones under their section, and pull's final screen."""
    removed = image_removals([{"Untagged": "app:1"}, {"Deleted": "sha256:1"}])
    assert removed == (ImageRemoved("Untagged", "app:1"), ImageRemoved("Deleted", "sha256:1"))
    assert cli_lines(RmiResult(removed)) == ["Untagged: app:1", "Deleted: sha256:1"]
    assert cli_lines(PruneResult("image prune", images=removed, reclaimed=0)) == [
        "Deleted Images:",
        "untagged: app:1",
        "deleted: sha256:1",
        "",
        "Total reclaimed space: 0B",
    ]
    assert cli_lines(PruneResult("volume prune", reclaimed=0)) == ["Total reclaimed space: 0B"]
    assert cli_lines(PruneResult("network prune", networks=("n",))) == ["Deleted Networks:", "n"]
    assert cli_lines(PruneResult("network prune")) == []
    stream = PullStream("x/team/app:1.0")
    events: list[dict[str, Any]] = [
        {"status": "Pulling from team/app", "id": "1.0"},
        {"status": "Pulling fs layer", "id": "l1"},
        {"status": "Downloading", "id": "l1", "progressDetail": {"current": 1, "total": 2}},
        {"status": "Pull complete", "id": "l1"},
        {"status": "Digest: sha256:abc"},
        {"status": "Status: Downloaded newer image for x/team/app:1.0"},
    ]
    for event in events:
        stream.add(event)
    pulled = stream.result("1.0", default_tag=False)
    assert (pulled.digest, pulled.status) == ("sha256:abc", "Downloaded newer image for x/team/app:1.0")
    assert pulled.layers == (PullLayer("l1", "Pull complete", 2, 2),)
    assert cli_lines(pulled) == [
        "1.0: Pulling from team/app",
        "l1: Pull complete",
        "Digest: sha256:abc",
        "Status: Downloaded newer image for x/team/app:1.0",
        "docker.io/x/team/app:1.0",
    ]


def test_system_prune_lines_follow_the_daemons_order() -> None:
    """Containers, networks, volumes, images, build cache: each section ends with a blank line, then the
    total (go-units HumanSize)."""
    result = PruneResult(
        "system prune",
        containers=("c1",),
        networks=("n1",),
        volumes=("v1",),
        images=(ImageRemoved("Deleted", "sha256:1"),),
        build_cache=("b1",),
        reclaimed=1_234_567,
    )
    assert cli_lines(result) == [
        "Deleted Containers:",
        "c1",
        "",
        "Deleted Networks:",
        "n1",
        "",
        "Deleted Volumes:",
        "v1",
        "",
        "Deleted Images:",
        "deleted: sha256:1",
        "",
        "Deleted build cache objects:",
        "b1",
        "",
        "Total reclaimed space: 1.235MB",
    ]
    assert summarize_action(result) == "system prune: reclaimed 1.235MB"
    assert summarize_action(PruneResult("network prune", networks=("n1",))) == "network prune"


def test_pull_progress_wording() -> None:
    """A pull under way: layers done of those seen, bytes so far of the sizes known (3 digits)."""
    layers = (
        PullLayer("l1", "Pull complete", 2_000_000, 2_000_000),
        PullLayer("l2", "Already exists"),
        PullLayer("l3", "Downloading", 10_500_000, 40_100_000),
    )
    assert render_pull_progress(PullProgress("app:1.0", layers)) == (
        "Pulling app:1.0: 2/3 layers, 12.5MB/42.1MB"
    )
    assert render_pull_progress(PullProgress("app:1.0", (PullLayer("l1", "Pulling fs layer"),))) == (
        "Pulling app:1.0: 0/1 layers"
    )
    stream = PullStream("app:1.0")
    stream.add({"status": "Downloading", "id": "l1", "progressDetail": {"current": 5, "total": 10}})
    assert stream.progress() == PullProgress("app:1.0", (PullLayer("l1", "Downloading", 5, 10),))
    stream.add({"status": "Download complete", "id": "l1"})
    assert stream.progress().layers == (PullLayer("l1", "Download complete", 10, 10),)


def test_pull_result_rendering() -> None:
    """`Using default tag: latest` is a note under the final screen; the summary is the daemon's status."""
    pulled = PullResult(
        "app:latest",
        name="docker.io/library/app:latest",
        status="Image is up to date for app:latest",
        default_tag=True,
    )
    assert render_action(pulled) == (
        "Status: Image is up to date for app:latest\ndocker.io/library/app:latest\n\n"
        "note: Using default tag: latest"
    )
    assert summarize_action(pulled) == "Image is up to date for app:latest"
    assert summarize_action(PullResult("app:1.0")) == "pulled"


def test_api_version_compare() -> None:
    """Volume prune's `all` filter exists from API 1.42."""
    assert plans.api_at_least("1.42", (1, 42))
    assert plans.api_at_least("1.51", (1, 42))
    assert not plans.api_at_least("1.41", (1, 42))
    assert not plans.api_at_least("junk", (1, 42))


# ---- errors and renderers ------------------------------------------------------------------------------


def test_image_in_use_is_a_conflict_with_a_remedy() -> None:
    """The door can offer the remedy as a button; everything else treats it as a Conflict."""
    error = ImageInUse("in use", hint="h", remedy="stop c && rm c && rmi app", containers=("c",))
    assert isinstance(error, Conflict)
    assert (error.remedy, error.containers) == ("stop c && rm c && rmi app", ("c",))


def test_partial_failure_lists_each_error_like_the_cli() -> None:
    """`stop a nope`: a is stopped, the failure is reported as the daemon's words, and the command fails."""
    error = PartialFailure(ActionResult("stop", ("a",)), [NotFound("No such container: nope")])
    assert isinstance(error, OperationFailed)
    assert error.message == "Error response from daemon: No such container: nope"
    assert error.hint == "stop done: a"
    assert error.result == ActionResult("stop", ("a",))
    assert error.remedy is None


def test_partial_rmi_failure_names_what_went_and_keeps_the_remedy() -> None:
    """`rmi a b`: a went, b is in use; the hint lists the daemon's records, the remedy is b's way out; the
    daemon's own message (kept by the error border) is what the CLI line quotes."""
    in_use = ImageInUse("conflict\nb is used by c (running)", remedy="stop c && rm c && rmi b")
    refused = Conflict("Docker on h: refused", daemon_message="unable to delete b")
    done = RmiResult((ImageRemoved("Untagged", "a:1"), ImageRemoved("Deleted", "sha256:1")))
    error = PartialFailure(done, [in_use, refused])
    assert error.hint == "done: Untagged: a:1; Deleted: sha256:1"
    assert error.remedy == "stop c && rm c && rmi b"
    assert error.message == (
        "Error response from daemon: conflict\nb is used by c (running)\n"
        "Error response from daemon: unable to delete b"
    )
    assert PartialFailure(RmiResult(()), [refused, refused]).hint is None


def test_action_rendering() -> None:
    """The CLI's lines, then notes; a summary line for the door."""
    prune = PruneResult("image prune", reclaimed=0, notes=("only dangling images are pruned",))
    assert render_action(prune) == "Total reclaimed space: 0B\n\nnote: only dangling images are pruned"
    assert summarize_action(prune) == "image prune: nothing to remove"
    left = PruneResult("image prune", reclaimed=0, unused_tagged=(2, 1_500_000))
    assert render_action(left) == (
        "Total reclaimed space: 0B\n\n"
        "note: only dangling images are pruned without -a; 2 unused tagged images (about 1.5MB) would go "
        "with -a"
    )
    assert "1 unused tagged image (about" in render_action(PruneResult("image prune", unused_tagged=(1, 9)))
    assert summarize_action(ActionResult("stop", ("a", "b"))) == "stopped 2 containers"
    rmi = RmiResult((ImageRemoved("Untagged", "a:1"), ImageRemoved("Deleted", "sha256:1")))
    assert summarize_action(rmi) == "rmi: 1 untagged, 1 deleted"
    rendered = render_result(ActionResult("kill", ("web",)))
    assert (rendered.summary, rendered.body, rendered.kind) == ("killed 1 container", "web", "text")


def test_plan_rendering() -> None:
    """A sentence, one CLI-like table per kind of object, then the notes."""
    plan = Plan(
        "image prune -a",
        "prod",
        "prune",
        (
            Target("image", "sha256:" + "1" * 64, "app:1", size=964_000_000, detail="app:1"),
            Target("volume", "v1", "v1", size=None, detail="named"),
        ),
        reclaim=964_000_000,
        notes=("approximate",),
    )
    assert render_plan(plan) == (
        "This will remove 1 image and 1 volume on prod (reclaim 964MB):\n\n"
        "IMAGE ID       IMAGE     SIZE      WHAT HAPPENS\n"
        "111111111111   app:1     964MB     app:1\n\n"
        "VOLUME NAME   SIZE      KIND\n"
        "v1            -         named\n\n"
        "note: approximate"
    )
    assert summarize_plan(plan) == "image prune -a on prod: 1 image, 1 volume, reclaim 964MB"
    assert render_plan(Plan("container prune", "prod", "prune", ())) == "Nothing to remove on prod."


def test_a_system_prune_plan_lists_the_build_cache_it_clears() -> None:
    """Build cache records are targets of their own (so the policy sees them), with their own table."""
    cache = (
        Target("build-cache", "k3l8fdm1yq0x2", "k3l8fdm1yq0x2", size=2_000_000, detail="regular"),
        Target("build-cache", "p9a7", "p9a7", size=48_000_000, detail="source.local"),
    )
    plan = Plan("system prune", "prod", "prune", cache, reclaim=50_000_000)
    assert render_plan(plan) == (
        "This will remove 2 build cache records on prod (reclaim 50MB):\n\n"
        "CACHE ID        TYPE           SIZE\n"
        "k3l8fdm1yq0x2   regular        2MB\n"
        "p9a7            source.local   48MB"
    )
    assert summarize_plan(plan) == "system prune on prod: 2 build cache records, reclaim 50MB"
