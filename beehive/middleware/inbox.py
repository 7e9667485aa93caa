"""The inbox in the pipeline: idempotent actors run at most once per event id.

``ActorHost(..., inbox=Inbox(store))`` adds :class:`Idempotency` innermost, around the
actor, for the descriptors marked ``idempotent`` only (other actors never touch the inbox).
Per message it reads the record of (actor, event id): none, and the actor runs, its events
are recorded, then published; one, and the actor does not run: the recorded events are
published again on a redelivery (:func:`beehive.inbox.republish`) and the message ends
:attr:`~beehive.middleware.Outcome.DUPLICATE`. An actor also marked ``exclusive`` claims
(actor, event id) in ``inbox.claims`` around all that, so copies in other hosts wait for it
(:mod:`beehive.claims`). While the host runs it purges expired records every
``inbox.purge_every``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING

from beehive.actors import ActorDescriptor
from beehive.events import Event
from beehive.inbox import Inbox, republish
from beehive.middleware.base import Message, Middleware, Process

if TYPE_CHECKING:
    from beehive.host import ActorHost

__all__ = ["Idempotency"]

logger = logging.getLogger("beehive.inbox")


class Idempotency(Middleware):
    """Runs idempotent actors through ``inbox``; see the module docstring."""

    def __init__(self, inbox: Inbox) -> None:
        self.inbox = inbox
        self._running: dict[tuple[str, str], asyncio.Event] = {}
        self._purger: asyncio.Task[None] | None = None

    def applies_to(self, descriptor: ActorDescriptor) -> bool:
        return descriptor.idempotent

    async def start(self, host: ActorHost) -> None:
        every = self.inbox.purge_every
        if every is not None and any(d.idempotent for d in host.descriptors):
            self._purger = asyncio.create_task(self._purge(every.total_seconds()))

    async def stop(self) -> None:
        if self._purger is not None:
            self._purger.cancel()
            await asyncio.gather(self._purger, return_exceptions=True)
            self._purger = None

    async def _purge(self, interval: float) -> None:
        while True:
            try:
                await self.inbox.purge_expired()
            except Exception:
                logger.exception("purging the inbox failed")
            await asyncio.sleep(interval)

    async def process(self, message: Message, call_next: Process) -> list[Event]:
        """Run the actor once per event id, or give back what it published the first time.

        A copy of an event this host is already processing waits for that run to end
        (keeping its lease), then finds its record: in one process, an idempotent actor runs
        once per event id even when copies arrive together.
        """
        key = (message.actor, message.event.id)
        while (running := self._running.get(key)) is not None:
            await running.wait()
        done = self._running[key] = asyncio.Event()
        try:
            return await self._once(message, call_next)
        finally:
            del self._running[key]
            done.set()

    async def _once(self, message: Message, call_next: Process) -> list[Event]:
        name, event = message.actor, message.event
        recorded = await self.inbox.recall(name, event.id)
        if recorded is None:
            claims = self.inbox.claims if message.descriptor.exclusive else None
            # An exclusive actor claims the event in every host first (beehive.claims).
            async with claims.hold(name, event.id) if claims else contextlib.nullcontext():
                if claims:  # the claim's last holder may have recorded while this copy waited
                    recorded = await self.inbox.recall(name, event.id)
                if recorded is None:
                    outgoing = await call_next(message)
                    # Recorded before publishing: a crash in between re-publishes the record.
                    recorded = await self.inbox.record(name, event.id, outgoing)
                    if recorded is None:
                        return outgoing
        # Done before, or by a concurrent copy that recorded first.
        message.duplicate = True
        return republish(event, recorded.events)

    def __repr__(self) -> str:
        return f"Idempotency({self.inbox!r})"
