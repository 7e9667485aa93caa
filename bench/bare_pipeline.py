"""The bare pipeline: the lower bound ``host_throughput.py`` and ``prismo_orders.py`` compare to.

What an in-memory actor host must do per hop, and nothing more: lease a message from an
asyncio queue of bytes (with an in-flight entry, as a lease), validate it into a pydantic
event, run the actor, publish what it returned (serialized, to every subscription of its
topic), complete the lease. No dependency injection, no retries, no dead letters, no
bookkeeping, no yielding between messages (so its first actor drains its queue before the
second starts: unfair, and cheaper). The design of the bare pipeline earlier sessions measured
against, kept in the repository so that anyone can rerun the comparison.

    .venv/bin/python bench/bare_pipeline.py [--events 20000] [--workers 1 8 64]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from uuid import uuid4

from pydantic import BaseModel


class Event(BaseModel):
    id: str
    event_type: str
    timestamp: datetime
    body: str
    queue_name: str
    correlation_id: str | None = None


Actor = Callable[[Event], Awaitable[list[Event]]]


class Bus:
    """Topics whose subscriptions are asyncio queues of serialized events, and leases."""

    def __init__(self) -> None:
        self.subscriptions: dict[str, list[asyncio.Queue[bytes]]] = {}
        self.in_flight: dict[int, bytes] = {}
        self._tokens = itertools.count()

    def subscribe(self, topic: str) -> asyncio.Queue[bytes]:
        queue: asyncio.Queue[bytes] = asyncio.Queue()
        self.subscriptions.setdefault(topic, []).append(queue)
        return queue

    async def publish(self, event: Event) -> None:
        data = event.model_dump_json().encode()
        for queue in self.subscriptions.get(event.event_type, ()):
            queue.put_nowait(data)

    async def lease(self, queue: asyncio.Queue[bytes]) -> tuple[int, bytes]:
        data = await queue.get()
        token = next(self._tokens)
        self.in_flight[token] = data
        return token, data

    async def complete(self, token: int) -> None:
        del self.in_flight[token]


async def worker(bus: Bus, queue: asyncio.Queue[bytes], actor: Actor) -> None:
    while True:
        token, data = await bus.lease(queue)
        event = Event.model_validate_json(data)
        for out in await actor(event):
            await bus.publish(out)
        await bus.complete(token)


def new_event(event_type: str, body: str, correlation_id: str | None = None) -> Event:
    return Event(
        id=str(uuid4()),
        event_type=event_type,
        timestamp=datetime.now(UTC),
        body=body,
        queue_name=event_type,
        correlation_id=correlation_id,
    )


async def run(events: int, workers: int) -> float:
    """Seconds for ``events`` events through a no-op two-actor chain (A -> B), from the first
    publish to the last completion: ``2 * events`` hops."""
    bus = Bus()
    done = asyncio.Event()
    remaining = events

    async def first(event: Event) -> list[Event]:
        return [new_event("B", event.body, event.id)]

    async def second(event: Event) -> list[Event]:
        nonlocal remaining
        remaining -= 1
        if remaining == 0:
            done.set()
        return []

    a, b = bus.subscribe("A"), bus.subscribe("B")
    tasks = [asyncio.create_task(worker(bus, a, first)) for _ in range(workers)]
    tasks += [asyncio.create_task(worker(bus, b, second)) for _ in range(workers)]
    started = time.perf_counter()
    for i in range(events):
        await bus.publish(new_event("A", f'{{"order_id": {i}, "amount": 9.95}}'))
    await done.wait()
    seconds = time.perf_counter() - started
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 8, 64])
    args = parser.parse_args()
    for workers in args.workers:
        seconds = asyncio.run(run(args.events, workers))
        print(f"workers {workers:>3}: {2 * args.events / seconds:,.0f} hops/s")


if __name__ == "__main__":
    main()
