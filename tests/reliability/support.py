"""What the reliability tests share: a two-actor chain that counts every run, and waiting.

``Work`` reads ``Job``s and publishes one ``Done`` per job; ``Tally`` reads ``Done``s. Both
count, in a :class:`Ledger`, how many times they processed each event id (a side effect that
duplicates would show) and which jobs they saw. Topic names are parameters, so tests on a
shared broker use unique ones.
"""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from beehive import ActorDescriptor, Event
from beehive.backoff import Backoff

FAST = Backoff(initial=0.005, factor=2.0, maximum=0.05, jitter=0.0)


@dataclass
class Ledger:
    """Side effects of the chain: runs per (actor, event id), and jobs tallied."""

    runs: Counter[tuple[str, str]] = field(default_factory=Counter)
    tallied: Counter[str] = field(default_factory=Counter)
    done_ids: dict[str, set[str]] = field(default_factory=dict)

    def runs_of(self, actor: str) -> list[int]:
        return [n for (who, _), n in self.runs.items() if who == actor]


def chain(
    ledger: Ledger,
    *,
    job: str = "Job",
    done: str = "Done",
    idempotent: bool = False,
    failure_rate: float = 0.0,
    seed: int = 0,
    parallelism: int = 1,
    max_deliveries: int = 10,
    lease_seconds: float = 60.0,
) -> list[ActorDescriptor]:
    """``{job}-Work`` -> ``{done}`` -> ``{done}-Tally``, failing at ``failure_rate`` at random."""
    rng = random.Random(seed)

    class Work:
        async def process(self, event: Event) -> list[Event]:
            ledger.runs["Work", event.id] += 1
            await asyncio.sleep(0)
            if failure_rate and rng.random() < failure_rate:
                raise RuntimeError("injected: the actor failed")
            return [Event(event_type=done, body=event.body)]

    class Tally:
        async def process(self, event: Event) -> list[Event]:
            ledger.runs["Tally", event.id] += 1
            if failure_rate and rng.random() < failure_rate:
                raise RuntimeError("injected: the actor failed")
            ledger.tallied[event.body] += 1
            ledger.done_ids.setdefault(event.body, set()).add(event.id)
            return []

    options = {
        "idempotent": idempotent,
        "parallelism": parallelism,
        "max_deliveries": max_deliveries,
        "lease_seconds": lease_seconds,
    }
    return [
        ActorDescriptor(Work, f"{job}-Work", emits=(done,), **options),  # type: ignore[arg-type]
        ActorDescriptor(Tally, f"{done}-Tally", **options),  # type: ignore[arg-type]
    ]


def jobs(count: int, topic: str = "Job") -> list[Event]:
    return [Event(event_type=topic, body=str(i)) for i in range(count)]


async def until(
    condition: Callable[[], bool | Awaitable[bool]], *, timeout: float, what: str
) -> None:
    """Wait until ``condition`` holds, checking every few milliseconds; TimeoutError if not."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        result = condition()
        if not isinstance(result, bool):
            result = await result
        if result:
            return
        if loop.time() > deadline:
            raise TimeoutError(f"gave up after {timeout}s waiting for {what}")
        await asyncio.sleep(0.005)
