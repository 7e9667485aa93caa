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
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

from pydantic import BaseModel

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _rounds import Sample, interleave, measure, report

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


def repeated(count: int, action: Callable[[], object]) -> Callable[[], Sample]:
    def run() -> None:
        for _ in range(count):
            action()

    return partial(measure, count, run)


class Reader:
    async def process(self, event: Event) -> list[Event]:
        event.body_as(Order)
        return []


async def host_run(events: list[Event], given: Upcasters | None) -> float:
    operator = InMemoryQueueOperator()
    descriptor = ActorDescriptor(Reader, "Order-Read", parallelism=8)
    async with ActorHost(operator, [descriptor], upcasters=given, poll_wait=1):
        await operator.push_batch(events)
        started = time.perf_counter()
        await operator.wait_idle(600)
        return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--reads", type=int, default=200_000)
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds (>= 3)")
    args = parser.parse_args()
    logging.disable(logging.INFO)

    plain = Event(Plain(order_id="o", total_cents=1))
    versioned = Event(Order(order_id="o", total_cents=1))
    reads = args.reads
    report(
        interleave(
            [
                ("body_as, unversioned", repeated(reads, lambda: plain.body_as(Plain))),
                ("body_as, versioned", repeated(reads, lambda: versioned.body_as(Order))),
            ],
            args.rounds,
        ),
        unit="read",
        title=f"{reads:,} reads, {args.rounds} interleaved rounds:",
    )
    report(
        interleave(
            [
                (
                    "Event(model), unversioned",
                    repeated(reads, lambda: Event(Plain(order_id="o", total_cents=1))),
                ),
                (
                    "Event(model), versioned",
                    repeated(reads, lambda: Event(Order(order_id="o", total_cents=1))),
                ),
            ],
            args.rounds,
        ),
        unit="write",
        title=f"\n{reads:,} writes, {args.rounds} interleaved rounds:",
    )

    current = [Event(Order(order_id=f"o-{i}", total_cents=i)) for i in range(args.events)]
    old = [
        Event(event_type="Order", body=f'{{"order_id": "o-{i}", "amount": 1.5}}')
        for i in range(args.events)
    ]

    def hosted(events: list[Event], given: Upcasters | None) -> Callable[[], Sample]:
        return partial(measure, len(events), lambda: asyncio.run(host_run(events, given)))

    report(
        interleave(
            [
                ("host, no upcasters", hosted(current, None)),
                ("host, upcasters, current", hosted(current, upcasters)),
                ("host, version 1 upcast to 3", hosted(old, upcasters)),
            ],
            args.rounds,
        ),
        unit="msg",
        title=f"\n{args.events:,} messages through a one-actor host, {args.rounds} interleaved "
        "rounds:",
    )


if __name__ == "__main__":
    main()
