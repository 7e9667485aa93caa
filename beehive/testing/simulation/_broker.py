"""The broker of a simulated run: the recording in-memory broker, with seeded delivery delays,
behind a :class:`~beehive.faults.FaultyQueueOperator` whose faults the run's plan decides.

Delays decide the order of deliveries: each copy of an event (one per subscription) becomes
visible after its own seeded delay, so ready messages are delivered in an order the seed picks,
across subscriptions and within one; within a session, copies keep their order (Service Bus's
guarantee), each visible after the one before it.
"""

from __future__ import annotations

import asyncio

from beehive.events import Event
from beehive.faults import FaultyQueueOperator
from beehive.queues.memory import _Message, _Queue
from beehive.testing._harness import RecordingQueueOperator
from beehive.testing.simulation._context import HANDLING
from beehive.testing.simulation._faults import Chance, EventNames, Plan

__all__ = ["DelayingBroker", "PlannedFaults"]

_SESSION_GAP = 1e-3
"""Seconds between two copies of one session made visible in a row: keeps their order."""


class DelayingBroker(RecordingQueueOperator):
    """Each copy of an event waits a seeded delay (up to ``max_delay`` seconds) to be visible."""

    def __init__(self, chance: Chance, names: EventNames, max_delay: float) -> None:
        super().__init__()
        self._chance = chance
        self._event_names = names
        self._max_delay = max_delay
        self._sessions: dict[tuple[str, str], float] = {}  # when each session's last copy shows

    def _accept(self, queue: _Queue, message: _Message, delay: float) -> None:
        if self._max_delay:
            event = message.event
            name = self._event_names(event)
            delay += self._max_delay * self._chance("delivery", queue.name, name)
            if event.session_id is not None and queue.settings.sessions:
                now = asyncio.get_running_loop().time()
                key = (str(queue.name), event.session_id)
                due = max(now + delay, self._sessions.get(key, now) + _SESSION_GAP)
                self._sessions[key] = due
                delay = due - now
        super()._accept(queue, message, delay)


class PlannedFaults(FaultyQueueOperator):
    """Duplicates, lease expiries and failed publishes, when the run's plan says so."""

    def __init__(self, inner: DelayingBroker, plan: Plan) -> None:
        super().__init__(inner, seed=0)  # its own draws are never used: the plan decides
        self._run_plan = plan

    def _decide(self, rate: float, kind: str, event: Event | None, source: str) -> bool:
        plan = self._run_plan
        if event is not None and kind == "duplicate":
            name = plan.names(event)
            return plan.decide("duplicate", source, name, event.delivery_count, event_id=event.id)
        if event is not None and kind == "lease_expiry":
            name = plan.names(event)
            return plan.decide(
                "lease_expiry", source, name, event.delivery_count, event_id=event.id
            )
        if kind == "publish_failure":
            handling = HANDLING.get()
            if handling is None:
                return False  # the workload is published as it is
            handling.calls += 1
            return handling.fault(plan, "publish_failure", f"publish #{handling.calls}")
        return False
