"""Interleaved rounds, shared by the scripts in ``bench/``.

On a shared machine a contender run alone for three rounds, then the other for three, can
land on a quiet minute and a busy one: the ratio then measures the neighbours. So contenders
run in turn, A/B/A/B, each round gives one ratio per contender against the baseline, and the
report shows the min and median of each, with CPU time per unit (user + system, from
``getrusage``: it counts this process only, so it is steadier than wall time when other
processes compete for the cores) next to wall time.
"""

from __future__ import annotations

import gc
import resource
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Sample:
    """One run of one contender: ``units`` of work (hops, events, messages) in so much time."""

    units: int
    wall: float
    cpu: float

    @property
    def rate(self) -> float:
        """Units per wall-clock second."""
        return self.units / self.wall

    @property
    def cpu_us(self) -> float:
        """CPU microseconds per unit."""
        return self.cpu / self.units * 1e6

    @property
    def wall_us(self) -> float:
        """Wall-clock microseconds per unit."""
        return self.wall / self.units * 1e6


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def measure(units: int, run: Callable[[], float | None]) -> Sample:
    """Run ``run`` once; its wall time is what it returns (the part it timed), else all of it.

    CPU time is always the whole call's: a contender's setup counts, so keep it small.
    """
    gc.collect()  # garbage of the previous contender is not this one's to collect
    cpu, wall = cpu_seconds(), time.perf_counter()
    timed = run()
    wall = time.perf_counter() - wall if timed is None else timed
    return Sample(units, wall, cpu_seconds() - cpu)


@dataclass
class Contender:
    name: str
    run: Callable[[], Sample]
    samples: list[Sample]


def interleave(
    contenders: Sequence[tuple[str, Callable[[], Sample]]], rounds: int
) -> list[Contender]:
    """Run each contender once per round, in turn, for ``rounds`` rounds (at least 3)."""
    if rounds < 3:
        sys.exit("use at least 3 interleaved rounds (--rounds)")
    runs = [Contender(name, run, []) for name, run in contenders]
    for _ in range(rounds):
        for contender in runs:
            contender.samples.append(contender.run())
    return runs


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def report(runs: Sequence[Contender], *, unit: str = "hop", title: str = "") -> None:
    """Print min and median per contender, then each one's ratios to the first, per round."""
    if title:
        print(title)
    width = max(22, *(len(run.name) for run in runs))
    print(
        f"  {'contender':<{width}} {unit + 's/s':>12} {'(best)':>10}   "
        f"{'cpu us/' + unit:>11} {'(best)':>7}   {'wall us/' + unit:>12}"
    )
    for run in runs:
        rates = [s.rate for s in run.samples]
        cpus = [s.cpu_us for s in run.samples]
        walls = [s.wall_us for s in run.samples]
        print(
            f"  {run.name:<{width}} {median(rates):>12,.0f} {max(rates):>10,.0f}   "
            f"{median(cpus):>11.2f} {min(cpus):>7.2f}   {median(walls):>12.2f}"
        )
    base = runs[0]
    for run in runs[1:]:
        cpu = ratios(base, run, "cpu")
        wall = ratios(base, run, "wall")
        print(
            f"  {run.name} / {base.name}, cost per {unit}: cpu median {median(cpu):.2f}x "
            f"(min {min(cpu):.2f}x), wall median {median(wall):.2f}x (min {min(wall):.2f}x); "
            f"per round cpu {' '.join(f'{r:.2f}' for r in cpu)}"
        )


def ratios(base: Contender, other: Contender, what: str) -> list[float]:
    """Per round: the other's cost per unit over the baseline's (above 1: it costs more)."""
    if what == "cpu":
        pairs = zip(base.samples, other.samples, strict=True)
        return [o.cpu_us / b.cpu_us for b, o in pairs]
    return [o.wall_us / b.wall_us for b, o in zip(base.samples, other.samples, strict=True)]
