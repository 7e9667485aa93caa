"""Locks on Azure blob leases, with any ttl, though Azure leases last 15 to 60 s (or for ever).

Each resource is an empty blob in the store's container (made on its first lock, then kept).
Taking the lock takes a lease on it, with the lease id as the holder's token: for 15 s when
``ttl`` is shorter (Azure's minimum), ``ttl`` rounded up to the second up to 60 s, and an
infinite lease beyond. Right after, the holder stamps the blob's metadata, under its lease, with
the wall-clock time its lock expires (``now + ttl``); each renewal renews the lease and moves the
stamp. A contender that finds the blob leased reads the stamp: once it has passed, the holder
is taken as dead, and the contender breaks the lease, on condition that the blob is still the
version whose stamp it read (lease operations keep a blob's ETag; a stamp changes it), then
takes its own. So a lock is free ``ttl`` after its last renewal whatever the lease's length,
and a holder that renewed meanwhile never loses its lease to a stale reading; a holder broken
between taking its lease and stamping it finds its stamp refused and does not get the lock.

The stamps compare the wall clocks of the machines involved: keep them in sync (NTP), and keep
ttls well above their skew. Azure's own lease expiry backs the stamps up for ttls up to 60 s.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Final, Self

from beehive.errors import LockLostError
from beehive.stores.azure._blobs import BlobBacked, blob_service, blob_service_from
from beehive.stores.azure._common import Credential, HttpResponseError, MatchConditions

try:
    from azure.core.exceptions import (
        ResourceExistsError,
        ResourceModifiedError,
        ResourceNotFoundError,
    )
    from azure.storage.blob.aio import BlobClient, BlobLeaseClient
except ImportError as error:  # pragma: no cover - depends on the installed extras
    raise ImportError(
        "beehive.stores.azure needs the Azure SDK: pip install 'beehive-actors[azure]'"
    ) from error

from beehive.stores.base import Lock, LockStore

__all__ = ["AzureLockStore", "lease_seconds"]

EXPIRES: Final = "beehive_expires"  # the stamp: wall-clock seconds since the epoch
SHORTEST_LEASE: Final = 15
LONGEST_LEASE: Final = 60
INFINITE: Final = -1
_LOST: Final = (404, 409, 412)  # what Azure answers a lease or a write that is not ours
_SWEEP_AT_LEAST: Final = 1024


def lease_seconds(ttl: float) -> int:
    """The Azure lease for a lock of ``ttl`` seconds: 15 to 60 s, or infinite beyond 60 s."""
    if ttl > LONGEST_LEASE:
        return INFINITE
    return max(SHORTEST_LEASE, math.ceil(ttl))


class AzureLockStore(BlobBacked, LockStore):
    """A :class:`~beehive.stores.LockStore` on leases of blobs in one Azure container.

    ``clock`` and ``sleep`` time waits and this holder's own view of its locks;
    ``wall_clock`` (``time.time``) stamps expiries that other processes read. Waiters in this
    store wake as soon as it releases; others poll every ``poll_interval`` seconds.
    """

    def __init__(
        self,
        account_url: str,
        *,
        credential: Credential | None = None,
        container: str = "beehive-locks",
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        poll_interval: float = 0.25,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        LockStore.__init__(self, clock=clock, sleep=sleep, poll_interval=poll_interval)
        self._attach(blob_service(account_url, credential), container)
        self._setup(wall_clock)

    @classmethod
    def from_connection_string(
        cls,
        connection_string: str,
        *,
        container: str = "beehive-locks",
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        poll_interval: float = 0.25,
        wall_clock: Callable[[], float] = time.time,
    ) -> Self:
        """A store in the account a connection string names (Azurite's included)."""
        store = cls.__new__(cls)
        LockStore.__init__(store, clock=clock, sleep=sleep, poll_interval=poll_interval)
        store._attach(blob_service_from(connection_string), container)
        store._setup(wall_clock)
        return store

    def _setup(self, wall_clock: Callable[[], float]) -> None:
        self._wall_clock = wall_clock
        self._held: dict[str, float] = {}  # token -> when this holder's lock expires (clock)
        self._sweep_at = _SWEEP_AT_LEAST
        self._waiters: dict[str, set[asyncio.Future[None]]] = {}

    async def _try_acquire(self, resource: str, ttl: float) -> Lock | None:
        await self._prepare()
        blob, token = self._blob(resource), str(uuid.uuid4())
        if not await self._take(blob, token, ttl):
            return None
        try:
            await blob.set_blob_metadata(self._stamp(ttl), lease=token)
        except HttpResponseError as error:
            if error.status_code == 412:
                return None  # a contender broke the lease before the stamp: the lock is theirs
            with contextlib.suppress(HttpResponseError):
                await BlobLeaseClient(blob, lease_id=token).release()
            raise
        self._remember(token, ttl)
        return Lock(resource, token, ttl)

    async def _take(self, blob: BlobClient, token: str, ttl: float) -> bool:
        """Take a lease on the resource's blob: making the blob, or breaking a dead holder's."""
        lease = BlobLeaseClient(blob, lease_id=token)
        try:
            await lease.acquire(lease_duration=lease_seconds(ttl))
            return True
        except ResourceNotFoundError:  # the first lock on this resource: make its blob
            try:
                await blob.upload_blob(b"", overwrite=False)
            except HttpResponseError as error:
                if error.status_code not in (409, 412):  # 409, 412: made (and leased) meanwhile
                    raise
        except ResourceExistsError:  # leased
            if not await self._break_if_dead(blob):
                return False
        try:
            await lease.acquire(lease_duration=lease_seconds(ttl))
        except ResourceExistsError:
            return False  # another contender was quicker
        return True

    async def _break_if_dead(self, blob: BlobClient) -> bool:
        """Break the lease if its holder's stamp has passed; whether the lease may be free."""
        try:
            properties = await blob.get_blob_properties()
        except ResourceNotFoundError:
            return True
        if properties.lease.state != "leased":
            return properties.lease.state != "breaking"
        stamp = properties.metadata.get(EXPIRES)
        if stamp is None:
            # Taken but not stamped yet (or never: its holder died at once, which only an
            # infinite lease would make last).
            dead = properties.lease.duration == "infinite"
        else:
            try:
                dead = float(stamp) <= self._wall_clock()
            except ValueError:
                dead = True
        if not dead:
            return False
        try:
            await BlobLeaseClient(blob).break_lease(
                lease_break_period=0,
                etag=properties.etag,
                match_condition=MatchConditions.IfNotModified,
            )
        except ResourceModifiedError:
            return False  # stamped again since we read it: alive after all
        except ResourceExistsError:
            return True  # released meanwhile
        return True

    async def _release(self, lock: Lock) -> bool:
        expires = self._held.pop(lock.token, None)
        try:
            await BlobLeaseClient(self._blob(lock.resource), lease_id=lock.token).release()
        except HttpResponseError as error:
            if error.status_code not in _LOST:
                raise
            return False
        for waiter in self._waiters.pop(lock.resource, set()):
            if not waiter.done():
                waiter.set_result(None)
        return expires is None or expires > self._clock()

    async def _renew(self, lock: Lock) -> None:
        expires = self._held.get(lock.token)
        if expires is not None and expires <= self._clock():
            del self._held[lock.token]
            raise LockLostError(
                f"lock on {lock.resource!r} is no longer held by this holder (it expired)"
            )
        blob = self._blob(lock.resource)
        try:
            await BlobLeaseClient(blob, lease_id=lock.token).renew()
            await blob.set_blob_metadata(self._stamp(lock.ttl), lease=lock.token)
        except HttpResponseError as error:
            if error.status_code not in _LOST:
                raise
            self._held.pop(lock.token, None)
            raise LockLostError(
                f"lock on {lock.resource!r} is no longer held by this holder (its lease is gone)"
            ) from None
        self._remember(lock.token, lock.ttl)

    async def _wait_for_release(self, resource: str, timeout: float) -> None:
        released = asyncio.get_running_loop().create_future()
        self._waiters.setdefault(resource, set()).add(released)
        sleeper = asyncio.ensure_future(self._sleep(min(timeout, self.poll_interval)))
        try:
            await asyncio.wait({released, sleeper}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            self._waiters.get(resource, set()).discard(released)
            released.cancel()
            sleeper.cancel()

    def _stamp(self, ttl: float) -> dict[str, str]:
        return {EXPIRES: f"{self._wall_clock() + ttl:.3f}"}

    def _remember(self, token: str, ttl: float) -> None:
        now = self._clock()
        if len(self._held) >= self._sweep_at:  # forget locks whose holders never released them
            self._held = {held: until for held, until in self._held.items() if until > now}
            self._sweep_at = max(_SWEEP_AT_LEAST, 2 * len(self._held))
        self._held[token] = now + ttl
