"""What the virtual clock buys: simulated time run through, per real second, measured.

Orders each go through a chain of retries a minute apart (``Retry(delay=60)``, three
attempts) then publish; the harness waits until idle. On the virtual clock the whole run takes
real milliseconds; the figures are the real seconds, the simulated seconds, their ratio, and
the real cost of the same work with no delays on the real clock (the floor the clock adds to).

    .venv/bin/python bench/virtual_clock.py [--orders 200] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import time

from pydantic import BaseModel

from beehive import ActorDescriptor, Event, Retry
from beehive.testing import ActorHarness, VirtualClock


class Order(BaseModel):
    n: int


class Shipped(BaseModel):
    n: int


class Retrying:
    delay = 60.0

    async def process(self, event: Event) -> list[Event]:
        if event.delivery_count < 3:
            raise Retry("not yet", delay=Retrying.delay)
        return [Event(Shipped(n=event.body_as(Order).n))]


async def once(orders: int, clock: VirtualClock | None) -> tuple[float, float]:
    """Real and simulated seconds for ``orders`` orders through the chain."""
    descriptor = ActorDescriptor(Retrying, "Order-Ship", parallelism=8, emits=(Shipped,))
    started = time.perf_counter()
    async with ActorHarness([descriptor], clock=clock) as hive:
        await hive.publish(*(Event(Order(n=n)) for n in range(orders)))
        await hive.wait_idle(timeout=None if clock else 60)
        assert len(hive.published(Shipped)) == orders
    simulated = clock.elapsed.total_seconds() if clock else 0.0
    return time.perf_counter() - started, simulated


async def main(orders: int, rounds: int) -> None:
    virtual: list[tuple[float, float]] = []
    floor: list[float] = []
    for _ in range(rounds):
        Retrying.delay = 60.0
        virtual.append(await once(orders, VirtualClock()))
        Retrying.delay = 0.0
        floor.append((await once(orders, None))[0])
    real, simulated = min(virtual)
    base = min(floor)
    print(f"{orders} orders, 3 attempts a minute apart, best of {rounds}:")
    print(f"  virtual clock: {real * 1000:8.1f} ms real for {simulated:g} s simulated")
    print(f"                 {simulated / real:8.0f} simulated seconds per real second")
    print(f"  real clock, no delays: {base * 1000:8.1f} ms (the same work)")
    print(f"  ratio virtual / no delays: {real / base:.2f}")


if __name__ == "__main__":
    logging.disable(logging.WARNING)
    cli = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    cli.add_argument("--orders", type=int, default=200)
    cli.add_argument("--rounds", type=int, default=3)
    options = cli.parse_args()
    asyncio.run(main(options.orders, options.rounds))
