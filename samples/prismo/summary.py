"""A run's summary: the figures people look at, as text or as one JSON object."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from beehive import ActorStats
from samples.prismo.events import EVENTS
from samples.prismo.outcome import Outcome
from samples.prismo.scenario import Scenario

TRACING = "TracingActor@"


def events_published(stats: Mapping[str, ActorStats]) -> int:
    """Events published so far: the tracing actor handles each one exactly once."""
    return sum(s.succeeded for name, s in stats.items() if name.startswith(TRACING))


@dataclass(frozen=True, slots=True)
class Summary:
    scenario: Scenario
    backend: str
    """Where it ran: ``memory backend``, ``memory broker, azure stores``..."""
    shipped: int
    cancelled: dict[str, int]
    pending: int
    waited_for_stock: int
    replenishments: int
    replenished_units: int
    events: int
    retries: int
    dead_letters: int
    seconds: float
    actors: dict[str, ActorStats]
    invariant_violations: list[str]
    outcome: Outcome
    """Everything the run left behind, for a closer look."""
    cpu_seconds: float = 0.0
    """Processor time this process spent over ``seconds`` (for the benches)."""

    @property
    def orders(self) -> int:
        return self.scenario.orders

    @property
    def events_per_second(self) -> float:
        return self.events / self.seconds if self.seconds else 0.0

    @property
    def ok(self) -> bool:
        return not self.invariant_violations

    def as_json(self) -> dict[str, Any]:
        return {
            "orders": self.orders,
            "shipped": self.shipped,
            "cancelled": self.cancelled,
            "pending": self.pending,
            "dead_letters": self.dead_letters,
            "events": self.events,
            "seconds": round(self.seconds, 3),
            "invariant_violations": self.invariant_violations,
            "seed": self.scenario.seed,
            "waited_for_stock": self.waited_for_stock,
            "replenishments": self.replenishments,
            "retries": self.retries,
            "events_per_second": round(self.events_per_second),
        }

    def render(self) -> str:
        cancelled = sum(self.cancelled.values())
        reasons = ", ".join(f"{reason} {n:,}" for reason, n in self.cancelled.items())
        lines = [
            f"Prismo: {self.orders:,} orders, seed {self.scenario.seed}, {self.backend}",
            "",
            f"  shipped            {self.shipped:>9,}",
            f"  cancelled          {cancelled:>9,}   ({reasons})",
            f"  pending            {self.pending:>9,}",
            f"  waited for stock   {self.waited_for_stock:>9,}   order lines",
            f"  replenishments     {self.replenishments:>9,}   ({self.replenished_units:,} units)",
            f"  events             {self.events:>9,}   in {self.seconds:.2f} s "
            f"({self.events_per_second:,.0f} events/s)",
            f"  retries            {self.retries:>9,}",
            f"  dead letters       {self.dead_letters:>9,}",
            "",
            *self._actor_table(),
            "",
        ]
        if self.ok:
            lines.append("All invariants hold.")
        else:
            lines.append("INVARIANTS VIOLATED:")
            lines.extend(f"  - {problem}" for problem in self.invariant_violations)
        return "\n".join(lines)

    def _actor_table(self) -> list[str]:
        rows: list[tuple[str, ActorStats]] = []
        traced = ActorStats()
        for name, stats in self.actors.items():
            if name.startswith(TRACING):
                traced = _add(traced, stats)
            else:
                rows.append((name, stats))
        topics = sum(1 for name in self.actors if name.startswith(TRACING))
        rows.sort(key=lambda row: _pipeline_position(row[0]))
        rows.append((f"TracingActor@<{topics} topics>-Trace", traced))
        width = max(len(name) for name, _ in rows)
        header = f"  {'events per actor':<{width}}  received  retried   ms/event"
        return [header] + [
            f"  {name:<{width}}  {s.received:>8,}  {s.retried:>7,}  "
            f"{1000 * s.processing_seconds / max(s.received, 1):>9.3f}"
            for name, s in rows
        ]


def _pipeline_position(actor_name: str) -> int:
    """Where an actor's source topic comes in an order's life (``EVENTS`` is in that order)."""
    topic = actor_name.partition("@")[2].partition("-")[0]
    return next((i for i, event in enumerate(EVENTS) if event.__name__ == topic), len(EVENTS))


def _add(a: ActorStats, b: ActorStats) -> ActorStats:
    return ActorStats(
        received=a.received + b.received,
        succeeded=a.succeeded + b.succeeded,
        retried=a.retried + b.retried,
        dead_lettered=a.dead_lettered + b.dead_lettered,
        lease_lost=a.lease_lost + b.lease_lost,
        processing_seconds=a.processing_seconds + b.processing_seconds,
    )


def summarise(
    scenario: Scenario,
    backend: str,
    outcome: Outcome,
    actors: dict[str, ActorStats],
    seconds: float,
    violations: list[str],
    cpu_seconds: float = 0.0,
) -> Summary:
    return Summary(
        scenario=scenario,
        backend=backend,
        shipped=len(outcome.shipped),
        cancelled={
            "payment": len(outcome.cancelled("payment")),
            "fraud": len(outcome.cancelled("fraud")),
        },
        pending=len(outcome.pending),
        waited_for_stock=outcome.waited,
        replenishments=outcome.replenishments,
        replenished_units=sum(outcome.delivered.values()),
        events=events_published(actors),
        retries=sum(s.retried for s in actors.values()),
        dead_letters=outcome.dead_letters,
        seconds=seconds,
        actors=actors,
        invariant_violations=violations,
        outcome=outcome,
        cpu_seconds=cpu_seconds,
    )
