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
import sys
import time
from functools import partial
from pathlib import Path

from pydantic import BaseModel

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _rounds import interleave, measure, median, report

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


def main(orders: int, rounds: int) -> None:
    simulated: list[float] = []

    def virtual() -> float:
        Retrying.delay = 60.0
        real, seconds = asyncio.run(once(orders, VirtualClock()))
        simulated.append(seconds)
        return real

    def floor() -> float:
        Retrying.delay = 0.0
        return asyncio.run(once(orders, None))[0]

    runs = interleave(
        [
            ("real clock, no delays", partial(measure, orders, floor)),
            ("virtual clock, 60 s delays", partial(measure, orders, virtual)),
        ],
        rounds,
    )
    report(
        runs,
        unit="order",
        title=f"{orders} orders, 3 attempts a minute apart, {rounds} interleaved rounds:",
    )
    real = median([s.wall for s in runs[1].samples])
    print(
        f"  virtual clock: {real * 1000:.1f} ms real for {median(simulated):g} s simulated, "
        f"{median(simulated) / real:,.0f} simulated seconds per real second (medians)"
    )


if __name__ == "__main__":
    logging.disable(logging.WARNING)
    cli = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    cli.add_argument("--orders", type=int, default=200)
    cli.add_argument("--rounds", type=int, default=3, help="interleaved rounds (>= 3)")
    options = cli.parse_args()
    main(options.orders, options.rounds)
