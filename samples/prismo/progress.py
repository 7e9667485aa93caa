"""A live status line on a terminal, redrawn a few times a second while a run goes on."""

from __future__ import annotations

import asyncio
import time
from types import TracebackType
from typing import Self, TextIO

from beehive import ActorHost
from samples.prismo.summary import events_published


class Progress:
    """Draws ``shipped · cancelled · events · events/s`` on ``stream`` (nothing if None)."""

    def __init__(
        self, host: ActorHost, orders: int, stream: TextIO | None, *, interval: float = 0.2
    ) -> None:
        self._host = host
        self._orders = orders
        self._stream = stream
        self._interval = interval
        self._started = time.perf_counter()
        self._task: asyncio.Task[None] | None = None

    def line(self) -> str:
        stats = self._host.stats()
        shipped = sum(s.succeeded for n, s in stats.items() if n.startswith("FulfilmentActor@"))
        cancelled = sum(s.succeeded for n, s in stats.items() if n.startswith("CancelOrderActor@"))
        events = events_published(stats)
        elapsed = time.perf_counter() - self._started
        rate = events / elapsed if elapsed else 0.0
        settled = shipped + cancelled
        return (
            f"orders {settled:,}/{self._orders:,} settled · shipped {shipped:,} · "
            f"cancelled {cancelled:,} · events {events:,} · {rate:,.0f}/s · {elapsed:.1f}s"
        )

    async def _draw(self, stream: TextIO) -> None:
        while True:
            stream.write(f"\r\x1b[K{self.line()}")
            stream.flush()
            await asyncio.sleep(self._interval)

    async def __aenter__(self) -> Self:
        self._started = time.perf_counter()
        if self._stream is not None:
            self._task = asyncio.create_task(self._draw(self._stream))
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._task is not None and self._stream is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._stream.write("\r\x1b[K")
            self._stream.flush()
