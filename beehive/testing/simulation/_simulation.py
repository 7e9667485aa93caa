"""The simulation: many seeded runs of an actor network under faults, each checked, each
failure shrunk and replayable."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Sequence
from datetime import timedelta
from typing import Generic, TypeVar

from beehive.actors import ActorDescriptor
from beehive.events import Event
from beehive.queues.base import seconds
from beehive.testing.simulation._end import Invariant
from beehive.testing.simulation._faults import Fault, Faults
from beehive.testing.simulation._report import Failure, SimulationReport
from beehive.testing.simulation._run import Run, RunResult, Spec, run_one
from beehive.testing.simulation._shrink import ddmin

__all__ = ["Simulation"]

C = TypeVar("C")


class Simulation(Generic[C]):
    """Runs ``actors`` under seeded schedules and faults, and checks ``invariants`` after each.

    For each seed, a run builds a fresh world with ``setup(run)`` (stores put under the
    simulation with ``run.store(...)``, a container for the actors' dependencies: what it
    returns is the host's container and ``End.container``), publishes ``workload(container)``,
    lets the actors work in virtual time until nothing is left to do, then calls each invariant
    with the run's :class:`End`. Everything is chosen by the seed (what exactly:
    :mod:`beehive.testing.simulation`), so :meth:`replay` of a seed is the same run again.

    ``faults`` sets how often each fault is injected; ``max_delivery_delay`` (seconds) how far
    apart deliveries are spread, which decides their order; ``max_store_latency`` how long a
    store call may take, which decides how handlings interleave. A run that is not idle after
    ``idle_timeout`` of simulated time fails (the ``idle`` invariant). beehive's own log is
    silent during runs unless ``log``. Shrinking a failure replays it at most ``shrink_budget``
    times.
    """

    def __init__(
        self,
        actors: Iterable[ActorDescriptor],
        *,
        setup: Callable[[Run], C | Awaitable[C]],
        workload: Callable[[C], Iterable[Event] | Awaitable[Iterable[Event]]],
        invariants: Sequence[Invariant[C]],
        faults: Faults | None = None,
        max_delivery_delay: float | timedelta = 0.1,
        max_store_latency: float | timedelta = 0.05,
        idle_timeout: float | timedelta = timedelta(hours=1),
        shrink_budget: int = 200,
        log: bool = False,
    ) -> None:
        actors = list(actors)
        if not actors:
            raise ValueError("a simulation needs actors: pass discover(...)'s descriptors")
        if not invariants:
            raise ValueError("a simulation needs invariants: functions of the run's End")
        delay, latency, idle = (
            seconds(max_delivery_delay),
            seconds(max_store_latency),
            seconds(idle_timeout),
        )
        if delay < 0 or latency < 0 or idle <= 0:
            raise ValueError(
                "max_delivery_delay and max_store_latency cannot be negative, and idle_timeout "
                f"must be positive; got {delay:g}, {latency:g}, {idle:g} s"
            )
        if shrink_budget < 0:
            raise ValueError(f"shrink_budget cannot be negative, got {shrink_budget}")
        self.faults = faults if faults is not None else Faults()
        self.shrink_budget = shrink_budget
        self._spec: Spec[C] = Spec(
            actors=actors,
            setup=setup,
            workload=workload,
            invariants=list(invariants),
            faults=self.faults,
            max_delivery_delay=delay,
            max_store_latency=latency,
            idle_timeout=idle,
            log=log,
        )

    def run(
        self, seeds: int | Iterable[int] = 100, *, max_failures: int | None = 1
    ) -> SimulationReport:
        """Run every seed (an int ``n`` means ``range(n)``) and return the report.

        Each failing seed is shrunk; after ``max_failures`` failures (None: no limit) the
        remaining seeds are not run. ``report.check()`` raises with the report if any failed.
        """
        if max_failures is not None and max_failures < 1:
            raise ValueError(f"max_failures must be at least 1, or None, got {max_failures}")
        chosen = range(seeds) if isinstance(seeds, int) else seeds
        started = time.perf_counter()
        ran: list[int] = []
        failures: list[Failure] = []
        injected: Counter[str] = Counter()
        messages = 0
        for seed in chosen:
            result = run_one(self._spec, seed)
            ran.append(seed)
            messages += result.messages
            injected.update(fault.kind for fault in result.faults)
            if not result.ok:
                failures.append(self.shrink(result))
                if max_failures is not None and len(failures) >= max_failures:
                    break
        return SimulationReport(
            runs=len(ran),
            seeds=tuple(ran),
            failures=tuple(failures),
            messages=messages,
            injected=injected,
            seconds=time.perf_counter() - started,
        )

    def replay(self, seed: int, faults: Iterable[Fault] | None = None) -> RunResult:
        """Run ``seed`` again: exactly as first run, or with only ``faults`` (a failure's)."""
        return run_one(self._spec, seed, None if faults is None else frozenset(faults))

    def shrink(self, result: RunResult) -> Failure:
        """The failing ``result`` with the fewest of its faults that still break its first
        broken invariant."""
        if result.ok:
            raise ValueError(f"seed {result.seed} broke no invariant: there is nothing to shrink")
        invariant = result.broken[0]
        tried: dict[frozenset[Fault], RunResult] = {}

        def fails(faults: list[Fault]) -> bool:
            key = frozenset(faults)
            if key not in tried:
                tried[key] = run_one(self._spec, result.seed, key)
            return invariant in tried[key].broken

        kept = ddmin(result.faults, fails, self.shrink_budget)
        # The run that kept them (the run as found, when none could go). A kept fault it never
        # reached is not among its faults: replaying those alone is the same run.
        final = tried.get(frozenset(kept), result)
        return Failure(result.seed, invariant, final, result, len(tried))
