"""The same no-op two-actor chain on beehive and on its in-memory peers, interleaved.

Each contender takes ``--messages`` messages through actor A, which sends one message to
actor B, which does nothing; each runs in memory, in this process, with ``--concurrency``
as its concurrency bound where it has one:

- beehive: ``ActorHost`` on the in-memory broker (``parallelism`` per actor);
- Dramatiq: ``StubBroker`` and a ``Worker`` (worker threads, shared by both actors);
- taskiq: ``InMemoryBroker`` (``max_async_tasks``);
- FastStream: ``TestRabbitBroker`` (its test client: handlers called in the publisher's
  task), on ``--faststream-messages`` messages only, for it is much slower.

What each of them does per message differs (the table printed first says how): beehive
leases, settles and can retry and dead-letter every message, the others do less, so this
compares what a user gets for the price, not equal work. CPU time per message is the whole
run's (start-up and shut-down included).

The peers are bench-only dependencies, in no extra of the package:

    .venv/bin/pip install -r bench/requirements.txt
    .venv/bin/python bench/peers.py [--messages 100000] [--rounds 3] [--concurrency 8]

A peer that is not installed is skipped, with the line to install it.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import threading
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _rounds import Sample, interleave, measure, median, report
from host_throughput import First, Second  # the same no-op chain as the host bench

from beehive import ActorDescriptor, ActorHost, Event
from beehive.queues import InMemoryQueueOperator

SEMANTICS = {
    "beehive": "leased (lock, complete/abandon), retries with backoff, dead letters, "
    "parallelism per actor, events are envelopes with ids and correlation",
    "dramatiq": "JSON-encoded messages acked after the actor, Retries middleware, "
    "worker threads shared by every actor (the GIL serialises them)",
    "taskiq": "no queue and no lease: kiq starts the task at once in the loop, no ack, "
    "no retry unless a middleware adds it, max_async_tasks in flight",
    "faststream": "test client: handlers run inline in the publisher's task through "
    "mocks; no broker, no concurrency, no ack",
}


# -- beehive ----------------------------------------------------------------------------------


async def beehive_run(messages: int, concurrency: int) -> float:
    operator = InMemoryQueueOperator()
    Second.done, Second.remaining = asyncio.Event(), messages
    descriptors = [
        ActorDescriptor(First, "A-First", parallelism=concurrency, emits=("B",)),
        ActorDescriptor(Second, "B-Second", parallelism=concurrency),
    ]
    async with ActorHost(operator, descriptors):
        started = time.perf_counter()
        for i in range(messages):
            await operator.push(Event(event_type="A", body=f'{{"n": {i}}}'))
        await Second.done.wait()
        return time.perf_counter() - started


# -- Dramatiq ---------------------------------------------------------------------------------


def dramatiq_run(messages: int, concurrency: int) -> float:
    import dramatiq
    from dramatiq.brokers.stub import StubBroker

    broker = StubBroker()
    dramatiq.set_broker(broker)
    remaining = [messages]
    done = threading.Event()
    lock = threading.Lock()

    @dramatiq.actor(broker=broker, queue_name="b", max_retries=0)
    def second(n: int) -> None:
        with lock:
            remaining[0] -= 1
            if remaining[0] == 0:
                done.set()

    @dramatiq.actor(broker=broker, queue_name="a", max_retries=0)
    def first(n: int) -> None:
        second.send(n)

    worker = dramatiq.Worker(broker, worker_threads=concurrency, worker_timeout=100)
    worker.start()
    try:
        started = time.perf_counter()
        for i in range(messages):
            first.send(i)
        done.wait()
        return time.perf_counter() - started
    finally:
        worker.stop()
        broker.close()


# -- taskiq -----------------------------------------------------------------------------------


async def taskiq_run(messages: int, concurrency: int) -> float:
    from taskiq import InMemoryBroker

    broker = InMemoryBroker(max_async_tasks=concurrency)
    remaining = messages
    done = asyncio.Event()

    @broker.task
    async def second(n: int) -> None:
        nonlocal remaining
        remaining -= 1
        if remaining == 0:
            done.set()

    @broker.task
    async def first(n: int) -> None:
        await second.kiq(n)

    await broker.startup()
    try:
        started = time.perf_counter()
        for i in range(messages):
            await first.kiq(i)
        await done.wait()
        return time.perf_counter() - started
    finally:
        await broker.shutdown()


# -- FastStream -------------------------------------------------------------------------------


async def faststream_run(messages: int, concurrency: int) -> float:
    from faststream.rabbit import RabbitBroker, TestRabbitBroker

    broker = RabbitBroker()
    remaining = messages
    done = asyncio.Event()

    @broker.subscriber("b")
    async def second(n: int) -> None:
        nonlocal remaining
        remaining -= 1
        if remaining == 0:
            done.set()

    @broker.subscriber("a")
    async def first(n: int) -> None:
        await broker.publish(n, "b")

    async with TestRabbitBroker(broker) as test:
        started = time.perf_counter()
        for i in range(messages):
            await test.publish(i, "a")
        await done.wait()
        return time.perf_counter() - started


# -- the comparison ---------------------------------------------------------------------------

PEERS: dict[str, tuple[str, Callable[[int, int], float]]] = {
    "beehive": ("beehive", lambda n, c: asyncio.run(beehive_run(n, c))),
    "dramatiq": ("dramatiq", dramatiq_run),
    "taskiq": ("taskiq", lambda n, c: asyncio.run(taskiq_run(n, c))),
    "faststream": ("faststream.rabbit", lambda n, c: asyncio.run(faststream_run(n, c))),
}


def installed(module: str) -> bool:
    try:
        __import__(module)
    except ImportError:
        return False
    return True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--faststream-messages", type=int, default=2_000)
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds (>= 3)")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--only", nargs="+", choices=sorted(PEERS), help="a subset")
    args = parser.parse_args()
    logging.getLogger("dramatiq").setLevel(logging.WARNING)

    print(f"python {sys.version.split()[0]}; what each contender does per message:")
    contenders: list[tuple[str, Callable[[], Sample]]] = []
    for name in args.only or PEERS:
        module, run = PEERS[name]
        if not installed(module):
            print(f"  {name:<11} skipped: .venv/bin/pip install -r bench/requirements.txt")
            continue
        print(f"  {name:<11} {SEMANTICS[name]}")
        count = args.faststream_messages if name == "faststream" else args.messages
        contenders.append((name, partial(measure, count, partial(run, count, args.concurrency))))
    if not contenders:
        return
    runs = interleave(contenders, args.rounds)
    report(
        runs,
        unit="msg",
        title=f"\n2-actor chain, {args.messages:,} messages ({args.faststream_messages:,} "
        f"for FastStream), concurrency {args.concurrency}, {args.rounds} interleaved rounds:",
    )
    if runs[0].name == "beehive":
        ours = median([s.rate for s in runs[0].samples])
        for run in runs[1:]:
            theirs = median([s.rate for s in run.samples])
            print(f"  beehive / {run.name}: {ours / theirs:.1f}x the messages per second")


if __name__ == "__main__":
    main()
