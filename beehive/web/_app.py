"""The host's HTTP endpoint as one ASGI app: probes, metrics, and the dashboard or send."""

from __future__ import annotations

from collections.abc import Callable

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.types import ASGIApp

from beehive.host import ActorHost
from beehive.metrics import metrics_response
from beehive.web._send import Sending


def endpoint(
    host: ActorHost,
    *,
    ready: Callable[[], bool] | None = None,
    dashboard: ASGIApp | None = None,
    token: str | None = None,
) -> Starlette:
    """The app ``beehive run`` serves for ``host``:

    - ``GET /healthz``: 200 while the process lives;
    - ``GET /readyz``: 200 when ``ready()`` says so (default: while the host runs), else 503;
    - ``GET /metrics``: the Prometheus metrics (OpenMetrics when the scraper asks for it);
    - ``dashboard`` (a :class:`beehive.dashboard.Dashboard`) at ``/``, which has the send
      route; without one, ``POST /api/send`` alone, guarded by ``token``.
    """
    is_ready = ready or (lambda: host.running)

    async def healthz(request: Request) -> Response:
        return PlainTextResponse("ok\n")

    async def readyz(request: Request) -> Response:
        if is_ready():
            return PlainTextResponse("ready\n")
        return PlainTextResponse("not ready\n", 503)

    async def metrics(request: Request) -> Response:
        return await metrics_response(host, request.headers.get("accept"))

    routes: list[BaseRoute] = [
        Route("/healthz", healthz, methods=["GET"]),
        Route("/readyz", readyz, methods=["GET"]),
        Route("/metrics", metrics, methods=["GET"]),
    ]
    if dashboard is not None:
        routes.append(Mount("/", app=dashboard))
    else:
        routes.append(Route("/api/send", Sending(host, token).send, methods=["POST"]))
    return Starlette(routes=routes)
