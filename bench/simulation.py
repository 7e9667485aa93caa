"""Simulation testing on Prismo: seeded runs per second, with every fault, and what a run costs.

    python bench/simulation.py [--runs 100] [--orders 20] [--profile]

Runs ``--runs`` seeds of Prismo with ``--orders`` orders each, every actor idempotent, under
every broker fault and host crash (store faults off: the window they open is known), and
prints runs/s (real time and CPU time: the machine is shared), messages handled per run, and
faults injected. The target of issue 21: 100 runs of 20 orders in under a minute.
"""

from __future__ import annotations

import argparse
import cProfile
import dataclasses
import pstats
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from beehive import discover
from beehive.testing import Faults
from samples.prismo.scenario import Scenario
from samples.prismo.simulation import ACTORS, prismo_simulation


def main() -> int:
    cli = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    cli.add_argument("--runs", type=int, default=100)
    cli.add_argument("--orders", type=int, default=20)
    cli.add_argument("--profile", action="store_true", help="print the top functions by time")
    args = cli.parse_args()
    actors = [dataclasses.replace(d, idempotent=True) for d in discover(ACTORS)]
    simulation = prismo_simulation(
        Scenario(orders=args.orders),
        actors=actors,
        faults=Faults(store_failure=0.0, store_crash=0.0),
    )

    profiler = cProfile.Profile() if args.profile else None
    started, cpu = time.perf_counter(), time.process_time()
    if profiler is not None:
        profiler.enable()
    report = simulation.run(args.runs, max_failures=None)
    if profiler is not None:
        profiler.disable()
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu

    faults = sum(report.injected.values())
    print(f"simulation: Prismo, {report.runs} seeded runs of {args.orders} orders")
    print(f"  wall time            {wall:8.2f} s   ({report.runs / wall:6.1f} runs/s)")
    print(f"  CPU time             {cpu:8.2f} s   ({report.runs / cpu:6.1f} runs/s)")
    print(f"  messages per run     {report.messages / report.runs:8.0f}")
    print(f"  faults per run       {faults / report.runs:8.1f}   ({faults:,} in all)")
    print(f"  invariants           {'hold' if report.ok else 'VIOLATED'}")
    if not report.ok:
        print(report)
    if profiler is not None:
        pstats.Stats(profiler).sort_stats("tottime").print_stats(25)
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
