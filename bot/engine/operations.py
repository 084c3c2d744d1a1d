"""The `Engine`: every Docker operation on one host, one method per command operation, each returning a
result model.

Methods are named after the CLI verbs and take the validated argument models of `bot.commands.args`
(plain data); they never format text. They live by job, each file one part of the one type:

- `base.py`: the host, `_call` (every Engine API call, through the host's circuit breaker), shared listings;
- `read.py`: `ps`, `images`, `system_df`, `volume_ls`, `volume_inspect`, `inspect`, `logs`, `events`,
  `version`, `info`, `compose_ls`, `compose_ps`;
- `act.py`: `start`, `stop`, `restart`, `kill`, `pause`, `unpause`, `rm`, `rmi` and their planners;
- `prune.py`: the prunes and their planners;
- `pull.py`: `pull` and `plan_pull`.
"""

from __future__ import annotations

from bot.engine.act import Actions
from bot.engine.prune import Prunes
from bot.engine.pull import Pulls
from bot.engine.read import Reads


class Engine(Reads, Actions, Prunes, Pulls):
    """The operations on one Docker host: reads, actions, prunes and pull, all over one client."""
