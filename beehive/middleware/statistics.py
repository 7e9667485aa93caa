"""Per-actor counters: what the host did with each message, for ``ActorHost.stats()``.

Every host runs one :class:`Statistics` middleware, outermost, so its counters see every
message and its time covers the whole handling (from lease to settlement). ``/metrics`` and
the dashboard read them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from beehive._clock import monotonic
from beehive.middleware.base import Message, Middleware, Outcome
from beehive.stats import ActorStats, Counters

if TYPE_CHECKING:
    from beehive.host import ActorHost

__all__ = ["Statistics"]

SUCCEEDED = Outcome.SUCCEEDED  # the usual outcome, reached once per message without enum lookup


class Statistics(Middleware):
    """Counters per actor (``ActorClass@source``), fresh each time the host starts."""

    def __init__(self) -> None:
        self._counters: dict[str, Counters] = {}

    async def start(self, host: ActorHost) -> None:
        self._counters = {descriptor.name: Counters() for descriptor in host.descriptors}

    def snapshot(self) -> dict[str, ActorStats]:
        """The counters of every actor now."""
        return {name: counters.snapshot() for name, counters in self._counters.items()}

    def received(self, message: Message) -> None:
        counters = self._counters[message.actor]
        counters.received += 1
        counters.in_flight += 1

    def settled(self, message: Message, outcome: Outcome) -> None:
        counters = self._counters[message.actor]
        counters.in_flight -= 1
        counters.observe(monotonic() - message.leased_at)
        if outcome is SUCCEEDED:
            counters.succeeded += 1
        elif outcome is Outcome.DUPLICATE:
            counters.duplicates += 1
        elif outcome is Outcome.RETRIED:
            counters.retried += 1
        elif outcome is Outcome.DEAD_LETTERED:
            counters.dead_lettered += 1
        elif outcome is Outcome.LEASE_LOST or outcome is Outcome.SETTLE_FAILED:
            counters.lease_lost += 1  # either way the broker will deliver it again
