"""The Docker CLI's own vocabulary: every command `docker` knows, so the parser can tell a Docker command this
bot does not serve ("docker top is not supported here") from a typo ("did you mean …?") — and never answers
`top` with a did-you-mean pointing at `stop`.

Top-level commands and the subcommands of each management command, as `docker --help` and
`docker GROUP --help` list them (Docker CLI 27, with the `compose` plugin); aliases (`list`, `remove`)
included.
"""

from __future__ import annotations

_LS = "ls list"
_RM = "rm remove"

TOP_LEVEL = frozenset(
    "attach build builder buildx checkpoint commit compose config container context cp create debug diff "  # noqa: SIM905 - a word list reads best as words
    "events exec export history image images import info init inspect kill load login logout logs manifest "
    "network node pause plugin port ps pull push rename restart rm rmi run save scan scout search secret "
    "service stack start stats stop swarm system tag top trust unpause update version volume wait".split()
)

SUBCOMMANDS: dict[str, frozenset[str]] = {
    group: frozenset(words.split())
    for group, words in {
        "builder": f"build du prune {_LS}",
        "checkpoint": f"create {_LS} {_RM}",
        "compose": "attach build config cp create down events exec images kill logs ls pause port ps pull "
        "push restart rm run scale start stats stop top unpause up version wait watch",
        "config": f"create inspect {_LS} {_RM}",
        "container": f"attach commit cp create diff exec export inspect kill logs {_LS} ps pause port prune "
        f"rename restart {_RM} run start stats stop top unpause update wait",
        "context": f"create export import inspect {_LS} {_RM} show update use",
        "image": f"build history import inspect load {_LS} prune pull push {_RM} save tag",
        "manifest": "annotate create inspect push rm",
        "network": f"connect create disconnect inspect {_LS} prune {_RM}",
        "node": f"demote inspect {_LS} promote ps {_RM} update",
        "plugin": f"create disable enable inspect install {_LS} push {_RM} set upgrade",
        "secret": f"create inspect {_LS} {_RM}",
        "service": f"create inspect logs {_LS} ps {_RM} rollback scale update",
        "stack": f"config deploy {_LS} ps {_RM} services",
        "swarm": "ca init join join-token leave unlock unlock-key update",
        "system": "df dial-stdio events info prune",
        "trust": "inspect key revoke sign signer",
        "volume": f"create inspect {_LS} prune {_RM} update",
    }.items()
}


def is_docker_command(words: list[str]) -> bool:
    """Whether the first words (lower case) name a command of the Docker CLI: `top`, `volume create`.

    A management command followed by a word that is not one of its subcommands (`volume craete`) is not."""
    if not words or words[0] not in TOP_LEVEL:
        return False
    subcommands = SUBCOMMANDS.get(words[0])
    return subcommands is None or len(words) < 2 or words[1] in subcommands
