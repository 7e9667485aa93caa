"""A container HEALTHCHECK without curl: ``python -m beehive.web /healthz``."""

from __future__ import annotations

import sys

from beehive.web._probe import probe

raise SystemExit(probe(sys.argv[1] if len(sys.argv) > 1 else "/healthz"))
