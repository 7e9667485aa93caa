"""Throughput and latency of the actor host on the in-memory broker, against a bare pipeline.

Runs, in one process and interleaved (bare, beehive, bare, beehive...), ``minimal_host.py``'s
bare pipeline (a lower bound: no DI, no retries, no bookkeeping; ``--baseline``, by default
``shared/bench/`` beside the repository) and beehive's ActorHost with a no-op two-actor chain
(A -> B), and prints hops per second for each (the median round) and the ratio of per-hop
costs (median and best round). Then measures how fast an idle actor picks up a new event.

    .venv/bin/python bench/host_throughput.py [--events 20000] [--workers 1 8 64] [--repeat 5]
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import statistics
import sys
import time
from collections.abc import Coroutine
from pathlib import Path
from types import ModuleType

from beehive import ActorDescriptor, ActorHost, Event
from beehive.queues import InMemoryQueueOperator

BASELINE = Path(__file__).resolve().parents[2] / "shared" / "bench" / "minimal_host.py"


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


def load_baseline(path: Path) -> ModuleType:
    if not path.exists():
        sys.exit(f"baseline not found: {path} (pass --baseline PATH/minimal_host.py)")
    spec = importlib.util.spec_from_file_location("minimal_host", path)
    if spec is None or spec.loader is None:
        sys.exit(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def chain(workers: int) -> list[ActorDescriptor]:
    return [
        ActorDescriptor(First, "A-First", parallelism=workers, emits=("B",)),
        ActorDescriptor(Second, "B-Second", parallelism=workers),
    ]


async def beehive_run(events: int, workers: int) -> float:
    operator = InMemoryQueueOperator()
    Second.done, Second.remaining = asyncio.Event(), events
    async with ActorHost(operator, chain(workers)):
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


async def bare_run(baseline: ModuleType, events: int, workers: int) -> float:
    seconds: float = (await baseline.run(events, workers))[0]
    return seconds


def timed(run: Coroutine[None, None, float]) -> tuple[float, float]:
    """Wall seconds of the events' flow, and CPU seconds of the whole run (steadier on a busy
    machine: it counts this process only), in a fresh event loop."""
    cpu = time.process_time()
    wall = asyncio.run(run)
    return wall, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 8, 64])
    parser.add_argument("--repeat", type=int, default=5, help="interleaved rounds")
    parser.add_argument("--baseline", type=Path, default=BASELINE)
    args = parser.parse_args()
    baseline = load_baseline(args.baseline)

    print(
        f"python {sys.version.split()[0]}, {args.events} events through a 2-hop chain, "
        f"{args.repeat} interleaved rounds"
    )
    print(
        f"{'workers':>8} {'bare hops/s':>12} {'beehive hops/s':>15} {'wall ratio':>11} "
        f"{'cpu ratio':>10} {'best cpu':>9}"
    )
    hops = 2 * args.events
    for workers in args.workers:
        bare: list[tuple[float, float]] = []
        ours: list[tuple[float, float]] = []
        for _ in range(args.repeat):
            bare.append(timed(bare_run(baseline, args.events, workers)))
            ours.append(timed(beehive_run(args.events, workers)))
        wall = [o[0] / b[0] for b, o in zip(bare, ours, strict=True)]
        cpu = [o[1] / b[1] for b, o in zip(bare, ours, strict=True)]
        print(
            f"{workers:>8} {hops / statistics.median(b[0] for b in bare):>12,.0f} "
            f"{hops / statistics.median(o[0] for o in ours):>15,.0f} "
            f"{statistics.median(wall):>10.2f}x {statistics.median(cpu):>9.2f}x "
            f"{min(cpu):>8.2f}x"
        )

    latencies = sorted(asyncio.run(pickup_latency(2000)))
    p50 = statistics.median(latencies) * 1e6
    p99 = latencies[int(len(latencies) * 0.99)] * 1e6
    print(
        f"idle actor pick-up latency: p50 {p50:.0f} us, p99 {p99:.0f} us, max "
        f"{latencies[-1] * 1e6:.0f} us"
    )


if __name__ == "__main__":
    main()
