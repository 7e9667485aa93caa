"""Pulsers: an empty event on an interval, growing while the pulse finds nothing to do.

BeeHive had a ``SimpleAutoPulser`` and a pulser whose interval grows while nothing happens.
Here one :class:`Pulser` is both: without growth it publishes every ``every``; with
``up_to`` each pulse multiplies the next interval by ``factor`` (at most ``up_to``), and the
interval goes back to ``every`` as soon as an actor handling the pulse returns events.

The schedule (when the next pulse is due, and the interval) lives in a key-value store, as one
small JSON blob written under ETag concurrency: whoever writes the next due time wins the
pulse, so hosts sharing one store publish one pulse per interval between them, however many
they are. Without a shared store each host keeps its own schedule in memory, and every host
pulses. A waiting pulser reads the schedule again at least every ``every``, so a reset written
by another host is seen within one base interval.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Final

from beehive._clock import utcnow
from beehive.errors import ConcurrencyConflictError, KeyAlreadyExistsError, NotFoundError
from beehive.events import Event
from beehive.middleware.base import Message, Middleware, Publish
from beehive.queues.base import QueueOperator
from beehive.stores.base import KeyValueStore

if TYPE_CHECKING:
    from beehive.actors import ActorDescriptor

logger = logging.getLogger("beehive.host")

KEY_PREFIX: Final = "beehive-pulse-"
"""Key of a pulse's schedule in its store: this prefix, then the event type."""

_CONFLICTS: Final = (ConcurrencyConflictError, KeyAlreadyExistsError)


@dataclass(frozen=True, slots=True)
class _Schedule:
    due: datetime
    interval: float
    etag: str | None


class Pulser:
    """Publishes an empty ``event_type`` event when due; see the module docstring."""

    def __init__(
        self,
        event_type: str,
        operator: QueueOperator,
        store: KeyValueStore,
        *,
        every: float,
        up_to: float | None = None,
        factor: float = 2.0,
    ) -> None:
        if every <= 0:
            raise ValueError(f"pulse interval must be positive, got {every}")
        if up_to is not None and up_to < every:
            raise ValueError(f"up_to ({up_to}) must be at least every ({every})")
        if up_to is not None and factor <= 1:
            raise ValueError(f"factor must be greater than 1 for a growing pulse, got {factor}")
        self.event_type = event_type
        self.every = every
        self.up_to = up_to
        self.factor = factor
        self._operator = operator
        self._store = store
        self._key = KEY_PREFIX + event_type
        self._woken = asyncio.Event()

    @property
    def grows(self) -> bool:
        return self.up_to is not None

    def _grown(self, interval: float) -> float:
        if self.up_to is None:
            return self.every
        return min(interval * self.factor, self.up_to)

    async def run(self) -> None:
        """Pulse until cancelled; a failing store or broker is logged and tried again."""
        while True:
            try:
                await self._turn()
            except Exception:
                logger.exception("pulse %s failed", self.event_type)
                await asyncio.sleep(self.every)

    async def _turn(self) -> None:
        schedule = await self._read()
        wait = (schedule.due - utcnow()).total_seconds()
        if wait > 0:
            self._woken.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._woken.wait(), min(wait, self.every))
            return
        interval = self._grown(schedule.interval)
        try:
            await self._write(utcnow() + timedelta(seconds=interval), interval, schedule.etag)
        except _CONFLICTS:
            return  # another host took this pulse
        await self._operator.push(Event(event_type=self.event_type, body="{}"))

    async def reset(self) -> None:
        """The pulse found work: the next one is due within ``every`` again."""
        if not self.grows:
            return
        while True:
            schedule = await self._read()
            if schedule.interval <= self.every:
                return
            due = min(schedule.due, utcnow() + timedelta(seconds=self.every))
            try:
                await self._write(due, self.every, schedule.etag)
            except _CONFLICTS:
                continue
            self._woken.set()
            return

    async def _read(self) -> _Schedule:
        try:
            blob = await self._store.get(self._key)
        except NotFoundError:
            due = utcnow() + timedelta(seconds=self.every)
            try:
                etag = await self._write(due, self.every, None)
            except _CONFLICTS:
                return await self._read()
            return _Schedule(due, self.every, etag)
        state = json.loads(blob.body)
        return _Schedule(datetime.fromisoformat(state["due"]), float(state["interval"]), blob.etag)

    async def _write(self, due: datetime, interval: float, etag: str | None) -> str:
        body = json.dumps({"due": due.isoformat(), "interval": interval}).encode()
        if etag is None:
            return await self._store.put(
                self._key, body, content_type="application/json", if_none_match="*"
            )
        return await self._store.put(
            self._key, body, content_type="application/json", if_match=etag
        )


class PulseReset(Middleware):
    """Resets a growing pulser when an actor handling its pulse returns events."""

    def __init__(self, pulsers: dict[str, Pulser]) -> None:
        self._pulsers = pulsers

    def applies_to(self, descriptor: ActorDescriptor) -> bool:
        pulser = self._pulsers.get(descriptor.queue.topic)
        return pulser is not None and pulser.grows

    async def publish(self, message: Message, events: list[Event], call_next: Publish) -> None:
        await call_next(message, events)
        pulser = self._pulsers.get(message.event.event_type)
        if events and pulser is not None:
            try:
                await pulser.reset()
            except Exception:  # the events are out: a failed reset only delays the next pulse
                logger.exception("resetting pulse %s failed", pulser.event_type)
