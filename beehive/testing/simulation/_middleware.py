"""The simulation in the host's pipeline: where each message's handling may stop, and a record
of how each message ended.

Around each message it sets the :data:`~beehive.testing.simulation._context.HANDLING` context
(which store calls, publishes and new event ids read), then lets the run's plan decide whether
the consumer lets go of the message at once (``abandon``), or the host dies after the actor
ran (``crash_after_process``), after publishing (``crash_after_publish``) or just before
completing (``crash_before_complete``). A crash settles nothing: the message stays leased
until its lease runs out, as a dead host's would, and comes back with one more delivery.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, NamedTuple

from beehive._clock import monotonic
from beehive.errors import LeaseLostError
from beehive.events import Event
from beehive.middleware.base import Handle, Message, Middleware, Outcome, Process, Publish
from beehive.queues.base import QueueOperator
from beehive.testing.simulation._context import HANDLING, Handling
from beehive.testing.simulation._faults import FaultKind, Plan

if TYPE_CHECKING:
    from beehive.host import ActorHost

__all__ = ["Chaos", "Settled"]


class Settled(NamedTuple):
    """How one message ended, and when (on the loop's simulated clock)."""

    time: float
    actor: str
    event_id: str
    delivery: int
    outcome: str
    correlation_id: str


def _crashed(kind: FaultKind, handling: Handling) -> LeaseLostError:
    step = kind.removeprefix("crash_").replace("_", " ")
    return LeaseLostError(
        f"simulated: the host crashed {step} of {handling.event_id} in {handling.actor}; the "
        "broker delivers it again when its lease runs out"
    )


class Chaos(Middleware):
    """Sets the handling context, injects the per-delivery faults, records every settlement."""

    def __init__(self, plan: Plan) -> None:
        self.plan = plan
        self.settlements: list[Settled] = []
        self._operator: QueueOperator | None = None

    async def start(self, host: ActorHost) -> None:
        self._operator = host.operator

    def _decide(self, kind: FaultKind, handling: Handling) -> bool:
        return handling.fault(self.plan, kind)

    async def handle(self, message: Message, call_next: Handle) -> Outcome:
        event = message.event
        handling = Handling(
            message.actor,
            str(message.descriptor.source),
            event.id,
            self.plan.names(event),
            event.delivery_count,
        )
        token = HANDLING.set(handling)
        try:
            if self._decide("abandon", handling) and self._operator is not None:
                with contextlib.suppress(LeaseLostError):
                    await self._operator.abandon(event)
                return Outcome.LEASE_LOST
            return await call_next(message)
        finally:
            HANDLING.reset(token)

    async def process(self, message: Message, call_next: Process) -> list[Event]:
        handling = HANDLING.get()
        if handling is None:  # not under this middleware's handle: nothing to simulate
            return await call_next(message)
        try:
            events = await call_next(message)
        except Exception:
            if handling.crashed:  # a store crashed the host, whatever the actor made of it
                raise _crashed("crash_after_store_write", handling) from None
            raise
        if handling.crashed:  # the actor swallowed the crash: the host is dead all the same
            raise _crashed("crash_after_store_write", handling)
        if self._decide("crash_after_process", handling):
            handling.crashed = True
            raise _crashed("crash_after_process", handling)
        return events

    async def publish(self, message: Message, events: list[Event], call_next: Publish) -> None:
        await call_next(message, events)
        handling = HANDLING.get()
        if handling is None:
            return
        kind: FaultKind
        if events and self._decide("crash_after_publish", handling):
            kind = "crash_after_publish"
        elif self._decide("crash_before_complete", handling):
            kind = "crash_before_complete"
        else:
            return
        handling.crashed = True
        raise _crashed(kind, handling)

    def settled(self, message: Message, outcome: Outcome) -> None:
        event = message.event
        self.settlements.append(
            Settled(
                monotonic(),
                message.actor,
                event.id,
                event.delivery_count,
                outcome.value,
                event.correlation_id or event.id,
            )
        )
