"""The router without a Docker engine: parsing, help, outcomes and error mapping never need one."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from bot.commands import CATALOG
from bot.engine import Engine, Host
from bot.models import HelpResult, Outcome, Reply
from bot.router import Invocation, Router


@pytest.fixture
def router(tmp_path: Path) -> Router:
    """A router whose only host is a socket where nothing listens."""
    return Router([Engine(Host("ghost", f"unix://{tmp_path}/no.sock", 2.0))])


def test_usage_errors_answer_without_touching_docker(router: Router) -> None:
    """A usage error is answered with the USAGE outcome even though no engine exists."""
    reply = router.handle(Invocation("inspects web"))
    assert reply.outcome is Outcome.USAGE
    assert reply.problem is not None
    assert reply.problem.hint == 'did you mean "inspect"?'


def test_a_bad_step_anywhere_in_a_chain_runs_nothing(router: Router) -> None:
    """The whole chain is parsed before anything runs: a typo in step 2 stops step 1 from running too."""
    reply = router.handle(Invocation("version && imgaes"))
    assert reply.outcome is Outcome.USAGE
    assert [step.result for step in reply.steps] == [None]


def test_unreachable_engine_is_one_clear_failure(router: Router, tmp_path: Path) -> None:
    """No engine: FAILED, naming the host and the address tried, with a hint, and no traceback text."""
    reply = router.handle(Invocation("ps -a"))
    assert reply.outcome is Outcome.FAILED
    problem = reply.problem
    assert problem is not None
    assert problem.kind == "EngineUnavailable"
    assert "ghost" in problem.message
    assert f"unix://{tmp_path}/no.sock" in problem.message
    assert "no such socket" in problem.message
    assert problem.hint is not None
    assert "Traceback" not in problem.message


def test_help_is_built_from_the_catalog(router: Router) -> None:
    """`help` lists the visible catalog commands the asker may run (read only, by default)."""
    reply = router.handle(Invocation("help"))
    assert reply.outcome is Outcome.OK
    result = reply.steps[0].result
    assert isinstance(result, HelpResult)
    readable = [spec.name for spec in CATALOG.visible() if spec.action_class == "read"]
    assert [entry.name for entry in result.entries] == readable
    admin = router.handle(Invocation("help", local_admin=True)).steps[0].result
    assert isinstance(admin, HelpResult)
    assert [entry.name for entry in admin.entries] == [spec.name for spec in CATALOG.visible()]
    detailed = router.handle(Invocation("help ps")).steps[0].result
    assert isinstance(detailed, HelpResult)
    assert detailed.detailed
    assert ("-a, --all", "Show all containers (default shows just running)") in detailed.entries[0].options


def test_help_for_an_unknown_command_suggests_one(router: Router) -> None:
    """`help inspects` is a usage error with a did-you-mean."""
    reply = router.handle(Invocation("help inspects"))
    assert reply.outcome is Outcome.USAGE
    assert reply.problem is not None
    assert reply.problem.hint == 'did you mean "inspect"?'


def test_unknown_host_is_not_found(router: Router) -> None:
    """Asking for a host that is not configured names the hosts that are."""
    reply = router.handle(Invocation("ps", host="prod"))
    assert reply.outcome is Outcome.FAILED
    assert reply.problem is not None
    assert reply.problem.hint == "hosts: ghost"


def test_hung_engine_answers_timeout_within_the_command_timeout(frozen_docker_socket: str) -> None:
    """With an engine that never answers, the caller hears "did not finish" after the command timeout."""
    router = Router([Engine(Host("frozen", frozen_docker_socket, 30.0))])
    started = time.monotonic()
    reply = router.handle_within(Invocation("ps -a"), timeout=0.5)
    elapsed = time.monotonic() - started
    router.close()
    assert reply.outcome is Outcome.FAILED
    assert reply.problem is not None
    assert reply.problem.kind == "Timeout"
    assert "did not finish within 0.5 s on host frozen" in reply.problem.message
    assert elapsed < 2.0


def test_every_engine_call_has_a_timeout(frozen_docker_socket: str) -> None:
    """Each Engine API call gives up after the host's timeout and names the host and the wait."""
    router = Router([Engine(Host("frozen", frozen_docker_socket, 0.5))])
    reply = router.handle(Invocation("images"))
    router.close()
    assert reply.outcome is Outcome.FAILED
    assert reply.problem is not None
    assert reply.problem.kind == "EngineUnavailable"
    assert "did not answer within 0.5 s" in reply.problem.message


def test_dispatch_delivers_exactly_once_even_when_the_result_comes_late(tmp_path: Path) -> None:
    """A command that outlives its timeout is answered once (the timeout), and its late result is dropped."""
    router = Router([Engine(Host("local", f"unix://{tmp_path}/none.sock", 1.0))])
    release = threading.Event()
    original = router.handle

    def slow(invocation: Invocation, audit_id: int | None = None) -> Reply:
        release.wait(5)
        return original(invocation, audit_id)

    router.handle = slow  # type: ignore[method-assign]
    delivered: list[Reply] = []
    done = threading.Event()

    def deliver(reply: Reply) -> None:
        delivered.append(reply)
        done.set()

    started = time.monotonic()
    router.dispatch(Invocation("help"), 0.3, deliver)
    assert time.monotonic() - started < 0.1, "dispatch must return at once"
    assert done.wait(3)
    release.set()
    time.sleep(0.3)
    router.close()
    assert len(delivered) == 1
    assert delivered[0].outcome is Outcome.FAILED
    assert delivered[0].problem is not None
    assert delivered[0].problem.kind == "Timeout"
