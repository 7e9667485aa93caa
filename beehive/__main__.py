"""``python -m beehive``: the same as the ``beehive`` command."""

from beehive.cli import main

raise SystemExit(main())
