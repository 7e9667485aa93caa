"""Which message the current task is handling, and event ids derived from it.

A simulation's middleware sets :data:`HANDLING` around each message's handling (each worker is
a task of its own, so the variable never leaks between them). Store calls and publishes read it
to know where they happen, and :class:`DerivedIds` makes the id of every event an actor creates
from the event it handles, so ids are the same in every run that takes the same path.
"""

from __future__ import annotations

import hashlib
from contextvars import ContextVar

from beehive.testing.simulation._faults import FaultKind, Plan

__all__ = ["HANDLING", "DerivedIds", "Handling"]


class Handling:
    """One delivery of one event to one subscription's actor, while it is being handled."""

    __slots__ = ("actor", "calls", "crashed", "delivery", "event_id", "ids", "name", "source")

    def __init__(self, actor: str, source: str, event_id: str, name: str, delivery: int) -> None:
        self.actor = actor
        self.source = source
        self.event_id = event_id
        self.name = name
        """The event's name (see :class:`~beehive.testing.simulation._faults.EventNames`)."""
        self.delivery = delivery
        self.calls = 0
        """Store calls so far."""
        self.ids = 0
        """Event ids made so far."""
        self.crashed = False
        """The host 'died' during this handling: nothing more of it may happen."""

    def fault(self, plan: Plan, kind: FaultKind, detail: str = "") -> bool:
        """Whether ``plan`` injects ``kind`` here, in this handling."""
        return plan.decide(
            kind, self.source, self.name, self.delivery, detail, event_id=self.event_id
        )

    def draw(self, plan: Plan, *key: object) -> float:
        """A number in [0, 1) for this handling and ``key``, the same in every replay."""
        return plan.chance(self.source, self.name, self.delivery, *key)


HANDLING: ContextVar[Handling | None] = ContextVar("beehive_simulation_handling", default=None)


class DerivedIds:
    """Event ids made from the seed and what is being handled, not drawn at random.

    Inside a handling, the n-th id is a digest of (event id, subscription, delivery, n); outside
    one (the workload, pulses), of the seed and a counter. A clash (never expected) gets a
    suffix, so ids stay unique within a run.
    """

    def __init__(self, seed: int) -> None:
        self._seed = seed
        self._outside = 0
        self._made: set[str] = set()

    def __call__(self) -> str:
        handling = HANDLING.get()
        if handling is None:
            self._outside += 1
            key = f"{self._seed}\x1f{self._outside}"
        else:
            handling.ids += 1
            key = (
                f"{handling.event_id}\x1f{handling.source}\x1f{handling.delivery}\x1f{handling.ids}"
            )
        made = hashlib.blake2b(key.encode(), digest_size=8).hexdigest()
        while made in self._made:
            made = hashlib.blake2b(made.encode(), digest_size=8).hexdigest()
        self._made.add(made)
        return made
