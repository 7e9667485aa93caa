"""The actor host: BeeHive's factory actor and orchestrator in one."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from datetime import timedelta
from types import TracebackType
from typing import Any, Self

from beehive._consumer import Consumer, FailureHook
from beehive._di import actor_factory
from beehive._observe import Observer, combine
from beehive.actors import ActorDescriptor
from beehive.backoff import Backoff
from beehive.errors import ActorConfigurationError
from beehive.events import Event
from beehive.inbox import Inbox
from beehive.journal import Journal
from beehive.names import QueueName
from beehive.queues.base import QueueOperator, seconds
from beehive.stats import ActorStats
from beehive.versions import Upcasters, upcasting

logger = logging.getLogger("beehive.host")


class ActorHost:
    """Runs actors: creates the topology, leases messages, builds actors, publishes, settles.

    Each enabled descriptor gets ``parallelism`` workers. Outgoing events are published
    *before* the incoming message is completed, so delivery is at-least-once: a crash between
    the two redelivers the message and its events are published again.

    ``container`` is a dependency-injector container whose providers fill actors'
    constructor parameters (by name, or through ``Provide[...]`` defaults). ``backoff`` spaces
    retries; ``poll_wait`` is how long one long-poll of the broker waits; ``on_failure`` is
    called with every unexpected actor exception (``beehive.testing`` uses it to fail fast).

    ``inbox`` makes the actors marked ``idempotent`` run at most once per event id (see
    :mod:`beehive.inbox`); while they run, the host purges its expired records every
    ``inbox.purge_every``. Other actors never touch it.

    ``tracing`` (a :class:`beehive.tracing.Tracing`, the ``otel`` extra) opens an
    OpenTelemetry span per message and carries the trace context in the events' properties;
    ``journal`` (a :class:`~beehive.journal.Journal`) records every message handled, per
    correlation, for ``beehive trace``. Without them the host pays nothing for either.

    ``upcasters`` (:class:`beehive.versions.Upcasters`) upgrade events of older versions
    before the actors see them; events newer than their model are dead-lettered.
    """

    def __init__(
        self,
        operator: QueueOperator,
        descriptors: Iterable[ActorDescriptor],
        *,
        container: Any | None = None,
        backoff: Backoff | None = None,
        poll_wait: float | timedelta = 5.0,
        stop_grace: float | timedelta = 30.0,
        on_failure: FailureHook | None = None,
        inbox: Inbox | None = None,
        tracing: Observer | None = None,
        journal: Journal | None = None,
        upcasters: Upcasters | None = None,
    ) -> None:
        self._operator = operator
        self._descriptors = [d for d in descriptors if d.enabled]
        self._container = container
        self._backoff = backoff or Backoff()
        self._poll_wait = seconds(poll_wait)
        self._stop_grace = seconds(stop_grace)
        self._on_failure = on_failure
        self._inbox = inbox
        self._tracing = tracing
        self._journal = journal
        self._upcasters = upcasters
        self._purger: asyncio.Task[None] | None = None
        self._consumers: list[Consumer] = []
        self._pulses: dict[str, float] = {}
        self._pulsers: list[asyncio.Task[None]] = []
        self._running = False

    @property
    def operator(self) -> QueueOperator:
        return self._operator

    @property
    def inbox(self) -> Inbox | None:
        return self._inbox

    @property
    def journal(self) -> Journal | None:
        return self._journal

    @property
    def descriptors(self) -> list[ActorDescriptor]:
        return list(self._descriptors)

    @property
    def running(self) -> bool:
        return self._running

    def pulse(self, event_type: str, *, every: float | timedelta) -> None:
        """Publish an empty ``event_type`` event on an interval (BeeHive's SimpleAutoPulser)."""
        interval = seconds(every)
        if interval <= 0:
            raise ValueError(f"pulse interval must be positive, got {interval}")
        QueueName.topic_of(event_type)
        if self._running:
            self._pulsers.append(asyncio.create_task(self._pulse(event_type, interval)))
        self._pulses[event_type] = interval

    async def start(self) -> None:
        """Check every actor can be built, create the topology, then start consuming."""
        if self._running:
            return
        idempotent = [d.name for d in self._descriptors if d.idempotent]
        if idempotent and self._inbox is None:
            raise ActorConfigurationError(
                f"{', '.join(idempotent)} {'is' if len(idempotent) == 1 else 'are'} idempotent, "
                "and the host has no inbox: pass ActorHost(..., inbox=Inbox(store))"
            )
        factories = [actor_factory(d.actor_type, self._container) for d in self._descriptors]
        if self._upcasters is not None:
            factories = [upcasting(factory, self._upcasters) for factory in factories]
        await self._setup_topology()
        observer = combine(self._tracing, self._journal)
        if self._journal is not None:
            self._journal.start()
        self._consumers = [
            Consumer(
                descriptor,
                self._operator,
                factory,
                backoff=self._backoff,
                poll_wait=self._poll_wait,
                on_failure=self._on_failure,
                inbox=self._inbox,
                observer=observer,
            )
            for descriptor, factory in zip(self._descriptors, factories, strict=True)
        ]
        for consumer in self._consumers:
            consumer.start()
        self._pulsers = [
            asyncio.create_task(self._pulse(event_type, interval))
            for event_type, interval in self._pulses.items()
        ]
        if idempotent and self._inbox is not None and self._inbox.purge_every is not None:
            self._purger = asyncio.create_task(
                self._purge(self._inbox, self._inbox.purge_every.total_seconds())
            )
        self._running = True
        logger.info("host started %d actors", len(self._consumers))

    async def _setup_topology(self) -> None:
        queues = {d.source for d in self._descriptors if not d.queue.is_subscription}
        for descriptor in self._descriptors:
            await self._operator.setup_queue(descriptor.source, descriptor.settings)
        topics = {topic for d in self._descriptors for topic in d.emits} | set(self._pulses)
        for topic in sorted(topics - queues):
            await self._operator.setup_queue(QueueName.topic_of(topic))

    async def _pulse(self, event_type: str, interval: float) -> None:
        while True:
            await asyncio.sleep(interval)
            try:
                await self._operator.push(Event(event_type=event_type, body="{}"))
            except Exception:
                logger.exception("pulse %s failed", event_type)

    @staticmethod
    async def _purge(inbox: Inbox, interval: float) -> None:
        while True:
            try:
                await inbox.purge_expired()
            except Exception:
                logger.exception("purging the inbox failed")
            await asyncio.sleep(interval)

    async def stop(self, grace: float | timedelta | None = None) -> None:
        """Stop leasing; let in-flight messages finish within ``grace``; abandon the rest.

        Abandoned messages are visible again at once, for this host or another.
        """
        if not self._running:
            return
        self._running = False
        background = [*self._pulsers, *([self._purger] if self._purger else [])]
        self._purger = None
        for task in background:
            task.cancel()
        await asyncio.gather(*background, return_exceptions=True)
        wait = self._stop_grace if grace is None else seconds(grace)
        await asyncio.gather(*(consumer.stop(wait) for consumer in self._consumers))
        if self._journal is not None:
            await self._journal.stop()
        logger.info("host stopped")

    def stats(self) -> dict[str, ActorStats]:
        """Counters per actor (``ActorClass@source``) since the host started."""
        return {c.descriptor.name: c.counters.snapshot() for c in self._consumers}

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()
