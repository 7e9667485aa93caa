"""The actor host: BeeHive's factory actor and orchestrator in one."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from dataclasses import replace
from datetime import timedelta
from types import TracebackType
from typing import Any, Self

from beehive import _gc
from beehive._consumer import Consumer, FailureHook
from beehive._di import actor_factory
from beehive._pulsers import Pulser, PulseReset
from beehive.actors import ActorDescriptor
from beehive.backoff import Backoff
from beehive.errors import ActorConfigurationError
from beehive.inbox import Inbox
from beehive.journal import Journal
from beehive.middleware.base import Middleware
from beehive.middleware.inbox import Idempotency
from beehive.middleware.journal import Journaling
from beehive.middleware.statistics import Statistics
from beehive.names import QueueName
from beehive.queues.base import QueueOperator, seconds
from beehive.stats import ActorStats
from beehive.stores.base import KeyValueStore
from beehive.stores.memory import InMemoryKeyValueStore
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

    Each message goes through a pipeline of :class:`~beehive.middleware.Middleware` (see
    :mod:`beehive.middleware`), outermost first: the host's :class:`Statistics`, then
    ``tracing``, the journal, ``middleware`` in the order given, and the inbox innermost,
    around the actor. The keyword arguments are shorthands for the built-in middleware:

    - ``inbox`` makes the actors marked ``idempotent`` run at most once per event id
      (:class:`~beehive.middleware.Idempotency`, see :mod:`beehive.inbox`); while they run,
      the host purges its expired records every ``inbox.purge_every``. Those also marked
      ``exclusive`` first claim each event in ``inbox.claims`` (see :mod:`beehive.claims`).
      Other actors never touch it.
    - ``tracing`` (a :class:`beehive.tracing.Tracing`, the ``otel`` extra) opens an
      OpenTelemetry span per message and carries the trace context in the events' properties.
    - ``journal`` (a :class:`~beehive.journal.Journal`) records every message handled, per
      correlation, for ``beehive trace`` (:class:`~beehive.middleware.Journaling`).

    A middleware that is not there costs nothing per message.

    ``upcasters`` (:class:`beehive.versions.Upcasters`) upgrade events of older versions
    before the actors see them; events newer than their model are dead-lettered.

    While hosts run, the garbage collector collects young objects less often (see
    :mod:`beehive._gc`; a process that set its own collector thresholds keeps them);
    ``tune_gc=False`` leaves the collector alone.
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
        middleware: Iterable[Middleware] = (),
        inbox: Inbox | None = None,
        tracing: Middleware | None = None,
        journal: Journal | None = None,
        upcasters: Upcasters | None = None,
        tune_gc: bool = True,
    ) -> None:
        self._operator = operator
        self._descriptors = [d for d in descriptors if d.enabled]
        self._container = container
        self._backoff = backoff or Backoff()
        self._poll_wait = seconds(poll_wait)
        self._stop_grace = seconds(stop_grace)
        self._on_failure = on_failure
        self._upcasters = upcasters
        self._tune_gc = tune_gc
        self._gc_held = False
        self._statistics = Statistics()
        self._middleware: tuple[Middleware, ...] = (
            self._statistics,
            *([tracing] if tracing is not None else []),
            *([Journaling(journal)] if journal is not None else []),
            *middleware,
            *([Idempotency(inbox)] if inbox is not None else []),
        )
        for each in self._middleware:
            if not isinstance(each, Middleware):
                raise TypeError(
                    f"middleware must be beehive.middleware.Middleware instances, not {each!r}"
                )
        self._consumers: list[Consumer] = []
        self._pulses: dict[str, Pulser] = {}
        self._schedules: KeyValueStore | None = None  # pulses' own, when not given one
        self._pulsers: list[asyncio.Task[None]] = []
        self._running = False

    @property
    def operator(self) -> QueueOperator:
        return self._operator

    @property
    def middleware(self) -> tuple[Middleware, ...]:
        """The pipeline every message goes through, outermost first."""
        return self._middleware

    @property
    def inbox(self) -> Inbox | None:
        """The inbox of the pipeline's :class:`~beehive.middleware.Idempotency`, if any."""
        found = [m.inbox for m in self._middleware if isinstance(m, Idempotency)]
        return found[0] if found else None

    @property
    def journal(self) -> Journal | None:
        """The journal of the pipeline's :class:`~beehive.middleware.Journaling`, if any."""
        found = [m.journal for m in self._middleware if isinstance(m, Journaling)]
        return found[0] if found else None

    @property
    def descriptors(self) -> list[ActorDescriptor]:
        return list(self._descriptors)

    @property
    def running(self) -> bool:
        return self._running

    def pulse(
        self,
        event_type: str,
        *,
        every: float | timedelta,
        up_to: float | timedelta | None = None,
        factor: float = 2.0,
        store: KeyValueStore | None = None,
    ) -> None:
        """Publish an empty ``event_type`` event on an interval (BeeHive's pulsers).

        With ``up_to``, the interval grows by ``factor`` after each pulse, to at most
        ``up_to``, and goes back to ``every`` when an actor of this host handling the pulse
        returns events (a polling actor that found work). The schedule lives in ``store``:
        hosts given one shared store publish one pulse per interval between them; without
        one, each host keeps its own and every host pulses.
        """
        interval = seconds(every)
        limit = None if up_to is None else seconds(up_to)
        QueueName.topic_of(event_type)
        if limit is not None and self._running:
            raise ActorConfigurationError(
                f"pulse {event_type}: a growing pulse is set up before the host starts"
            )
        if store is None:
            store = self._schedules = self._schedules or InMemoryKeyValueStore()
        pulser = Pulser(
            event_type, self._operator, store, every=interval, up_to=limit, factor=factor
        )
        if self._running:
            self._pulsers.append(asyncio.create_task(pulser.run()))
        self._pulses[event_type] = pulser

    async def start(self) -> None:
        """Check every actor can be built, create the topology, then start consuming."""
        if self._running:
            return
        idempotent = [d.name for d in self._descriptors if d.idempotent]
        if idempotent and self.inbox is None:
            raise ActorConfigurationError(
                f"{', '.join(idempotent)} {'is' if len(idempotent) == 1 else 'are'} idempotent, "
                "and the host has no inbox: pass ActorHost(..., inbox=Inbox(store))"
            )
        exclusive = [d.name for d in self._descriptors if d.exclusive]
        if exclusive and (self.inbox is None or self.inbox.claims is None):
            raise ActorConfigurationError(
                f"{', '.join(exclusive)} {'is' if len(exclusive) == 1 else 'are'} exclusive, and "
                "the host's inbox has no claims: pass Inbox(store, claims=Claims(lock_store)) "
                "with a lock store every host shares"
            )
        factories = [actor_factory(d.actor_type, self._container) for d in self._descriptors]
        if self._upcasters is not None:
            factories = [upcasting(factory, self._upcasters) for factory in factories]
        await self._setup_topology()
        for each in self._middleware:
            await each.start(self)
        middleware = self._middleware
        if any(pulser.grows for pulser in self._pulses.values()):
            middleware = (*middleware, PulseReset(self._pulses))
        self._consumers = [
            Consumer(
                descriptor,
                self._operator,
                factory,
                backoff=self._backoff,
                poll_wait=self._poll_wait,
                on_failure=self._on_failure,
                middleware=middleware,
            )
            for descriptor, factory in zip(self._descriptors, factories, strict=True)
        ]
        for consumer in self._consumers:
            consumer.start()
        self._pulsers = [asyncio.create_task(pulser.run()) for pulser in self._pulses.values()]
        self._running = True
        if self._tune_gc:
            _gc.hold()
            self._gc_held = True
        logger.info("host started %d actors", len(self._consumers))

    async def _setup_topology(self) -> None:
        queues = {d.source for d in self._descriptors if not d.queue.is_subscription}
        for descriptor in self._descriptors:
            await self._operator.setup_queue(descriptor.source, descriptor.settings)
        topics = {topic for d in self._descriptors for topic in d.emits} | set(self._pulses)
        for topic in sorted(topics - queues):
            await self._operator.setup_queue(QueueName.topic_of(topic))

    async def stop(self, grace: float | timedelta | None = None) -> None:
        """Stop leasing; let in-flight messages finish within ``grace``; abandon the rest.

        Abandoned messages are visible again at once, for this host or another.
        """
        if not self._running:
            return
        self._running = False
        for task in self._pulsers:
            task.cancel()
        await asyncio.gather(*self._pulsers, return_exceptions=True)
        wait = self._stop_grace if grace is None else seconds(grace)
        await asyncio.gather(*(consumer.stop(wait) for consumer in self._consumers))
        try:
            for each in reversed(self._middleware):
                await each.stop()
        finally:
            if self._gc_held:
                self._gc_held = False
                _gc.release()
        logger.info("host stopped")

    def stats(self) -> dict[str, ActorStats]:
        """Counters per actor (``ActorClass@source``) since the host started."""
        renewals = {c.descriptor.name: c.lease_renewals for c in self._consumers}
        return {
            name: replace(stats, lease_renewals=renewals.get(name, 0))
            for name, stats in self._statistics.snapshot().items()
        }

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
