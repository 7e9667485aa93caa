"""Crash injection: the host 'dies' at one step of a message's handling, on purpose (for tests).

``crashes = CrashInjection()``, ``ActorHost(..., middleware=[crashes])``, then
``crashes.crash_at(step)`` makes the next message (or the next ``times`` messages that
``where`` selects) stop at ``step``:

- ``"after_lease"``: leased, nothing done yet;
- ``"after_publish"``: its events are out (a message that publishes nothing does not crash
  here);
- ``"before_complete"``: processed and published, about to be completed.

The broker takes the message back, as it does when a dead consumer's lease runs out (here at
once, so tests need not wait for a lease to expire): it is delivered again, with one more
delivery. The message ends :attr:`~beehive.middleware.Outcome.LEASE_LOST`. (The step during
``process`` is the actor's: make the actor raise.) ``injected`` counts each crash as
``"crash:<step>"``. Operator-level faults (lost leases, duplicates, failing calls) are
:class:`beehive.faults.FaultyQueueOperator`'s.
"""

from __future__ import annotations

import contextlib
from collections import Counter
from collections.abc import Callable
from typing import TYPE_CHECKING, Literal, get_args

from beehive.errors import LeaseLostError
from beehive.events import Event
from beehive.middleware.base import Handle, Message, Middleware, Outcome, Publish
from beehive.queues.base import QueueOperator

if TYPE_CHECKING:
    from beehive.host import ActorHost

__all__ = ["CrashInjection", "Step"]

Step = Literal["after_lease", "after_publish", "before_complete"]
_STEPS: tuple[str, ...] = get_args(Step)


class _Planned:
    __slots__ = ("times", "where")

    def __init__(self, times: int, where: Callable[[Event], bool] | None) -> None:
        self.times, self.where = times, where


class CrashInjection(Middleware):
    """Crashes planned with :meth:`crash_at`; see the module docstring."""

    def __init__(self) -> None:
        self.injected: Counter[str] = Counter()
        self._planned: dict[str, list[_Planned]] = {}
        self._operator: QueueOperator | None = None

    async def start(self, host: ActorHost) -> None:
        self._operator = host.operator

    def crash_at(
        self, step: Step, *, times: int = 1, where: Callable[[Event], bool] | None = None
    ) -> None:
        """Crash at ``step`` for the next ``times`` messages (those ``where`` selects)."""
        if step not in _STEPS:
            raise ValueError(f"step must be one of {', '.join(_STEPS)}, not {step!r}")
        if times < 1:
            raise ValueError(f"times must be at least 1, got {times}")
        self._planned.setdefault(step, []).append(_Planned(times, where))

    def _due(self, step: Step, event: Event) -> bool:
        plans = self._planned.get(step)
        if not plans:
            return False
        for plan in plans:
            if plan.where is None or plan.where(event):
                plan.times -= 1
                if plan.times <= 0:
                    plans.remove(plan)
                self.injected[f"crash:{step}"] += 1
                return True
        return False

    async def _take_back(self, message: Message) -> None:
        """The broker takes the message back, as when the dead consumer's lease runs out."""
        if self._operator is None:
            raise RuntimeError("CrashInjection runs in a started host's pipeline only")
        with contextlib.suppress(LeaseLostError):  # it had already come back
            await self._operator.abandon(message.event)

    async def handle(self, message: Message, call_next: Handle) -> Outcome:
        if self._due("after_lease", message.event):
            await self._take_back(message)
            return Outcome.LEASE_LOST
        return await call_next(message)

    async def publish(self, message: Message, events: list[Event], call_next: Publish) -> None:
        await call_next(message, events)
        event = message.event
        step: Step | None = None
        if events and self._due("after_publish", event):
            step = "after_publish"
        elif self._due("before_complete", event):
            step = "before_complete"
        if step is not None:
            await self._take_back(message)
            raise LeaseLostError(f"injected: crashed at {step} for {event.event_type} {event.id}")

    def __repr__(self) -> str:
        return f"CrashInjection(planned={sum(len(p) for p in self._planned.values())})"
