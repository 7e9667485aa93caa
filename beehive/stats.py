"""Per-actor counters kept by the host (see :mod:`beehive.middleware.statistics`)."""

from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass
from typing import Final

PROCESSING_BUCKETS: Final = (
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
    30.0,
    60.0,
)
"""Upper bounds (seconds, inclusive) of the processing-time histogram's buckets."""


@dataclass(frozen=True, slots=True)
class ActorStats:
    """A snapshot of one actor's counters since its host started."""

    received: int = 0
    succeeded: int = 0
    retried: int = 0
    dead_lettered: int = 0
    lease_lost: int = 0
    lease_renewals: int = 0
    """Leases renewed while processing took longer than a quarter of the lease."""
    duplicates: int = 0
    """Redeliveries an idempotent actor's inbox recognised: completed without processing."""
    in_flight: int = 0
    processing_seconds: float = 0.0
    """Total time spent in ``process`` and settling, over every message."""
    processing_buckets: tuple[int, ...] = ()
    """Messages per bucket: one per bound of PROCESSING_BUCKETS, then one for longer ones."""


class Counters:
    """The mutable counters behind ActorStats (one per descriptor, owned by its consumer)."""

    __slots__ = (
        "dead_lettered",
        "duplicates",
        "in_flight",
        "lease_lost",
        "lease_renewals",
        "processing_buckets",
        "processing_seconds",
        "received",
        "retried",
        "succeeded",
    )

    def __init__(self) -> None:
        self.received = self.succeeded = self.retried = self.dead_lettered = 0
        self.lease_lost = self.lease_renewals = self.duplicates = self.in_flight = 0
        self.processing_seconds = 0.0
        self.processing_buckets = [0] * (len(PROCESSING_BUCKETS) + 1)

    def observe(self, seconds: float) -> None:
        """Count one finished message that took ``seconds``."""
        self.processing_seconds += seconds
        self.processing_buckets[bisect_left(PROCESSING_BUCKETS, seconds)] += 1

    def snapshot(self) -> ActorStats:
        return ActorStats(
            received=self.received,
            succeeded=self.succeeded,
            retried=self.retried,
            dead_lettered=self.dead_lettered,
            lease_lost=self.lease_lost,
            lease_renewals=self.lease_renewals,
            duplicates=self.duplicates,
            in_flight=self.in_flight,
            processing_seconds=self.processing_seconds,
            processing_buckets=tuple(self.processing_buckets),
        )
