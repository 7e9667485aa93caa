"""A two-hop chain on RabbitMQ: raw aio-pika, beehive and its peers, interleaved.

Every contender takes ``--events`` persistent messages, seeded before the clock starts,
through a consumer A that publishes one persistent message per message with a publisher
confirm, then acks, and a consumer B that acks; with a prefetch and ``--concurrency``
handlers per queue. Raw aio-pika is the floor of the client library and the baseline of the
ratios. Contenders run in turn, A/B/A/B, over ``--rounds`` rounds; each prints hops per
second (min and median), client CPU time per hop (this process, all threads, from
``getrusage``: the broker's own CPU is not counted) and wall time per hop. Then the latency of
one event through both hops on an idle chain (p50 over ``--probes`` events).

- aio-pika: fanout exchanges ``A`` and ``B`` and queues ``A-Work`` and ``B-Work``, declared by
  beehive (quorum queues, or ``--classic``); one connection.
- beehive: an ``ActorHost`` with two actors on the same topology (``RabbitMQQueueOperator``,
  publishing and consuming on two connections).
- FastStream: a subscriber with a publisher decorator, on the same topology.
- Dramatiq: its ``RabbitmqBroker`` (pika, a thread per worker, publisher confirms on) and a
  ``Worker`` with ``--concurrency`` threads; its own queues (classic, with its delay and
  dead-letter queues).
- taskiq: ``taskiq-aio-pika``'s broker and an in-process receiver; both tasks on its one
  queue (classic), ``qos`` and ``max_async_tasks`` = ``--concurrency``.

The peers are bench-only dependencies, in no extra of the package:

    .venv/bin/pip install -r bench/requirements.txt
    BEEHIVE_RABBITMQ_URL=amqp://guest:guest@127.0.0.1:5672/ \\
        .venv/bin/python bench/rabbitmq_throughput.py [--events 5000] [--rounds 3] [--classic]

A peer that is not installed is skipped, with the line to install it.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import statistics
import sys
import threading
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import aio_pika
from _rounds import Sample, cpu_seconds, interleave, report

from beehive import ActorDescriptor, ActorHost, Event
from beehive.queues.rabbitmq import RabbitMQQueueOperator

URL = os.environ.get("BEEHIVE_RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672/")
TIMEOUT = 300.0

SEMANTICS = {
    "aio-pika": "the client alone: no envelope, no retries, no dead letters",
    "beehive": "events as envelopes (id, correlation, causation), retries with backoff and "
    "dead letters, delivery counts, prefetch sized to the actor's parallelism",
    "faststream": "JSON bodies through its serialiser and dependency injection; no retries",
    "dramatiq": "pika in a thread per worker, JSON messages, its Retries middleware",
    "taskiq": "both tasks on one queue, results not stored, no retries",
}
INSTALL = "pip install -r bench/requirements.txt"


class Counter:
    """Counts the messages B took, and says when all of them are in (from any thread)."""

    def __init__(self, expected: int) -> None:
        self.expected, self.count = expected, 0
        self._lock = threading.Lock()
        self.done = threading.Event()
        try:
            self._loop: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:  # Dramatiq's: waited on from a thread
            self._loop = None
        self._all_in = asyncio.Event()

    def tick(self) -> None:
        with self._lock:
            self.count += 1
            if self.count == self.expected:
                self.done.set()
                if self._loop is not None:
                    self._loop.call_soon_threadsafe(self._all_in.set)

    async def wait(self) -> None:
        await self._all_in.wait()


# A chain: started with a counter of B's messages, it runs until the context exits; ``send``
# puts one more message on A (for the latency probe).
Chain = Callable[[str, int, Counter], AbstractAsyncContextManager[Callable[[], Awaitable[None]]]]


# -- the shared topology (aio-pika, beehive, FastStream) --------------------------------------


@asynccontextmanager
async def topology(prefix: str, classic: bool) -> AsyncIterator[RabbitMQQueueOperator]:
    queue_type = "classic" if classic else "quorum"
    async with RabbitMQQueueOperator(URL, queue_type=queue_type) as operator:
        await operator.setup_queue(f"{prefix}A-Work")
        await operator.setup_queue(f"{prefix}B-Work")
        try:
            yield operator
        finally:
            for topic in ("A", "B"):
                await operator.delete_queue(f"{prefix}{topic}")


async def seed_topic(operator: RabbitMQQueueOperator, prefix: str, events: int) -> None:
    batch = [Event(event_type=f"{prefix}A", body=f'{{"n": {i}}}') for i in range(events)]
    for start in range(0, events, 500):
        await operator.push_batch(batch[start : start + 500])


def persistent(body: bytes) -> aio_pika.Message:
    return aio_pika.Message(
        body, message_id=str(uuid.uuid4()), delivery_mode=aio_pika.DeliveryMode.PERSISTENT
    )


@asynccontextmanager
async def aio_pika_chain(
    prefix: str, concurrency: int, counter: Counter
) -> AsyncIterator[Callable[[], Awaitable[None]]]:
    async with await aio_pika.connect_robust(URL) as connection:
        publisher = await connection.channel()  # publisher confirms: aio-pika's default
        exchange_a = await publisher.get_exchange(f"{prefix}A", ensure=False)
        exchange_b = await publisher.get_exchange(f"{prefix}B", ensure=False)
        queues = []
        for name in ("A-Work", "B-Work"):
            channel = await connection.channel()
            await channel.set_qos(prefetch_count=concurrency)
            queues.append(await channel.get_queue(f"{prefix}{name}", ensure=False))

        async def on_a(message: aio_pika.abc.AbstractIncomingMessage) -> None:
            await exchange_b.publish(persistent(message.body), routing_key="")
            await message.ack()

        async def on_b(message: aio_pika.abc.AbstractIncomingMessage) -> None:
            await message.ack()
            counter.tick()

        await queues[0].consume(on_a)
        await queues[1].consume(on_b)
        yield partial(exchange_a.publish, persistent(b'{"n": -1}'), routing_key="")


@asynccontextmanager
async def beehive_chain(
    prefix: str, concurrency: int, counter: Counter
) -> AsyncIterator[Callable[[], Awaitable[None]]]:
    class Forward:
        async def process(self, event: Event) -> list[Event]:
            return [Event(event_type=f"{prefix}B", body=event.body)]

    class Sink:
        async def process(self, event: Event) -> list[Event]:
            counter.tick()
            return []

    async with RabbitMQQueueOperator(URL) as operator:
        host = ActorHost(
            operator,
            [
                ActorDescriptor(Forward, f"{prefix}A-Work", parallelism=concurrency),
                ActorDescriptor(Sink, f"{prefix}B-Work", parallelism=concurrency),
            ],
            poll_wait=1.0,
        )
        async with host:
            yield partial(operator.push, Event(event_type=f"{prefix}A", body='{"n": -1}'))


@asynccontextmanager
async def faststream_chain(
    prefix: str, concurrency: int, counter: Counter
) -> AsyncIterator[Callable[[], Awaitable[None]]]:
    from faststream.rabbit import (
        Channel,
        ExchangeType,
        RabbitBroker,
        RabbitExchange,
        RabbitQueue,
    )

    broker = RabbitBroker(URL, default_channel=Channel(prefetch_count=concurrency), logger=None)
    exchange_a, exchange_b = (
        RabbitExchange(f"{prefix}{name}", type=ExchangeType.FANOUT, declare=False) for name in "AB"
    )

    @broker.subscriber(RabbitQueue(f"{prefix}A-Work", declare=False))
    @broker.publisher(exchange=exchange_b, persist=True)
    async def forward(body: dict[str, int]) -> dict[str, int]:
        return body

    @broker.subscriber(RabbitQueue(f"{prefix}B-Work", declare=False))
    async def sink(body: dict[str, int]) -> None:
        counter.tick()

    await broker.start()
    try:
        yield partial(broker.publish, {"n": -1}, exchange=exchange_a, persist=True)
    finally:
        await broker.stop()


async def shared_topology(chain: Chain, events: int, concurrency: int, classic: bool) -> Sample:
    """Seed the shared topology, then time the chain until B took every event."""
    prefix = f"bench{uuid.uuid4().hex[:8]}"
    counter = Counter(events)
    async with topology(prefix, classic) as operator:
        await seed_topic(operator, prefix, events)
        cpu, wall = cpu_seconds(), time.perf_counter()
        async with chain(prefix, concurrency, counter):
            await asyncio.wait_for(counter.wait(), TIMEOUT)
            wall, cpu = time.perf_counter() - wall, cpu_seconds() - cpu
    return Sample(2 * events, wall, cpu)


async def latency(chain: Chain, concurrency: int, probes: int, classic: bool) -> list[float]:
    """Seconds from publishing one event on A until B took it, on an idle chain, each."""
    prefix = f"bench{uuid.uuid4().hex[:8]}"
    counter = Counter(probes)
    taken: list[float] = []
    async with topology(prefix, classic), chain(prefix, concurrency, counter) as send:
        for probe in range(probes):
            started = time.perf_counter()
            await send()
            while counter.count <= probe:  # noqa: ASYNC110 - B's count is the signal
                await asyncio.sleep(0)
            taken.append(time.perf_counter() - started)
    return taken


# -- peers with topologies of their own --------------------------------------------------------


def dramatiq_run(events: int, concurrency: int) -> Sample:
    import dramatiq
    from dramatiq.brokers.rabbitmq import RabbitmqBroker

    prefix = f"bench{uuid.uuid4().hex[:8]}"
    broker = RabbitmqBroker(url=URL, confirm_delivery=True)
    counter = Counter(events)

    @dramatiq.actor(broker=broker, queue_name=f"{prefix}B", max_retries=0)
    def sink(n: int) -> None:
        counter.tick()

    @dramatiq.actor(broker=broker, queue_name=f"{prefix}A", max_retries=0)
    def forward(n: int) -> None:
        sink.send(n)

    try:
        broker.declare_queue(f"{prefix}B")
        for n in range(events):
            forward.send(n)
        worker = dramatiq.Worker(broker, worker_threads=concurrency, worker_timeout=100)
        worker.queue_prefetch = concurrency  # its default is twice the threads
        cpu, wall = cpu_seconds(), time.perf_counter()
        worker.start()
        finished = counter.done.wait(TIMEOUT)
        wall, cpu = time.perf_counter() - wall, cpu_seconds() - cpu
        worker.stop()
        if not finished:
            sys.exit(f"dramatiq: {counter.count} of {events} in {TIMEOUT:g} s")
    finally:
        for queue in (f"{prefix}A", f"{prefix}B"):
            for name in (queue, f"{queue}.DQ", f"{queue}.XQ"):
                broker.channel.queue_delete(name)
        broker.close()
    return Sample(2 * events, wall, cpu)


async def taskiq_run(events: int, concurrency: int, classic: bool) -> Sample:
    from taskiq.receiver import Receiver
    from taskiq_aio_pika import AioPikaBroker
    from taskiq_aio_pika.exchange import Exchange
    from taskiq_aio_pika.queue import Queue, QueueType

    prefix = f"bench{uuid.uuid4().hex[:8]}"
    kind = QueueType.CLASSIC if classic else QueueType.QUORUM
    queues = {f"{prefix}.{part}": Queue(name=f"{prefix}.{part}", type=kind) for part in "tdl"}
    broker = AioPikaBroker(
        URL,
        qos=concurrency,
        exchange=Exchange(name=prefix),
        task_queues=[queues[f"{prefix}.t"]],
        dead_letter_queue=queues[f"{prefix}.d"],
        delay_queue=queues[f"{prefix}.l"],
    )
    broker.is_worker_process = True
    counter = Counter(events)

    @broker.task
    async def sink(n: int) -> None:
        counter.tick()

    @broker.task
    async def forward(n: int) -> None:
        await sink.kiq(n)

    await broker.startup()
    try:
        for n in range(events):
            await forward.kiq(n)
        finish = asyncio.Event()
        receiver = Receiver(broker, max_async_tasks=concurrency, run_startup=False)
        cpu, wall = cpu_seconds(), time.perf_counter()
        listening = asyncio.create_task(receiver.listen(finish))
        await asyncio.wait_for(counter.wait(), TIMEOUT)
        wall, cpu = time.perf_counter() - wall, cpu_seconds() - cpu
        finish.set()
        await asyncio.wait_for(listening, 30)
    finally:
        assert broker.write_channel is not None
        for name in queues:
            await broker.write_channel.queue_delete(name)
        await broker.write_channel.exchange_delete(prefix)
        await broker.shutdown()
    return Sample(2 * events, wall, cpu)


# -- main ---------------------------------------------------------------------------------------


def installed(module: str) -> bool:
    try:
        __import__(module)
    except ImportError:
        print(f"{module}: not installed, skipped ({INSTALL})")
        return False
    return True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=5000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds (>= 3)")
    parser.add_argument("--probes", type=int, default=200, help="events for the latency p50")
    parser.add_argument("--classic", action="store_true", help="classic queues, not quorum")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    events, concurrency, classic = args.events, args.concurrency, args.classic

    def shared(chain: Chain) -> Callable[[], Sample]:
        return lambda: asyncio.run(shared_topology(chain, events, concurrency, classic))

    contenders: list[tuple[str, Callable[[], Sample]]] = [
        ("aio-pika", shared(aio_pika_chain)),
        ("beehive", shared(beehive_chain)),
    ]
    if installed("faststream.rabbit"):
        contenders.append(("faststream", shared(faststream_chain)))
    if installed("dramatiq.brokers.rabbitmq"):
        contenders.append(("dramatiq", partial(dramatiq_run, events, concurrency)))
    if installed("taskiq_aio_pika"):
        contenders.append(("taskiq", lambda: asyncio.run(taskiq_run(events, concurrency, classic))))
    print(f"RabbitMQ at {URL.split('@')[-1]}; what each contender does per message:")
    for name, _ in contenders:
        print(f"  {name:<11} {SEMANTICS[name]}")
    runs = interleave(contenders, args.rounds)
    report(
        runs,
        title=f"two-hop chain, {events} persistent events with publisher confirms, "
        f"{'classic' if classic else 'quorum'} queues, prefetch = handlers = {concurrency}, "
        f"{args.rounds} interleaved rounds (client CPU: this process only):",
    )
    print(f"latency of one event through both hops on an idle chain, p50 of {args.probes}:")
    chains = {"aio-pika": aio_pika_chain, "beehive": beehive_chain}
    p50 = {
        name: statistics.median(asyncio.run(latency(chain, concurrency, args.probes, classic)))
        for name, chain in chains.items()
    }
    for name, seconds in p50.items():
        print(f"  {name:<11} {seconds * 1e3:7.2f} ms")
    print(f"  beehive / aio-pika: {p50['beehive'] / p50['aio-pika']:.2f}x")


if __name__ == "__main__":
    main()
