"""The broker contract every queue backend implements (BeeHive's IEventQueueOperator)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import timedelta
from types import TracebackType
from typing import Self

from beehive.events import Event
from beehive.names import QueueName

DEAD_LETTER_REASON = "dead_letter_reason"
DEAD_LETTER_DESCRIPTION = "dead_letter_description"
REPLAYED_AT = "replayed_at"
"""Set on a replayed dead letter: when it was replayed (ISO 8601, UTC)."""
REPLAY_COUNT = "replay_count"
"""Set on a replayed dead letter: how many times it has been replayed so far."""


@dataclass(frozen=True, slots=True)
class QueueSettings:
    """How a subscription or queue treats its messages.

    ``max_deliveries``: deliveries before the broker dead-letters a message.
    ``lease_seconds``: how long a leased message stays invisible to others (the lock duration).
    ``sessions``: messages with the same ``session_id`` are delivered one at a time, in order.
    ``prefetch``: how many messages a backend may fetch ahead of its consumers (the host sets
    it to the actor's parallelism; None lets the backend choose).
    """

    max_deliveries: int = 10
    lease_seconds: float = 60.0
    sessions: bool = False
    prefetch: int | None = None

    def __post_init__(self) -> None:
        if self.max_deliveries < 1:
            raise ValueError(f"max_deliveries must be at least 1, got {self.max_deliveries}")
        if self.lease_seconds <= 0:
            raise ValueError(f"lease_seconds must be positive, got {self.lease_seconds}")
        if self.prefetch is not None and self.prefetch < 1:
            raise ValueError(f"prefetch must be at least 1, got {self.prefetch}")


@dataclass(frozen=True, slots=True)
class QueueDepth:
    """How many messages a subscription or queue holds, by state."""

    active: int
    scheduled: int = 0
    leased: int = 0
    dead_lettered: int = 0


def seconds(value: float | timedelta | None) -> float:
    """A duration given as seconds or a timedelta, in seconds (None is 0)."""
    if value is None:
        return 0.0
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


class QueueOperator(ABC):
    """A broker: topics that fan out to subscriptions, plain queues, and leased messages.

    Names are ``QueueName`` values or their string form. A leased event carries the broker's
    handle, so settle (complete, abandon, dead-letter, renew) the very object ``next`` returned.
    """

    @abstractmethod
    async def setup_queue(
        self, name: str | QueueName, settings: QueueSettings | None = None
    ) -> None:
        """Create the topic, subscription (and its topic) or queue if missing."""

    @abstractmethod
    async def delete_queue(self, name: str | QueueName) -> None:
        """Delete a topic (with its subscriptions), a subscription or a queue."""

    @abstractmethod
    async def queue_exists(self, name: str | QueueName) -> bool: ...

    @abstractmethod
    async def push(self, event: Event) -> None:
        """Send to the topic or queue named by ``event.queue_name``."""

    async def push_batch(self, events: Sequence[Event]) -> None:
        """Send several events; backends override this to send them in fewer round trips."""
        for event in events:
            await self.push(event)

    @abstractmethod
    async def next(
        self, name: str | QueueName, *, max_count: int = 1, wait: float | timedelta = 0
    ) -> list[Event]:
        """Lease up to ``max_count`` events, waiting up to ``wait`` for the first to arrive."""

    @abstractmethod
    async def complete(self, event: Event) -> None:
        """Remove a leased event for good."""

    @abstractmethod
    async def abandon(self, event: Event, delay: float | timedelta | None = None) -> None:
        """Give a leased event back, visible again after ``delay``; counts as a delivery."""

    @abstractmethod
    async def dead_letter(self, event: Event, reason: str, description: str | None = None) -> None:
        """Move a leased event to its queue's dead-letter queue, with the reason."""

    @abstractmethod
    async def renew_lease(self, event: Event) -> None:
        """Extend a leased event's lock by the queue's lease duration."""

    @abstractmethod
    async def dead_letters(self, name: str | QueueName) -> list[Event]:
        """Peek (non-destructively) at the dead-lettered events of a subscription or queue.

        Each carries ``properties["dead_letter_reason"]`` (and a description when given).
        """

    @abstractmethod
    async def replay_dead_letters(
        self,
        name: str | QueueName,
        *,
        ids: Collection[str] | None = None,
        reason: str | None = None,
    ) -> int:
        """Move dead letters back into the subscription or queue ``name``; returns how many.

        Selected by ``ids``, by ``reason`` (text the dead-letter reason contains), both, or
        neither (all). Only ``name`` gets them again, never the other subscriptions of its
        topic. Each keeps its event id, loses its ``dead_letter_*`` properties, gains
        ``replayed_at`` and ``replay_count``, and starts afresh at delivery 1. Dead letters
        not selected stay, in order.
        """

    @abstractmethod
    async def purge_dead_letters(
        self,
        name: str | QueueName,
        *,
        ids: Collection[str] | None = None,
        reason: str | None = None,
    ) -> int:
        """Delete dead letters of ``name`` for good (selected as for replay); returns how many."""

    @abstractmethod
    async def close(self) -> None: ...

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()
