"""Prismo end to end on the in-memory backend: orders/s and events/s, with zero delays.

    python bench/prismo_orders.py [--orders 10000] [--seed 1] [--profile]

Runs the whole sample (17 actors, 14 traced topics, stores, invariants) in one process on one
core, with the supplier delivering at once; the target is 10,000 orders in under 20 s.
``--profile`` runs it under cProfile and prints where the time goes.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import pstats
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from samples.prismo.run import run
from samples.prismo.scenario import Scenario


def main() -> int:
    cli = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    cli.add_argument("--orders", type=int, default=10_000)
    cli.add_argument("--seed", type=int, default=1)
    cli.add_argument("--profile", action="store_true", help="print the top functions by time")
    args = cli.parse_args()
    scenario = Scenario(orders=args.orders, seed=args.seed, supplier_delay=0.0)

    profiler = cProfile.Profile() if args.profile else None
    started = time.perf_counter()
    if profiler is not None:
        profiler.enable()
    summary = asyncio.run(run(scenario))
    if profiler is not None:
        profiler.disable()
    total = time.perf_counter() - started

    deliveries = sum(stats.received for stats in summary.actors.values())
    print(f"prismo: {summary.orders:,} orders, seed {args.seed}, zero delays, in memory")
    print(f"  run (placing orders to idle)  {summary.seconds:8.2f} s")
    print(f"  with seeding and checks       {total:8.2f} s")
    print(f"  orders/s                      {summary.orders / summary.seconds:8,.0f}")
    print(
        f"  events/s                      {summary.events_per_second:8,.0f}  "
        f"({summary.events:,} events)"
    )
    print(
        f"  deliveries/s                  {deliveries / summary.seconds:8,.0f}  "
        f"({deliveries:,} messages handled, tracing included)"
    )
    print(f"  invariants                    {'hold' if summary.ok else 'VIOLATED'}")
    if profiler is not None:
        pstats.Stats(profiler).sort_stats("tottime").print_stats(25)
    return 0 if summary.ok else 1


if __name__ == "__main__":
    sys.exit(main())
