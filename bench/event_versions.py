"""What event versions cost: reading a body, and a host upcasting old events, measured.

1. ``Event.body_as`` of an unversioned model against a versioned one (the version check on
   every read), and ``Event(model)`` (the version stamp on every write).
2. A one-actor host (each event read with ``body_as``) fed current events with no upcasters,
   current events with upcasters given (the lookup per message), and version-1 events
   upcast through two steps; prints messages per second and ratios against the first.

    .venv/bin/python bench/event_versions.py [--events 20000] [--reads 200000] [--rounds 5]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import time
from typing import Any

from pydantic import BaseModel

from beehive import ActorDescriptor, ActorHost, Event, Upcasters, event_version
from beehive.queues import InMemoryQueueOperator


class Plain(BaseModel):
    order_id: str
    total_cents: int


@event_version(3)
class Order(BaseModel):
    order_id: str
    total_cents: int


upcasters = Upcasters()
upcasters.add(Order, 1, lambda body: {**body, "total": body.pop("amount")})
upcasters.add(Order, 2, lambda body: {**body, "total_cents": round(body.pop("total") * 100)})


def per_second(count: int, action: Any) -> float:
    started = time.perf_counter()
    for _ in range(count):
        action()
    return count / (time.perf_counter() - started)


class Reader:
    async def process(self, event: Event) -> list[Event]:
        event.body_as(Order)
        return []


async def host_rate(events: list[Event], given: Upcasters | None) -> float:
    operator = InMemoryQueueOperator()
    descriptor = ActorDescriptor(Reader, "Order-Read", parallelism=8)
    async with ActorHost(operator, [descriptor], upcasters=given, poll_wait=1):
        await operator.push_batch(events)
        started = time.perf_counter()
        await operator.wait_idle(600)
        return len(events) / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--reads", type=int, default=200_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    logging.disable(logging.INFO)

    plain = Event(Plain(order_id="o", total_cents=1))
    versioned = Event(Order(order_id="o", total_cents=1))
    reads = [
        ("body_as, unversioned model", per_second(args.reads, lambda: plain.body_as(Plain))),
        ("body_as, versioned model", per_second(args.reads, lambda: versioned.body_as(Order))),
        (
            "Event(model), unversioned",
            per_second(args.reads, lambda: Event(Plain(order_id="o", total_cents=1))),
        ),
        (
            "Event(model), versioned",
            per_second(args.reads, lambda: Event(Order(order_id="o", total_cents=1))),
        ),
    ]
    for name, rate in reads:
        print(f"{name:32} {rate:>12,.0f} /s")

    current = [Event(Order(order_id=f"o-{i}", total_cents=i)) for i in range(args.events)]
    old = [
        Event(event_type="Order", body=f'{{"order_id": "o-{i}", "amount": 1.5}}')
        for i in range(args.events)
    ]
    configurations = [
        ("host, no upcasters", current, None),
        ("host, upcasters, current events", current, upcasters),
        ("host, version 1 upcast to 3", old, upcasters),
    ]
    best = dict.fromkeys((name for name, _, _ in configurations), 0.0)
    for _ in range(args.rounds):  # interleaved rounds, best of each: a shared machine is noisy
        for name, events, given in configurations:
            best[name] = max(best[name], asyncio.run(host_rate(events, given)))
    base = best["host, no upcasters"]
    for name, rate in best.items():
        print(f"{name:32} {rate:>12,.0f} msg/s   x{rate / base:.2f}")


if __name__ == "__main__":
    main()
