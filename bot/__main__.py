"""`python -m bot` runs the same entry point as the `docker-chatops` console script."""

from bot.cli import main

raise SystemExit(main())
