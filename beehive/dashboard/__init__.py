"""The live dashboard, served from the host's HTTP endpoint (``beehive run --dashboard``).

``/`` is one page (``static/index.html``: HTML, CSS and script, no build step, nothing from
elsewhere) that polls ``/api/state`` every second. The JSON API:

- ``GET /api/state``: per-actor counters and rates, queue and dead-letter depths, the most
  recent dead letters, and whether replay and the journal are available;
- ``GET /api/graph.svg``: the event network, drawn on the server from the descriptors;
- ``GET /api/journey?correlation_id=ID``: one correlation's journey, from the journal;
- ``POST /api/replay`` ``{"queue": ..., "id": ...}`` with ``Authorization: Bearer TOKEN``:
  replay one dead letter into its own queue.

It is read-only unless a replay token is configured; the token is compared in constant time
and never logged.
"""

from __future__ import annotations

from beehive.dashboard._app import Dashboard, Journal, Journey

__all__ = ["Dashboard", "Journal", "Journey"]
