"""Test support: run actors on the in-memory broker, publish, wait until idle, inspect.

::

    async with ActorHarness(discover("myapp.actors"), container=Container()) as hive:
        await hive.publish(Event(OrderAccepted(order_id="o-1")))
        await hive.wait_idle()
        assert hive.published_bodies(PaymentAuthorised)[0].order_id == "o-1"
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import timedelta
from types import TracebackType
from typing import Any, Self, TypeVar

from pydantic import BaseModel

from beehive.actors import ActorDescriptor
from beehive.backoff import Backoff
from beehive.events import Event
from beehive.faults import FaultyQueueOperator, SimulatedCrash
from beehive.host import ActorHost
from beehive.inbox import Inbox
from beehive.middleware.base import Middleware
from beehive.middleware.faults import CrashInjection
from beehive.queues.base import seconds
from beehive.queues.memory import InMemoryQueueOperator
from beehive.versions import Upcasters

__all__ = [
    "FAST_BACKOFF",
    "ActorHarness",
    "CrashInjection",
    "FaultyQueueOperator",
    "RecordingQueueOperator",
    "SimulatedCrash",
]

M = TypeVar("M", bound=BaseModel)

FAST_BACKOFF = Backoff(initial=0.01, factor=2.0, maximum=0.1, jitter=0.0)
"""Retries within milliseconds, so tests of retry paths stay fast."""


class RecordingQueueOperator(InMemoryQueueOperator):
    """The in-memory broker, keeping every event pushed to it in ``published``."""

    def __init__(self) -> None:
        super().__init__()
        self.published: list[Event] = []

    async def push(self, event: Event) -> None:
        await super().push(event)
        self.published.append(event)

    async def push_batch(self, events: Sequence[Event]) -> None:
        await super().push_batch(events)
        self.published.extend(events)


class ActorHarness:
    """A host on a recording in-memory broker, with helpers for tests.

    With ``raise_errors`` (the default), the first unexpected exception an actor raises is
    re-raised from ``wait_idle``, so a failing test shows the actor's traceback at once.
    Pass ``raise_errors=False`` to test retries and dead-lettering. Idempotent actors get
    ``inbox``, or a fresh in-memory one; ``upcasters`` go to the host, and ``middleware``
    joins its pipeline.
    """

    def __init__(
        self,
        descriptors: Iterable[ActorDescriptor],
        *,
        container: Any | None = None,
        raise_errors: bool = True,
        backoff: Backoff = FAST_BACKOFF,
        operator: RecordingQueueOperator | None = None,
        inbox: Inbox | None = None,
        upcasters: Upcasters | None = None,
        middleware: Iterable[Middleware] = (),
    ) -> None:
        descriptors = list(descriptors)
        if inbox is None and any(d.idempotent for d in descriptors):
            inbox = Inbox.in_memory()
        self.operator = operator or RecordingQueueOperator()
        self.errors: list[BaseException] = []
        self._raise_errors = raise_errors
        self.host = ActorHost(
            self.operator,
            descriptors,
            container=container,
            backoff=backoff,
            poll_wait=60.0,
            on_failure=lambda _descriptor, _event, error: self.errors.append(error),
            middleware=middleware,
            inbox=inbox,
            upcasters=upcasters,
        )

    async def publish(self, *events: Event) -> None:
        await self.operator.push_batch(events)

    async def wait_idle(self, timeout: float | timedelta = 10.0) -> None:
        """Wait until no message is ready, scheduled or in flight anywhere.

        Raises TimeoutError naming what is still pending, or an actor's error (fail fast).
        """
        try:
            await self.operator.wait_idle(seconds(timeout))
        except TimeoutError:
            self._raise_first_error()
            raise TimeoutError(f"not idle after {seconds(timeout)}s: {self.host.stats()}") from None
        self._raise_first_error()

    def _raise_first_error(self) -> None:
        if self._raise_errors and self.errors:
            raise self.errors[0]

    def published(self, event_type: str | type[BaseModel] | None = None) -> list[Event]:
        """Every event pushed so far (by the test or by actors), optionally of one type."""
        if event_type is None:
            return list(self.operator.published)
        name = event_type if isinstance(event_type, str) else event_type.__name__
        return [e for e in self.operator.published if e.event_type == name]

    def published_bodies(self, model: type[M]) -> list[M]:
        """The bodies of every published event of ``model``'s type, validated."""
        return [event.body_as(model) for event in self.published(model)]

    async def dead_letters(self, source: str) -> list[Event]:
        return await self.operator.dead_letters(source)

    async def __aenter__(self) -> Self:
        await self.host.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.host.stop(grace=1.0)
        await self.operator.close()
