"""The actor harness: a host on a recording in-memory broker, with helpers for tests."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from datetime import timedelta
from types import TracebackType
from typing import Any, Literal, Self, TypeVar

from pydantic import BaseModel

from beehive.actors import ActorDescriptor
from beehive.backoff import Backoff
from beehive.errors import UndeclaredEventError, UnexpectedDeadLetterError
from beehive.events import Event
from beehive.host import ActorHost
from beehive.inbox import Inbox
from beehive.middleware.base import Message, Middleware, Publish
from beehive.names import QueueName
from beehive.queues.base import DeadLetterInfo, seconds
from beehive.queues.memory import InMemoryQueueOperator
from beehive.testing._clock import VirtualClock
from beehive.versions import Upcasters

M = TypeVar("M", bound=BaseModel)
Undeclared = Literal["error", "log", "ignore"]

logger = logging.getLogger("beehive.testing")

FAST_BACKOFF = Backoff(initial=0.01, factor=2.0, maximum=0.1, jitter=0.0)
"""Retries within milliseconds, so tests of retry paths stay fast on the real clock."""

REAL_TIMEOUT = 10.0
VIRTUAL_TIMEOUT = 86400.0


class RecordingQueueOperator(InMemoryQueueOperator):
    """The in-memory broker, keeping every event pushed to it in ``published`` and every
    dead letter it stored (with its queue) in ``dead``."""

    def __init__(self) -> None:
        super().__init__()
        self.published: list[Event] = []
        self.dead: list[tuple[QueueName, Event]] = []

    async def push(self, event: Event) -> None:
        await super().push(event)
        self.published.append(event)

    async def push_batch(self, events: Sequence[Event]) -> None:
        await super().push_batch(events)
        self.published.extend(events)

    def dead_lettered(self, queue: QueueName, event: Event) -> None:
        self.dead.append((queue, event))


class _EmitsCheck(Middleware):
    """Reports every event an actor returns that its descriptor does not declare in ``emits``."""

    def __init__(self, report: Callable[[UndeclaredEventError], None]) -> None:
        self._report = report

    async def publish(self, message: Message, events: list[Event], call_next: Publish) -> None:
        declared = frozenset(message.descriptor.emits)
        for event in events:
            destination = event.queue_name or event.event_type
            if destination not in declared and event.event_type not in declared:
                self._report(UndeclaredEventError(_undeclared(message.actor, event, declared)))
        await call_next(message, events)


def _undeclared(actor: str, event: Event, declared: frozenset[str]) -> str:
    where = f" to {event.queue_name}" if event.queue_name not in ("", event.event_type) else ""
    return (
        f"{actor} returned an event of type {event.event_type}{where}, which is not in its "
        f"emits ({', '.join(sorted(declared)) or 'none declared'}): declare it, as in "
        f"@actor(..., emits=[{event.event_type}]), so topology and the event graph know it"
    )


class ActorHarness:
    """A host on a recording in-memory broker, with helpers for tests.

    **Fail fast.** With ``raise_errors`` (the default), ``wait_idle`` and ``advance`` re-raise
    the first unexpected exception an actor raised, and raise
    :class:`~beehive.errors.UnexpectedDeadLetterError` for a dead letter no actor asked for
    (the broker's: a message without the session id its queue requires, or one delivered more
    than ``max_deliveries`` times), so a failing test shows why at once. Pass
    ``raise_errors=False`` to test retries and dead-lettering.

    **Undeclared events.** An actor returning an event whose type (or destination) is not in
    its ``emits`` is an :class:`~beehive.errors.UndeclaredEventError` (``undeclared="error"``,
    raised like an actor's error), a logged warning (``"log"``) or nothing (``"ignore"``).

    **Time.** Pass ``clock=VirtualClock()`` to run in simulated time: delayed retries,
    scheduled events, lease expiry, locks and pulsers fire without waiting; ``wait_idle``
    jumps time forward while only timers remain, and :meth:`advance` moves it on. Retries
    keep the host's real backoff then (time is free); on the real clock they take
    milliseconds (``FAST_BACKOFF``) unless ``backoff`` says otherwise.

    Idempotent actors get ``inbox``, or a fresh in-memory one; ``upcasters`` go to the host, and
    ``middleware`` joins its pipeline.
    """

    def __init__(
        self,
        descriptors: Iterable[ActorDescriptor],
        *,
        container: Any | None = None,
        raise_errors: bool = True,
        backoff: Backoff | None = None,
        operator: RecordingQueueOperator | None = None,
        inbox: Inbox | None = None,
        clock: VirtualClock | None = None,
        undeclared: Undeclared = "error",
        upcasters: Upcasters | None = None,
        middleware: Iterable[Middleware] = (),
    ) -> None:
        if undeclared not in ("error", "log", "ignore"):
            raise ValueError(f"undeclared must be 'error', 'log' or 'ignore', not {undeclared!r}")
        descriptors = list(descriptors)
        if inbox is None and any(d.idempotent for d in descriptors):
            inbox = Inbox.in_memory()
        self.operator = operator or RecordingQueueOperator()
        self.clock = clock
        self.errors: list[BaseException] = []
        self._raise_errors = raise_errors
        self._undeclared = undeclared
        self._owns_clock = False
        if backoff is None:
            backoff = Backoff() if clock is not None else FAST_BACKOFF
        self.host = ActorHost(
            self.operator,
            descriptors,
            container=container,
            backoff=backoff,
            poll_wait=60.0,
            on_failure=lambda _descriptor, _event, error: self.errors.append(error),
            middleware=[
                *([] if undeclared == "ignore" else [_EmitsCheck(self._report)]),
                *middleware,
            ],
            inbox=inbox,
            upcasters=upcasters,
        )

    def _report(self, error: UndeclaredEventError) -> None:
        if self._undeclared == "error":
            self.errors.append(error)
        else:
            logger.warning("%s", error)

    async def publish(self, *events: Event) -> None:
        await self.operator.push_batch(events)

    async def wait_idle(self, timeout: float | timedelta | None = None) -> None:
        """Wait until no message is ready, scheduled or in flight anywhere.

        ``timeout`` is on the harness's clock: 10 real seconds by default, or one simulated
        day on the virtual clock, where time jumps from timer to timer meanwhile. Raises
        TimeoutError naming what is still pending, or fails fast (see the class).
        """
        limit = seconds(timeout) if timeout is not None else self._default_timeout
        try:
            await self.operator.wait_idle(limit)
        except TimeoutError:
            self._raise_first_error()
            raise TimeoutError(f"not idle after {limit:g}s: {self.host.stats()}") from None
        self._raise_first_error()

    @property
    def _default_timeout(self) -> float:
        return REAL_TIMEOUT if self.clock is None else VIRTUAL_TIMEOUT

    async def advance(
        self,
        delta: float | timedelta = 0.0,
        *,
        seconds: float = 0.0,
        minutes: float = 0.0,
        hours: float = 0.0,
        days: float = 0.0,
    ) -> None:
        """Let simulated time pass (see :meth:`VirtualClock.advance`), then fail fast."""
        if self.clock is None:
            raise TypeError(
                "advance needs the virtual clock: ActorHarness(..., clock=VirtualClock())"
            )
        await self.clock.advance(delta, seconds=seconds, minutes=minutes, hours=hours, days=days)
        self._raise_first_error()

    def _raise_first_error(self) -> None:
        if not self._raise_errors:
            return
        if self.errors:
            raise self.errors[0]
        for queue, event in self.operator.dead:
            info = DeadLetterInfo.of(event)
            if info.actor is None:  # no actor asked for it: the broker made it
                raise UnexpectedDeadLetterError(
                    f"the broker dead-lettered {event.event_type} {event.id} in {queue}: "
                    f"{info.reason}" + (f" ({info.description})" if info.description else "")
                )

    def published(self, event_type: str | type[BaseModel] | None = None) -> list[Event]:
        """Every event pushed so far (by the test or by actors), optionally of one type."""
        if event_type is None:
            return list(self.operator.published)
        name = event_type if isinstance(event_type, str) else event_type.__name__
        return [e for e in self.operator.published if e.event_type == name]

    def published_bodies(self, model: type[M]) -> list[M]:
        """The bodies of every published event of ``model``'s type, validated."""
        return [event.body_as(model) for event in self.published(model)]

    def dead_letters(self, source: str | QueueName | None = None) -> list[Event]:
        """Every event dead-lettered so far, optionally in one subscription or queue.

        Like :meth:`published`, a record of what happened (a replayed dead letter stays in
        it), read without awaiting. Each carries ``properties["dead_letter_reason"]``.
        """
        if source is None:
            return [event for _, event in self.operator.dead]
        name = QueueName(source)
        return [event for queue, event in self.operator.dead if queue == name]

    async def __aenter__(self) -> Self:
        if self.clock is not None and not self.clock.installed:
            self.clock.install()
            self._owns_clock = True
        try:
            await self.host.start()
        except BaseException:
            self._release_clock()
            raise
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            await self.host.stop(grace=1.0)
            await self.operator.close()
        finally:
            self._release_clock()

    def _release_clock(self) -> None:
        if self._owns_clock and self.clock is not None:
            self.clock.uninstall()
            self._owns_clock = False
