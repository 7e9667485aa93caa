"""The host's HTTP surface, as ASGI apps (Starlette) served by uvicorn.

:func:`endpoint` builds what ``beehive run`` serves: ``/healthz``, ``/readyz``, ``/metrics``,
and the dashboard (:class:`beehive.dashboard.Dashboard`, itself an ASGI app that mounts in
your own Starlette or FastAPI app) or the send route alone. :class:`Server` runs an app in
the host's event loop.
"""

from __future__ import annotations

from beehive.web._app import endpoint
from beehive.web._send import Sending
from beehive.web._server import Server

__all__ = ["Sending", "Server", "endpoint"]
