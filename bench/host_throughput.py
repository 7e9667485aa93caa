"""Cost per hop of the actor host on the in-memory broker, against the bare pipeline.

A no-op two-actor chain (A -> B), ``--events`` events, at each ``--workers`` count (the
``parallelism`` of both actors), three contenders interleaved round by round: the bare
pipeline of ``bench/bare_pipeline.py`` (a lower bound: no DI, no retries, no bookkeeping, no
fairness), beehive's ``ActorHost`` as it runs by default, and the host with the garbage
collector left at Python's defaults (``tune_gc=False``), so the share of the collector's
tuning in the ratio is on the same screen. Then how fast an idle actor picks up a new event,
and the memory taken by ``--queued`` events waiting in a subscription.

    .venv/bin/python bench/host_throughput.py [--events 20000] [--workers 1 8 64] \
        [--rounds 5] [--queued 100000]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import statistics
import sys
import time
import tracemalloc
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bare_pipeline
from _rounds import Sample, interleave, measure, median, ratios, report

from beehive import ActorDescriptor, ActorHost, Event
from beehive.queues import InMemoryQueueOperator


class First:
    async def process(self, event: Event) -> list[Event]:
        return [Event(event_type="B", body=event.body)]


class Second:
    done: asyncio.Event
    remaining = 0

    async def process(self, event: Event) -> list[Event]:
        Second.remaining -= 1
        if Second.remaining == 0:
            Second.done.set()
        return []


def chain(workers: int) -> list[ActorDescriptor]:
    return [
        ActorDescriptor(First, "A-First", parallelism=workers, emits=("B",)),
        ActorDescriptor(Second, "B-Second", parallelism=workers),
    ]


async def beehive_run(events: int, workers: int, tune_gc: bool = True) -> float:
    """Seconds from the first publish to the last completion of ``events`` events."""
    operator = InMemoryQueueOperator()
    Second.done, Second.remaining = asyncio.Event(), events
    async with ActorHost(operator, chain(workers), tune_gc=tune_gc):
        started = time.perf_counter()
        for i in range(events):
            body = f'{{"order_id": {i}, "amount": 9.95}}'
            await operator.push(Event(event_type="A", body=body))
        await Second.done.wait()
        return time.perf_counter() - started


async def pickup_latency(samples: int) -> list[float]:
    """Seconds from publishing to an idle actor until its process() starts."""
    picked: asyncio.Queue[float] = asyncio.Queue()

    class Probe:
        async def process(self, event: Event) -> list[Event]:
            picked.put_nowait(time.perf_counter())
            return []

    operator = InMemoryQueueOperator()
    latencies = []
    async with ActorHost(operator, [ActorDescriptor(Probe, "Ping-Probe")], poll_wait=60):
        await asyncio.sleep(0.01)  # let the consumer start waiting
        for _ in range(samples):
            sent = time.perf_counter()
            await operator.push(Event(event_type="Ping"))
            latencies.append(await picked.get() - sent)
            await operator.wait_idle()
    return latencies


async def queued_memory(count: int) -> tuple[int, int]:
    """Peak bytes allocated for ``count`` events, built and held in a list, then for as many
    built and pushed into one subscription (queued, unleased)."""
    body = '{"order_id": 1, "amount": 9.95}'
    gc.collect()
    tracemalloc.start()
    held = [Event(event_type="A", body=body) for _ in range(count)]
    alone = tracemalloc.get_traced_memory()[1]
    del held
    tracemalloc.stop()

    operator = InMemoryQueueOperator()
    await operator.setup_queue("A-Waiting")
    gc.collect()
    tracemalloc.start()
    for _ in range(count):
        await operator.push(Event(event_type="A", body=body))
    queued = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    await operator.close()
    return alone, queued


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 8, 64])
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds (>= 3)")
    parser.add_argument("--queued", type=int, default=100_000, help="events for the memory")
    args = parser.parse_args()

    hops = 2 * args.events
    print(
        f"python {sys.version.split()[0]}, {args.events:,} events through a 2-hop chain "
        f"({hops:,} hops), {args.rounds} interleaved rounds; cost = CPU time per hop"
    )
    summary = []
    for workers in args.workers:

        def contender(run: partial[object]) -> Sample:
            return measure(hops, lambda: asyncio.run(run()))  # type: ignore[arg-type]

        runs = interleave(
            [
                ("bare", partial(contender, partial(bare_pipeline.run, args.events, workers))),
                ("beehive", partial(contender, partial(beehive_run, args.events, workers))),
                (
                    "beehive tune_gc=False",
                    partial(contender, partial(beehive_run, args.events, workers, False)),
                ),
            ],
            args.rounds,
        )
        report(runs, title=f"\n{workers} worker(s) per actor:")
        summary.append(
            (
                workers,
                median([s.rate for s in runs[0].samples]),
                median([s.rate for s in runs[1].samples]),
                median(ratios(runs[0], runs[1], "cpu")),
                median(ratios(runs[0], runs[2], "cpu")),
            )
        )

    print("\nsummary (median of rounds): workers, bare hops/s, beehive hops/s, cost ratio")
    for workers, bare, ours, ratio, untuned in summary:
        print(
            f"  {workers:>3}  {bare:>10,.0f}  {ours:>10,.0f}  {ratio:.2f}x "
            f"(collector untuned: {untuned:.2f}x)"
        )

    latencies = sorted(asyncio.run(pickup_latency(2000)))
    p50 = statistics.median(latencies) * 1e6
    p99 = latencies[int(len(latencies) * 0.99)] * 1e6
    print(
        f"\nidle actor pick-up latency: p50 {p50:.0f} us, p99 {p99:.0f} us, max "
        f"{latencies[-1] * 1e6:.0f} us"
    )

    alone, queued = asyncio.run(queued_memory(args.queued))
    print(
        f"{args.queued:,} queued events: peak {queued / 2**20:.1f} MiB "
        f"({queued / args.queued:,.0f} B each); the events alone {alone / 2**20:.1f} MiB "
        f"({alone / args.queued:,.0f} B each); queueing adds "
        f"{(queued - alone) / args.queued:,.0f} B per event"
    )


if __name__ == "__main__":
    main()
