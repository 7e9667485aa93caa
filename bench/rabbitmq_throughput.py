"""Throughput of a two-hop chain on the local RabbitMQ: raw aio-pika, beehive, FastStream.

Each run gets its own topology, declared the same way (beehive's: fanout exchanges ``A`` and
``B``, quorum queues ``A-Work`` and ``B-Work``), is seeded with the same ``N`` events on
``A`` (not timed), then times consuming them all: ``A-Work`` publishes each to ``B`` (with a
publisher confirm) and acks, ``B-Work`` acks. That is two hops per event; every run uses the
same prefetch and concurrency. Raw aio-pika is the floor of the client library.

    python bench/rabbitmq_throughput.py [--events 2000] [--concurrency 8] [--classic] \
        [--rounds 3]

The contenders run interleaved, round by round (see ``bench/_rounds.py``).

FastStream is a benchmark-only dependency: ``pip install 'faststream[rabbit]'``; without it
that run is skipped with a message.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from functools import partial
from pathlib import Path

import aio_pika

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _rounds import Sample, interleave, measure, median, report

from beehive import ActorDescriptor, ActorHost, Event
from beehive.queues.rabbitmq import RabbitMQQueueOperator

URL = "amqp://guest:guest@127.0.0.1:5672/"

Run = Callable[[str, int, int], Awaitable[float]]


async def topology(operator: RabbitMQQueueOperator, prefix: str, events: int) -> None:
    """Declare the chain's topics and queues and seed ``events`` events on topic A."""
    await operator.setup_queue(f"{prefix}A-Work")
    await operator.setup_queue(f"{prefix}B-Work")
    seed = [Event(event_type=f"{prefix}A", body=f'{{"n": {i}}}') for i in range(events)]
    for start in range(0, events, 500):
        await operator.push_batch(seed[start : start + 500])


async def run_aio_pika(prefix: str, events: int, concurrency: int) -> float:
    """Consume A, publish to B with a confirm, ack; consume B, ack: aio-pika and nothing else."""
    done = asyncio.Event()
    count = 0
    async with await aio_pika.connect_robust(URL) as connection:
        publisher = await connection.channel()
        exchange_b = await publisher.get_exchange(f"{prefix}B", ensure=False)
        consumer_a, consumer_b = await connection.channel(), await connection.channel()
        for channel in (consumer_a, consumer_b):
            await channel.set_qos(prefetch_count=concurrency)
        queue_a = await consumer_a.get_queue(f"{prefix}A-Work")
        queue_b = await consumer_b.get_queue(f"{prefix}B-Work")

        async def on_a(message: aio_pika.abc.AbstractIncomingMessage) -> None:
            await exchange_b.publish(
                aio_pika.Message(
                    message.body,
                    headers=message.headers,
                    message_id=str(uuid.uuid4()),
                    delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                ),
                routing_key="",
            )
            await message.ack()

        async def on_b(message: aio_pika.abc.AbstractIncomingMessage) -> None:
            nonlocal count
            await message.ack()
            count += 1
            if count == events:
                done.set()

        started = time.perf_counter()
        await queue_a.consume(on_a)
        await queue_b.consume(on_b)
        await done.wait()
        return time.perf_counter() - started


class Forward:
    """Actor A: pass the event on to topic B."""

    def __init__(self, target: str) -> None:
        self.target = target

    async def process(self, event: Event) -> list[Event]:
        return [Event(event_type=self.target, body=event.body)]


async def run_beehive(prefix: str, events: int, concurrency: int) -> float:
    """The same chain as two actors on an ActorHost over RabbitMQQueueOperator."""
    done = asyncio.Event()
    count = 0

    class Sink:
        """Actor B: count."""

        async def process(self, event: Event) -> list[Event]:
            nonlocal count
            count += 1
            if count == events:
                done.set()
            return []

    class ForwardToB(Forward):
        def __init__(self) -> None:
            super().__init__(f"{prefix}B")

    async with RabbitMQQueueOperator(URL) as operator:
        host = ActorHost(
            operator,
            [
                ActorDescriptor(ForwardToB, f"{prefix}A-Work", parallelism=concurrency),
                ActorDescriptor(Sink, f"{prefix}B-Work", parallelism=concurrency),
            ],
            poll_wait=1.0,
        )
        started = time.perf_counter()
        async with host:
            await done.wait()
            elapsed = time.perf_counter() - started
        return elapsed


async def run_faststream(prefix: str, events: int, concurrency: int) -> float:
    """The same chain with FastStream's RabbitBroker: subscriber + publisher decorators."""
    from faststream.rabbit import Channel, ExchangeType, RabbitBroker, RabbitExchange, RabbitQueue

    done = asyncio.Event()
    count = 0
    broker = RabbitBroker(URL, default_channel=Channel(prefetch_count=concurrency), logger=None)
    exchange_b = RabbitExchange(f"{prefix}B", type=ExchangeType.FANOUT, declare=False)

    @broker.subscriber(RabbitQueue(f"{prefix}A-Work", declare=False))
    @broker.publisher(exchange=exchange_b)
    async def forward(body: dict[str, int]) -> dict[str, int]:
        return body

    @broker.subscriber(RabbitQueue(f"{prefix}B-Work", declare=False))
    async def sink(body: dict[str, int]) -> None:
        nonlocal count
        count += 1
        if count == events:
            done.set()

    started = time.perf_counter()
    await broker.start()
    try:
        await done.wait()
        return time.perf_counter() - started
    finally:
        await broker.stop()


async def timed(run: Run, events: int, concurrency: int, classic: bool) -> float:
    """Seconds to consume ``events`` seeded events through a fresh topology (seeding and
    clean-up are not timed)."""
    prefix = f"bench{uuid.uuid4().hex[:6]}"
    queue_type = "classic" if classic else "quorum"
    async with RabbitMQQueueOperator(URL, queue_type=queue_type) as operator:
        await topology(operator, prefix, events)
        try:
            return await asyncio.wait_for(run(prefix, events, concurrency), timeout=120)
        finally:
            for topic in ("A", "B"):
                await operator.delete_queue(f"{prefix}{topic}-Work")
                await operator.delete_queue(f"{prefix}{topic}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--classic", action="store_true", help="classic queues, not quorum")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds (>= 3)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    runs: dict[str, Run] = {"aio-pika": run_aio_pika, "beehive": run_beehive}
    try:
        import faststream.rabbit  # noqa: F401
    except ImportError:
        print("faststream: not installed, skipped (pip install 'faststream[rabbit]')")
    else:
        runs["faststream"] = run_faststream
    hops = 2 * args.events

    def contender(run: Run) -> Sample:
        return measure(
            hops, lambda: asyncio.run(timed(run, args.events, args.concurrency, args.classic))
        )

    results = interleave(
        [(name, partial(contender, run)) for name, run in runs.items()], args.rounds
    )
    report(
        results,
        title=f"two-hop chain, {args.events:,} events, {'classic' if args.classic else 'quorum'} "
        f"queues, prefetch = concurrency = {args.concurrency}, {args.rounds} interleaved rounds "
        "(CPU time is this process's: the broker's own is not counted)",
    )
    rates = {run.name: median([s.rate for s in run.samples]) for run in results}
    print(f"beehive / aio-pika   = {rates['beehive'] / rates['aio-pika']:.2f} (hops/s, medians)")
    if "faststream" in rates:
        print(f"beehive / faststream = {rates['beehive'] / rates['faststream']:.2f}")


if __name__ == "__main__":
    main()
