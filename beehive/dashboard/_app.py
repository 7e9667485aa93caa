"""The dashboard's routes: the page, its JSON API and the one write, replay (token only)."""

from __future__ import annotations

import asyncio
import dataclasses
import hmac
import json
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable, Mapping, Sequence
from functools import cache
from http import HTTPStatus
from importlib.resources import files
from typing import Any, Protocol, runtime_checkable

from pydantic import BaseModel

from beehive._endpoint import Request, Response
from beehive.dashboard import _graph
from beehive.errors import BeeHiveError
from beehive.events import Event
from beehive.host import ActorHost
from beehive.queues._dead_letters import summary
from beehive.queues.base import QueueDepth

logger = logging.getLogger("beehive.dashboard")

RATE_WINDOW = 10.0
"""Seconds over which per-actor rates are averaged."""
_STATIC = {
    "/": ("index.html", "text/html; charset=utf-8"),
    "/index.html": ("index.html", "text/html; charset=utf-8"),
    "/static/app.js": ("app.js", "text/javascript; charset=utf-8"),
    "/static/app.css": ("app.css", "text/css; charset=utf-8"),
}
_SECURITY = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


@runtime_checkable
class Journal(Protocol):
    """Where the dashboard reads a journey: every step of one correlation, in time order."""

    async def journey(self, correlation_id: str) -> Sequence[Any]: ...


Journey = Callable[[str], Awaitable[Sequence[Any]]]


class Dashboard:
    """Routes for :class:`beehive._endpoint.HealthEndpoint` that show ``host`` live.

    ``token`` enables replay (without it the dashboard is read-only); ``journey`` (a
    :class:`Journal` or a coroutine function) feeds the journey search. Dead letters are
    peeked at most every ``refresh`` seconds, whatever the number of pages polling.
    """

    def __init__(
        self,
        host: ActorHost,
        *,
        token: str | None = None,
        journey: Journal | Journey | None = None,
        refresh: float = 2.0,
        recent: int = 20,
        peek_timeout: float = 5.0,
    ) -> None:
        self._host = host
        self._token = token.encode() if token else None
        self._journey = journey.journey if isinstance(journey, Journal) else journey
        self._refresh = refresh
        self._recent = recent
        self._peek_timeout = peek_timeout
        self._samples: deque[tuple[float, dict[str, tuple[int, int]]]] = deque()
        self._dead: dict[str, list[Event]] = {}
        self._dead_errors: dict[str, str] = {}
        self._dead_at = float("-inf")
        self._peeking = asyncio.Lock()

    def __repr__(self) -> str:  # never the token
        return f"Dashboard(replay={'on' if self._token else 'off'})"

    @property
    def _sources(self) -> list[str]:
        return sorted({d.source for d in self._host.descriptors})

    async def __call__(self, request: Request) -> Response | None:
        path, method = request.path, request.method
        if path in _STATIC or path.startswith("/api/"):
            allowed = ("POST",) if path == "/api/replay" else ("GET", "HEAD")
            if method not in allowed:
                return _json(
                    {"error": f"{' or '.join(allowed)} only"}, HTTPStatus.METHOD_NOT_ALLOWED
                )
        if path in _STATIC:
            name, content_type = _STATIC[path]
            return Response(HTTPStatus.OK, content_type, _static(name), _SECURITY)
        if path == "/api/state":
            return _json(await self.state())
        if path == "/api/graph.svg":
            svg = _graph.render(self._host.descriptors).encode()
            return Response(HTTPStatus.OK, "image/svg+xml", svg, _SECURITY)
        if path == "/api/journey":
            return await self._journey_of(request.query.get("correlation_id", ""))
        if path == "/api/replay":
            return await self._replay(request)
        return None

    # -- reading -------------------------------------------------------------------------------

    async def state(self) -> dict[str, Any]:
        """Everything the page shows but the graph, as JSON-ready values."""
        stats = self._host.stats()
        now = time.monotonic()
        counts = {name: (s.succeeded, s.retried + s.dead_lettered) for name, s in stats.items()}
        self._samples.append((now, counts))
        while len(self._samples) > 2 and now - self._samples[1][0] >= RATE_WINDOW:
            self._samples.popleft()
        then, before = self._samples[0]
        span = now - then
        actors = []
        for descriptor in self._host.descriptors:
            s = stats.get(descriptor.name)
            if s is None:
                continue
            done, failed = counts[descriptor.name]
            done_then, failed_then = before.get(descriptor.name, (done, failed))
            actors.append(
                {
                    "name": descriptor.name,
                    "actor": descriptor.actor_type.__name__,
                    "queue": descriptor.source,
                    **dataclasses.asdict(s),
                    "rate": round((done - done_then) / span, 2) if span > 0 else 0.0,
                    "failure_rate": round((failed - failed_then) / span, 2) if span > 0 else 0.0,
                }
            )
        dead = await self._dead_letters()
        return {
            "running": self._host.running,
            "actors": actors,
            "queues": await self._queues(dead),
            "dead_letters": self._most_recent(dead),
            "replay": self._token is not None,
            "journal": self._journey is not None,
        }

    async def _dead_letters(self) -> dict[str, list[Event]]:
        async with self._peeking:
            if time.monotonic() - self._dead_at >= self._refresh:
                operator = self._host.operator
                for source in self._sources:
                    try:
                        async with asyncio.timeout(self._peek_timeout):
                            self._dead[source] = await operator.dead_letters(source)
                        self._dead_errors.pop(source, None)
                    except Exception as error:  # shown, not fatal: the broker may be away
                        self._dead_errors[source] = f"{type(error).__name__}: {error}"
                self._dead_at = time.monotonic()
            return self._dead

    async def _queues(self, dead: Mapping[str, list[Event]]) -> list[dict[str, Any]]:
        depth = getattr(self._host.operator, "depth", None)
        queues = []
        for source in self._sources:
            row: dict[str, Any] = {"name": source, "active": None, "leased": None}
            row["dead_lettered"] = len(dead[source]) if source in dead else None
            if callable(depth):
                try:
                    found: QueueDepth = await depth(source)
                    row.update(dataclasses.asdict(found))
                except Exception as error:
                    logger.debug("no depth for %s: %s", source, error)
            row["error"] = self._dead_errors.get(source)
            queues.append(row)
        return queues

    def _most_recent(self, dead: Mapping[str, list[Event]]) -> list[dict[str, Any]]:
        rows = [
            {"queue": source, **summary(event)}
            for source, events in dead.items()
            for event in events[-self._recent :]
        ]
        rows.sort(key=lambda row: str(row["timestamp"]), reverse=True)
        return rows[: self._recent]

    async def _journey_of(self, correlation_id: str) -> Response:
        if self._journey is None:
            return _json({"configured": False, "entries": []})
        if not correlation_id:
            return _json({"error": "give ?correlation_id=..."}, HTTPStatus.BAD_REQUEST)
        entries = await self._journey(correlation_id)
        return _json({"configured": True, "entries": [_plain(entry) for entry in entries]})

    # -- the one write ----------------------------------------------------------------------------

    async def _replay(self, request: Request) -> Response:
        if self._token is None:
            return _json(
                {"error": "the dashboard is read-only: set BEEHIVE_DASHBOARD_TOKEN to replay"},
                HTTPStatus.FORBIDDEN,
            )
        scheme, _, given = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(given.encode(), self._token):
            logger.warning("dashboard replay refused: wrong or missing token")
            return _json({"error": "wrong or missing token"}, HTTPStatus.UNAUTHORIZED)
        try:
            asked = json.loads(request.body)
            queue, event_id = asked["queue"], asked["id"]
            if not isinstance(queue, str) or not isinstance(event_id, str):
                raise TypeError
        except (ValueError, KeyError, TypeError):
            return _json({"error": 'send {"queue": "...", "id": "..."}'}, HTTPStatus.BAD_REQUEST)
        if queue not in self._sources:
            return _json({"error": f"{queue} is no queue of this host"}, HTTPStatus.NOT_FOUND)
        try:
            count = await self._host.operator.replay_dead_letters(queue, ids=[event_id])
        except BeeHiveError as error:
            return _json({"error": str(error)}, HTTPStatus.CONFLICT)
        finally:
            self._dead_at = float("-inf")  # show the change on the next poll
        logger.info("dashboard replayed %d dead letter(s) %s into %s", count, event_id, queue)
        return _json({"replayed": count}, HTTPStatus.OK if count else HTTPStatus.NOT_FOUND)


def _json(value: Any, status: HTTPStatus = HTTPStatus.OK) -> Response:
    body = json.dumps(value, default=str).encode()
    return Response(status, "application/json", body, {"Cache-Control": "no-store"})


def _plain(entry: Any) -> Any:
    """A journal entry as JSON-ready data, whatever its type (model, dataclass, mapping)."""
    if isinstance(entry, BaseModel):
        return entry.model_dump(mode="json")
    if dataclasses.is_dataclass(entry) and not isinstance(entry, type):
        return dataclasses.asdict(entry)
    if isinstance(entry, Mapping):
        return dict(entry)
    return entry


@cache
def _static(name: str) -> bytes:
    return files("beehive.dashboard").joinpath("static", name).read_bytes()
