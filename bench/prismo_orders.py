"""Prismo end to end on the in-memory backend, against the bare pipeline in the same run.

    .venv/bin/python bench/prismo_orders.py [--orders 1000 10000 100000] [--rounds 3] \
        [--seed 1] [--profile]

Each round runs the bare pipeline of ``bench/bare_pipeline.py`` (20,000 events through two
no-op actors, 8 workers) and then the whole sample once per ``--orders`` size (17 actors,
14 traced topics, stores, invariants checked after), with zero delays, in one process. It
prints per size events/s (the tracing actor's count of published events over the time from
the first order to idle), CPU and wall time per order, events/s over the bare pipeline's
hops/s of the same round (target: at least 0.2) and the cost per order over the smallest
size's (target: at most 1.1, flat). ``--profile`` runs the largest size once under cProfile
instead and prints where the time goes.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import pstats
import sys
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import bare_pipeline
from _rounds import Sample, interleave, measure, median, report

from samples.prismo.run import run
from samples.prismo.scenario import Scenario
from samples.prismo.summary import Summary

BARE_EVENTS, BARE_WORKERS = 20_000, 8


def prismo(orders: int, seed: int) -> tuple[Sample, Summary]:
    scenario = Scenario(orders=orders, seed=seed, supplier_delay=0.0)
    held: list[Summary] = []

    async def main() -> None:
        # Not returned from the task: on Python 3.11, asyncio.run formats the main task's
        # result into a repr (of the whole run's outcome here) when it restores SIGINT.
        held.append(await run(scenario))

    asyncio.run(main())
    (summary,) = held
    if not summary.ok:
        sys.exit(f"prismo {orders:,} orders: invariants VIOLATED {summary.invariant_violations}")
    return Sample(summary.events, summary.seconds, summary.cpu_seconds), summary


def main() -> int:
    cli = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    cli.add_argument("--orders", type=int, nargs="+", default=[1_000, 10_000, 100_000])
    cli.add_argument("--rounds", type=int, default=3, help="interleaved rounds (>= 3)")
    cli.add_argument("--seed", type=int, default=1)
    cli.add_argument("--profile", action="store_true", help="profile the largest size once")
    args = cli.parse_args()
    sizes = sorted(args.orders)

    if args.profile:
        profiler = cProfile.Profile()
        profiler.enable()
        _, summary = prismo(sizes[-1], args.seed)
        profiler.disable()
        print(f"prismo {sizes[-1]:,} orders: {summary.events_per_second:,.0f} events/s")
        pstats.Stats(profiler).sort_stats("tottime").print_stats(30)
        return 0

    summaries: dict[int, Summary] = {}

    def sized(orders: int) -> Sample:
        sample, summaries[orders] = prismo(orders, args.seed)
        return sample

    runs = interleave(
        [
            (
                f"bare ({BARE_WORKERS} workers)",
                partial(measure, 2 * BARE_EVENTS, bare_run),
            ),
            *((f"prismo {n:,} orders", partial(sized, n)) for n in sizes),
        ],
        args.rounds,
    )
    print(
        f"python {sys.version.split()[0]}; Prismo in memory, zero delays, seed {args.seed}, "
        f"{args.rounds} interleaved rounds"
    )
    report(runs, unit="event", title="bare: hops; prismo: events published")
    base, smallest = runs[0], runs[1]
    print(
        f"\n  {'orders':>9} {'events':>9} {'events/s':>10} {'/ bare hops/s':>14} "
        f"{'cpu ms/order':>13} {'wall ms/order':>14} {'cpu/order vs ' + f'{sizes[0]:,}':>16}"
    )
    for orders, each in zip(sizes, runs[1:], strict=True):
        versus_bare = [o.rate / b.rate for b, o in zip(base.samples, each.samples, strict=True)]
        flat = [
            (o.cpu / orders) / (s.cpu / sizes[0])
            for s, o in zip(smallest.samples, each.samples, strict=True)
        ]
        print(
            f"  {orders:>9,} {summaries[orders].events:>9,} "
            f"{median([s.rate for s in each.samples]):>10,.0f} {median(versus_bare):>13.2f}x "
            f"{median([s.cpu / orders * 1e3 for s in each.samples]):>13.3f} "
            f"{median([s.wall / orders * 1e3 for s in each.samples]):>14.3f} "
            f"{median(flat):>15.2f}x"
        )
    print("  (medians of the rounds; each ratio is taken within a round, then the median)")
    return 0


def bare_run() -> float:
    return asyncio.run(bare_pipeline.run(BARE_EVENTS, BARE_WORKERS))


if __name__ == "__main__":
    sys.exit(main())
