"""Per-actor counters kept by the host."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ActorStats:
    """A snapshot of one actor's counters since its host started."""

    received: int = 0
    succeeded: int = 0
    retried: int = 0
    dead_lettered: int = 0
    lease_lost: int = 0
    duplicates: int = 0
    """Redeliveries an idempotent actor's inbox recognised: completed without processing."""
    in_flight: int = 0
    processing_seconds: float = 0.0
    """Total time spent in ``process`` and settling, over every message."""


class Counters:
    """The mutable counters behind ActorStats (one per descriptor, owned by its consumer)."""

    __slots__ = (
        "dead_lettered",
        "duplicates",
        "in_flight",
        "lease_lost",
        "processing_seconds",
        "received",
        "retried",
        "succeeded",
    )

    def __init__(self) -> None:
        self.received = self.succeeded = self.retried = self.dead_lettered = 0
        self.lease_lost = self.duplicates = self.in_flight = 0
        self.processing_seconds = 0.0

    def snapshot(self) -> ActorStats:
        return ActorStats(
            received=self.received,
            succeeded=self.succeeded,
            retried=self.retried,
            dead_lettered=self.dead_lettered,
            lease_lost=self.lease_lost,
            duplicates=self.duplicates,
            in_flight=self.in_flight,
            processing_seconds=self.processing_seconds,
        )
