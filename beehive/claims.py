"""Exclusive claims: one copy of an event processed at a time, across every host.

The inbox (:mod:`beehive.inbox`) makes an idempotent actor run once per event id when copies
come one after another: a redelivery finds the record and is not processed again. Two copies
processed *at the same time* in two hosts (a lease that expired mid-processing, a broker that
delivered twice) both find no record yet, and both run. For an actor marked
``@actor(..., idempotent=True, exclusive=True)`` the host first *claims* (actor, event id) in a
:class:`~beehive.stores.LockStore` every host shares, with a lease renewed while the copy runs:

- the claimant checks the inbox again (the claim's last holder may have just recorded), then
  processes, records, publishes and releases the claim;
- a second copy waits up to ``wait`` for the claim: when the first copy is done, it finds the
  record and does not process; when the wait runs out it raises :class:`ClaimHeldError`, a
  :class:`~beehive.errors.Retry`, so its message comes back after ``retry_after``;
- a claimant that crashed stops renewing, so its claim expires after ``lease`` (at once on
  PostgreSQL, whose locks die with their holder's connection) and a later copy processes the
  event: nothing is lost, and with the inbox nothing is done twice.

Each processed message costs a lock's acquire and release on top of the inbox's read and write
(``bench/inbox_cost.py`` measures it per store backend).
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import timedelta
from typing import Any

from beehive.errors import ClaimHeldError, LockNotAcquiredError
from beehive.stores._names import check_name
from beehive.stores.base import LockStore, seconds

DEFAULT_LEASE = timedelta(seconds=30)
DEFAULT_WAIT = timedelta(seconds=5)
DEFAULT_RETRY_AFTER = timedelta(seconds=1)


class Claims:
    """Leases on (actor, event id) in a lock store shared by every host.

    ``Claims(PostgresLockStore(dsn))``, ``Claims(AzureLockStore(...))``, or
    ``Claims.in_memory()`` for one process (where the inbox already runs copies one at a time).
    """

    def __init__(
        self,
        locks: LockStore,
        *,
        lease: float | timedelta = DEFAULT_LEASE,
        wait: float | timedelta = DEFAULT_WAIT,
        retry_after: float | timedelta = DEFAULT_RETRY_AFTER,
    ) -> None:
        self.locks = locks
        self.lease, self.wait, self.retry_after = (
            seconds(lease),
            seconds(wait),
            seconds(retry_after),
        )
        if self.lease <= 0:
            raise ValueError(f"a claim's lease must be positive, got {self.lease:g} s")
        if self.wait < 0 or self.retry_after < 0:
            raise ValueError("a claim's wait and retry_after must not be negative")

    @classmethod
    def in_memory(cls, **options: Any) -> Claims:
        """Claims in an in-memory lock store: for one process, and tests."""
        from beehive.stores.memory import InMemoryLockStore

        return cls(InMemoryLockStore(), **options)

    @staticmethod
    def resource(actor: str, event_id: str) -> str:
        """The lock resource of (actor, event id): readable when the names allow it."""
        resource = f"claim|{actor}|{event_id}"
        try:
            return check_name("claim", resource)
        except (TypeError, ValueError):
            digest = hashlib.sha256(resource.encode("utf-8", "surrogatepass")).hexdigest()
            return f"claim|{actor[:150]}|sha256:{digest}"

    @asynccontextmanager
    async def hold(self, actor: str, event_id: str) -> AsyncIterator[None]:
        """Hold the claim for a block, renewed while held; :class:`ClaimHeldError` if another
        copy holds it for longer than ``wait``.

        If the claim was lost while held (renewals failed until it expired), leaving the block
        raises :class:`~beehive.errors.LockLostError`: another copy may have run too.
        """
        async with AsyncExitStack() as stack:
            lease = self.locks.lock(self.resource(actor, event_id), ttl=self.lease, wait=self.wait)
            try:
                await stack.enter_async_context(lease)
            except LockNotAcquiredError:
                raise ClaimHeldError(
                    f"{actor}: another copy of event {event_id!r} is being processed (its "
                    f"claim was held for the {self.wait:g} s waited); retrying in "
                    f"{self.retry_after:g} s",
                    delay=self.retry_after,
                ) from None
            yield

    def __repr__(self) -> str:
        return f"Claims({type(self.locks).__name__}, lease={self.lease:g}s, wait={self.wait:g}s)"
