"""The live dashboard: an ASGI app that ``beehive run --dashboard`` serves at ``/``, and that
mounts in your own Starlette or FastAPI app (``Mount("/beehive", app=Dashboard(host))``).

``/`` is one page (``static/index.html``: HTML, CSS and script, no build step, nothing from
elsewhere, relative links so any mount path works) that polls ``api/state`` every second. The
JSON API:

- ``GET api/state``: per-actor counters and rates, queue and dead-letter depths, the most
  recent dead letters, the event types the actors read, and whether the writes and the
  journal are available;
- ``GET api/graph.svg``: the event network, drawn on the server from the descriptors;
- ``GET api/journey?correlation_id=ID``: one correlation's journey, from the journal;
- ``POST api/replay`` ``{"queue": ..., "id": ...}`` with ``Authorization: Bearer TOKEN``:
  replay one dead letter into its own queue;
- ``POST api/send`` (:class:`beehive.web.Sending`) with the same token: send events.

It is read-only unless a token is configured; the token is compared in constant time and
never logged.
"""

from __future__ import annotations

from beehive.dashboard._app import Dashboard, Journal, Journey

__all__ = ["Dashboard", "Journal", "Journey"]
