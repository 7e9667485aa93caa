"""What a simulation tells: how many runs, how fast, and each failure, shrunk and replayable."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from beehive.errors import SimulationFailed
from beehive.testing.simulation._faults import Fault
from beehive.testing.simulation._run import RunResult

__all__ = ["Failure", "SimulationReport"]


@dataclass(frozen=True, slots=True)
class Failure:
    """A seed that broke an invariant, with the fewest faults found that still break it.

    ``run`` is the seed replayed with only ``faults`` (``simulation.replay(seed, faults)``
    gives it again, fingerprint for fingerprint); ``found`` is the run as first found, with
    every fault the seed chose; ``shrink_runs`` counts the replays shrinking took.
    """

    seed: int
    invariant: str
    run: RunResult
    found: RunResult
    shrink_runs: int

    @property
    def faults(self) -> tuple[Fault, ...]:
        return self.run.faults

    @property
    def problems(self) -> list[str]:
        """What the broken invariant reported, in the shrunk run."""
        return [v.problem for v in self.run.violations if v.invariant == self.invariant]

    def __str__(self) -> str:
        lines = [f"seed {self.seed} broke {self.invariant}:"]
        lines += [f"  {problem}" for problem in self.problems]
        others = [v for v in self.run.violations if v.invariant != self.invariant]
        if others:
            lines.append("and also:")
            lines += [f"  {v.invariant}: {v.problem}" for v in others]
        lines.append(self._told_faults())
        lines += [f"  {fault.describe()}" for fault in self.faults]
        if self.run.journeys:
            lines.append(self.run.journeys)
        lines.append(f"replay: simulation.replay({self.seed}, faults={list(self.faults)!r})")
        return "\n".join(lines)

    def _told_faults(self) -> str:
        kept, found = len(self.faults), len(self.found.faults)
        shrunk = f", shrunk from {found} in {self.shrink_runs} replays" if kept != found else ""
        if kept:
            return f"with {_count(kept, 'fault')}{shrunk}:"
        return (
            f"with no fault at all{shrunk}: the order of deliveries and store calls alone breaks it"
        )


@dataclass(frozen=True, slots=True)
class SimulationReport:
    """Every run of ``Simulation.run``, its failures, and what the runs injected.

    ``seconds`` is real time, for ``runs_per_second``; everything else is the same on every
    machine for the same seeds.
    """

    runs: int
    seeds: tuple[int, ...]
    failures: tuple[Failure, ...]
    messages: int
    injected: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.failures

    @property
    def runs_per_second(self) -> float:
        return self.runs / self.seconds if self.seconds else 0.0

    def check(self) -> None:
        """Raise :class:`~beehive.errors.SimulationFailed` (an AssertionError) with this report
        when a run failed."""
        if self.failures:
            raise SimulationFailed(str(self))

    def summary(self) -> str:
        faults = sum(self.injected.values())
        kinds = ", ".join(
            f"{n} {kind.replace('_', ' ')}" for kind, n in sorted(self.injected.items())
        )
        return (
            f"{_count(self.runs, 'run')}, {_count(self.messages, 'message')} handled, "
            f"{_count(faults, 'fault')} injected"
            + (f" ({kinds})" if kinds else "")
            + f", {len(self.failures)} failing; {self.runs_per_second:.1f} runs/s"
        )

    def __str__(self) -> str:
        return "\n\n".join([self.summary(), *(str(failure) for failure in self.failures)])


def _count(n: int, what: str) -> str:
    return f"{n} {what}{'' if n == 1 else 's'}"
