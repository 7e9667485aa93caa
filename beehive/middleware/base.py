"""The host's pipeline: what runs around each message, and how a message can end.

A :class:`Middleware` is one concern (as in Dramatiq and FastStream). Two plain hooks watch
every message: ``received`` when it is leased, before anything else, and ``settled`` exactly
once when it has ended, with its :class:`Outcome` (statistics and the journal need no more).
And the host handles every message in three nested steps that a middleware can wrap:

- ``handle`` is the whole handling, from lease to settlement, and returns the
  :class:`Outcome`: where tracing sits, its span around everything that follows;
- ``process`` is the actor's part: it returns the events the actor caused (stamped with
  correlation and causation), or raises. A middleware that raises here (``DeadLetter``,
  ``Retry``, any exception) fails the message exactly as the actor raising would: this is
  where to reject events (``raise DeadLetter("unknown tenant")``), and where the inbox
  replaces the actor with what it recorded;
- ``publish`` sends those events, before the host completes the message: code after
  ``call_next`` runs with the events out and the message not yet completed.

Each of these receives the :class:`Message` and ``call_next``, the rest of the pipeline; not
calling it stops there (a ``handle`` that does so settles the message itself). Middleware
run in the order given, the first outermost (``settled`` in reverse order, like nested
``with`` blocks); only the hooks a middleware overrides cost anything per message.
"""

from __future__ import annotations

from abc import ABC
from collections.abc import Awaitable, Callable, Sequence
from enum import StrEnum
from typing import TYPE_CHECKING, Any, TypeVar

from beehive._clock import monotonic
from beehive.actors import ActorDescriptor
from beehive.events import Event

if TYPE_CHECKING:
    from beehive.host import ActorHost

__all__ = ["Handle", "Message", "Middleware", "Outcome", "Process", "Publish"]

T = TypeVar("T")


class Outcome(StrEnum):
    """How the host settled one message (the value is what logs and the journal show)."""

    SUCCEEDED = "succeeded"
    """Processed, its events published, completed."""
    DUPLICATE = "duplicate"
    """Found done before by the inbox: completed without running the actor again."""
    RETRIED = "retried"
    """Failed, and given back to the broker for a later delivery (with backoff)."""
    DEAD_LETTERED = "dead-lettered"
    """Moved to the dead-letter queue with a reason: it cannot succeed, or tried too often."""
    LEASE_LOST = "lease lost"
    """The broker took the message back before it was settled: it will be delivered again."""
    SETTLE_FAILED = "settle failed"
    """Settling it failed: when its lease runs out the broker delivers it again."""
    ABANDONED = "abandoned"
    """A stop gave it back unfinished, for this host or another."""


class Message:
    """One delivery of an event to one actor, as it goes through the pipeline.

    ``event`` is the leased event (settle that very object), ``descriptor`` the actor's
    descriptor, ``actor`` its name (``ActorClass@source``), ``leased_at`` when the host
    leased it (beehive's monotonic clock). The host sets ``outcome`` once it has settled the
    message. ``duplicate`` is set by a ``process`` middleware that found the work done
    before (the inbox): the message then ends :attr:`Outcome.DUPLICATE`.
    """

    __slots__ = ("actor", "descriptor", "duplicate", "event", "leased_at", "outcome")

    def __init__(self, event: Event, descriptor: ActorDescriptor, actor: str | None = None) -> None:
        self.event = event
        self.descriptor = descriptor
        self.actor = descriptor.name if actor is None else actor
        self.leased_at = monotonic()  # beehive's clock: virtual when a test installs one
        self.duplicate = False
        self.outcome: Outcome | None = None

    def __repr__(self) -> str:
        return f"<Message {self.event.event_type} {self.event.id} for {self.actor}>"


_HOOKS = frozenset(
    {"applies_to", "handle", "process", "publish", "received", "settled", "start", "stop"}
)

Handle = Callable[[Message], Awaitable[Outcome]]
Process = Callable[[Message], Awaitable[list[Event]]]
Publish = Callable[[Message, list[Event]], Awaitable[None]]


class Middleware(ABC):
    """One concern around each message the host handles; override the hooks you need.

    A middleware instance is shared by every actor of its host (and every worker): keep
    per-message state in local variables, not on ``self``.
    """

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        below = cls.__mro__[: cls.__mro__.index(Middleware)]
        own = {name for klass in below for name in vars(klass)}
        if not own & _HOOKS:
            raise TypeError(
                f"{cls.__qualname__} overrides none of the middleware hooks "
                f"({', '.join(sorted(_HOOKS))}): is one of them misspelt?"
            )

    def applies_to(self, descriptor: ActorDescriptor) -> bool:
        """Whether this middleware runs for ``descriptor``'s messages (all, by default)."""
        return True

    def received(self, message: Message) -> None:
        """A message was leased and enters the pipeline (plain, cheap: it must not block).

        Raising fails the message as the actor raising would.
        """

    def settled(self, message: Message, outcome: Outcome) -> None:
        """``message`` ended with ``outcome``: called once for every received message,
        abandoned ones included (plain, cheap: it must not block; an exception is logged)."""

    async def start(self, host: ActorHost) -> None:
        """The host is starting (its topology is set up, no message is leased yet)."""

    async def stop(self) -> None:
        """The host has stopped: every message is settled or abandoned."""

    async def handle(self, message: Message, call_next: Handle) -> Outcome:
        """Around the whole handling of ``message``; returns how it was settled."""
        return await call_next(message)

    async def process(self, message: Message, call_next: Process) -> list[Event]:
        """Around the actor: returns the events to publish, or raises to fail the message."""
        return await call_next(message)

    async def publish(self, message: Message, events: list[Event], call_next: Publish) -> None:
        """Around publishing ``events`` (possibly none), just before the host completes."""
        await call_next(message, events)


class Pipeline:
    """The middleware that apply to one actor, chained around the host's own three steps, and
    their plain hooks (``received`` in order, ``settled`` in reverse)."""

    __slots__ = ("handle", "process", "publish", "received", "settled")

    def __init__(
        self,
        middleware: Sequence[Middleware],
        *,
        handle: Handle,
        process: Process,
        publish: Publish,
    ) -> None:
        self.handle, self.process, self.publish = handle, process, publish
        received: list[Callable[[Message], None]] = []
        settled: list[Callable[[Message, Outcome], None]] = []
        for each in reversed(middleware):
            kind = type(each)
            if kind.received is not Middleware.received:
                received.insert(0, each.received)
            if kind.settled is not Middleware.settled:
                settled.append(each.settled)
            if kind.handle is not Middleware.handle:
                self.handle = _around(each.handle, self.handle)
            if kind.process is not Middleware.process:
                self.process = _around(each.process, self.process)
            if kind.publish is not Middleware.publish:
                self.publish = _around_publish(each.publish, self.publish)
        self.received = tuple(received)
        self.settled = tuple(settled)


def _around(
    hook: Callable[[Message, Callable[[Message], Awaitable[T]]], Awaitable[T]],
    call_next: Callable[[Message], Awaitable[T]],
) -> Callable[[Message], Awaitable[T]]:
    def step(message: Message) -> Awaitable[T]:
        return hook(message, call_next)

    return step


def _around_publish(
    hook: Callable[[Message, list[Event], Publish], Awaitable[None]], call_next: Publish
) -> Publish:
    def step(message: Message, events: list[Event]) -> Awaitable[None]:
        return hook(message, events, call_next)

    return step
