"""The journal in the pipeline: one entry per message handled, for ``beehive trace``.

``ActorHost(..., journal=Journal(store))`` adds :class:`Journaling`, which records a
:class:`~beehive.journal.JournalEntry` (what the message was, which actor handled it, how it
ended, when and how long) once each message is settled, and starts and stops the journal's
background flushing with the host. Recording only appends to the journal's buffer: the
pipeline never waits for the store.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING
from uuid import uuid4

from beehive._clock import monotonic
from beehive.journal import Journal, JournalEntry
from beehive.middleware.base import Message, Middleware, Outcome

if TYPE_CHECKING:
    from beehive.host import ActorHost

__all__ = ["Journaling"]


class Journaling(Middleware):
    """Records every message the host handles in ``journal``."""

    def __init__(self, journal: Journal) -> None:
        self.journal = journal

    async def start(self, host: ActorHost) -> None:
        self.journal.start()

    async def stop(self) -> None:
        await self.journal.stop()

    def settled(self, message: Message, outcome: Outcome) -> None:
        event = message.event
        seconds = monotonic() - message.leased_at
        self.journal.record(
            JournalEntry.model_construct(  # trusted values: skip validation on the hot path
                id=uuid4().hex,
                timestamp=self.journal.clock() - timedelta(seconds=seconds),
                event_id=event.id,
                event_type=event.event_type,
                correlation_id=event.correlation_id or event.id,
                causation_id=event.causation_id,
                actor=message.actor,
                outcome=outcome.value,
                delivery_count=event.delivery_count,
                seconds=seconds,
            )
        )

    def __repr__(self) -> str:
        return f"Journaling({self.journal!r})"
