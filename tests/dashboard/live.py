"""A host with the dashboard, running on an event loop in a thread of its own.

Browser tests drive a blocking WebDriver, so the host lives beside them: ``call`` runs a
coroutine on the host's loop and waits for its result.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine, Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from typing import Any, TypeVar

from beehive import ActorHost, discover
from beehive.backoff import Backoff
from beehive.dashboard import Dashboard, Journal, Journey
from beehive.queues.memory import InMemoryQueueOperator
from beehive.web import Server, endpoint

T = TypeVar("T")
SHOP = "tests.dashboard.shop"


class LiveHost:
    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.operator: InMemoryQueueOperator
        self.host: ActorHost
        self.server: Server

    def call(self, coroutine: Coroutine[Any, Any, T], timeout: float = 30) -> T:
        future: Future[T] = asyncio.run_coroutine_threadsafe(coroutine, self.loop)
        return future.result(timeout)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.port}/"


@contextmanager
def live_host(
    *, token: str | None = None, journey: Journal | Journey | None = None
) -> Iterator[LiveHost]:
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="dashboard-host", daemon=True)
    thread.start()
    live = LiveHost(loop)

    async def start() -> None:
        live.operator = InMemoryQueueOperator()
        live.host = ActorHost(
            live.operator, discover(SHOP), poll_wait=0.2, backoff=Backoff(0.01, 2, 0.05)
        )
        await live.host.start()
        dashboard = Dashboard(live.host, token=token, journey=journey, refresh=0.2)
        live.server = Server(endpoint(live.host, dashboard=dashboard), "127.0.0.1", 0)
        await live.server.start()

    async def stop() -> None:
        await live.server.aclose()
        await live.host.stop(1)
        await live.operator.close()

    try:
        live.call(start())
        yield live
    finally:
        try:
            live.call(stop())
        finally:
            loop.call_soon_threadsafe(loop.stop)
            thread.join(10)
            loop.close()
