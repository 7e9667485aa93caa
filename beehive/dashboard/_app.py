"""The dashboard as an ASGI app: the page, its JSON API, and the two writes (token only)."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable, Mapping, Sequence
from functools import cache
from http import HTTPStatus
from importlib.resources import files
from typing import Any, Protocol, runtime_checkable

from pydantic import BaseModel
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from beehive.dashboard import _graph
from beehive.errors import BeeHiveError
from beehive.events import Event
from beehive.host import ActorHost
from beehive.queues._dead_letters import summary
from beehive.queues.base import QueueDepth
from beehive.web._requests import BadRequest, answer, check_token, read_json
from beehive.web._send import Sending

logger = logging.getLogger("beehive.dashboard")

RATE_WINDOW = 10.0
"""Seconds over which per-actor rates are averaged."""
_STATIC = {
    "index.html": "text/html; charset=utf-8",
    "app.js": "text/javascript; charset=utf-8",
    "app.css": "text/css; charset=utf-8",
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
    """The live dashboard of ``host``, an ASGI app: serve it, or mount it in your own app.

    ``token`` enables the writes, replay and send (without it the dashboard is read-only);
    ``journey`` (a :class:`Journal` or a coroutine function) feeds the journey search. Dead
    letters are peeked at most every ``refresh`` seconds, whatever the number of pages
    polling. The page uses relative links, so it works under any mount path.
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
        self._app = Starlette(
            routes=[
                Route("/", self._page, methods=["GET"]),
                Route("/index.html", self._page, methods=["GET"]),
                Route("/static/{name}", self._file, methods=["GET"]),
                Route("/api/state", self._state, methods=["GET"]),
                Route("/api/graph.svg", self._graph, methods=["GET"]),
                Route("/api/journey", self._journey_of, methods=["GET"]),
                Route("/api/replay", self._replay, methods=["POST"]),
                Route("/api/send", Sending(host, token).send, methods=["POST"]),
            ]
        )

    def __repr__(self) -> str:  # never the token
        return f"Dashboard(writes={'on' if self._token else 'off'})"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self._app(scope, receive, send)

    @property
    def _sources(self) -> list[str]:
        return sorted({d.source for d in self._host.descriptors})

    async def _page(self, request: Request) -> Response:
        return _file_response("index.html")

    async def _file(self, request: Request) -> Response:
        name = request.path_params["name"]
        if name not in _STATIC:
            return answer({"error": "not found"}, HTTPStatus.NOT_FOUND)
        return _file_response(name)

    async def _state(self, request: Request) -> Response:
        return answer(await self.state())

    async def _graph(self, request: Request) -> Response:
        svg = _graph.render(self._host.descriptors)
        return Response(svg, media_type="image/svg+xml", headers=_SECURITY)

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
            "event_types": sorted({d.queue.topic for d in self._host.descriptors}),
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
        queues = []
        for source in self._sources:
            row: dict[str, Any] = {"name": source, "active": None, "leased": None}
            row["dead_lettered"] = len(dead[source]) if source in dead else None
            try:
                async with asyncio.timeout(self._peek_timeout):
                    found: QueueDepth = await self._host.operator.depth(source)
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
        rows.sort(key=lambda row: row["timestamp"] or "", reverse=True)  # unknown ones last
        return rows[: self._recent]

    async def _journey_of(self, request: Request) -> Response:
        if self._journey is None:
            return answer({"configured": False, "entries": []})
        correlation_id = request.query_params.get("correlation_id", "")
        if not correlation_id:
            return answer({"error": "give ?correlation_id=..."}, HTTPStatus.BAD_REQUEST)
        try:
            entries = await self._journey(correlation_id)
        except Exception as error:  # the journal's store may be away: say so, stay up
            logger.warning("journey of %s failed: %s", correlation_id, error)
            return answer(
                {"error": f"the journal could not be read: {type(error).__name__}"},
                HTTPStatus.SERVICE_UNAVAILABLE,
            )
        return answer({"configured": True, "entries": [_plain(entry) for entry in entries]})

    # -- writes (send is beehive.web's route, shared with the endpoint) ------------------------

    async def _replay(self, request: Request) -> Response:
        try:
            check_token(request, self._token, "replay")
            queue, event_id = _replay_request(await read_json(request))
            if queue not in self._sources:
                raise BadRequest(HTTPStatus.NOT_FOUND, f"{queue} is no queue of this host")
        except BadRequest as refused:
            return refused.response()
        try:
            count = await self._host.operator.replay_dead_letters(queue, ids=[event_id])
        except BeeHiveError as error:
            return answer({"error": str(error)}, HTTPStatus.CONFLICT)
        finally:
            self._dead_at = float("-inf")  # show the change on the next poll
        if not count:
            missing = f"no dead letter {event_id} in {queue} (replayed or purged already?)"
            return answer({"replayed": 0, "error": missing}, HTTPStatus.NOT_FOUND)
        logger.info("dashboard replayed %d dead letter(s) %s into %s", count, event_id, queue)
        return answer({"replayed": count})


def _replay_request(asked: Any) -> tuple[str, str]:
    queue = asked.get("queue") if isinstance(asked, dict) else None
    event_id = asked.get("id") if isinstance(asked, dict) else None
    if not isinstance(queue, str) or not isinstance(event_id, str):
        raise BadRequest(HTTPStatus.BAD_REQUEST, 'send {"queue": "...", "id": "..."}')
    return queue, event_id


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


def _file_response(name: str) -> Response:
    return Response(_static(name), media_type=_STATIC[name], headers=_SECURITY)
