"""`Reply` → terminal text for the local shell: results on stdout, problems on stderr; mentions carried
by ID (`bot.mentions`) read as plain text (`the local shell user`, a user's or channel's ID)."""

from __future__ import annotations

from bot.mentions import plain_refs
from bot.models import Problem, Reply
from bot.render.mask import mask_secrets
from bot.render.result import render_result


def render_reply_text(reply: Reply) -> tuple[str, str]:
    """The (stdout, stderr) texts of a reply, refs as plain text. A chain shows each command's header
    before its output."""
    out: list[str] = []
    err: list[str] = []
    chained = reply.chained
    for step in reply.steps:
        if step.result is not None:
            rendered = render_result(step.result)
            block = [f"$ docker {mask_secrets(step.text)}"] if chained else []
            if rendered.summary:
                block.append(rendered.summary)
            if rendered.body:
                block.append(rendered.body)
            out.append("\n".join(block))
        if step.problem is not None:
            err.append(render_problem_text(step.problem, step.text if chained else None))
    return plain_refs("\n\n".join(out)), plain_refs("\n".join(err))


def render_problem_text(problem: Problem, command: str | None = None) -> str:
    """`error: …` (or `denied: …`) with the usage line and hint beneath, as one short block; what was typed
    comes back with its secrets masked, as in every other answer."""
    where = f" (in: {command})" if command else ""
    label = "denied" if problem.kind == "Denied" else "error"
    lines = [mask_secrets(f"{label}: {problem.message}{where}")]
    if problem.usage:
        lines.append(f"usage: {problem.usage}")
    if problem.hint:
        lines.append(mask_secrets(f"hint: {problem.hint}"))
    return plain_refs("\n".join(lines))
