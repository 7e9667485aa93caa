"""In-memory stores: the embedded default, for the samples, for users' tests and for one process.

They keep serialized copies (JSON for entities, immutable bytes for blobs), so mutating an
object a store returned never changes the store. Each operation runs without awaiting in
between its read and its write, which makes it atomic among the asyncio tasks of one event
loop; they are not meant to be shared between threads. Names are the same as everywhere (see
:mod:`beehive.stores._names`) and need no escaping here.
"""

from __future__ import annotations

import asyncio
import builtins
import uuid
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

from beehive._clock import monotonic, utcnow
from beehive._ids import new_tag
from beehive.errors import (
    CounterUnderflowError,
    KeyAlreadyExistsError,
    LockLostError,
    NotFoundError,
)
from beehive.stores._entities import Codec, EntityT, Record, conflict
from beehive.stores.base import (
    Blob,
    CollectionStore,
    CounterStore,
    KeyedListStore,
    KeyValueStore,
    Lock,
    LockStore,
    collect_chunks,
)

__all__ = [
    "InMemoryCollectionStore",
    "InMemoryCounterStore",
    "InMemoryKeyValueStore",
    "InMemoryKeyedListStore",
    "InMemoryLockStore",
]


# What a table keeps per id: (json, etag, last_modified). A plain tuple of a str, a str and a
# datetime, which the garbage collector stops tracking after its first pass: millions of them
# add nothing to the full collections of a long run (a Record, a class instance, would be
# rescanned by each).
_Stored = tuple[str, str, datetime]


class _Table:
    """Records by id with conditional writes: the shared core of collections and keyed lists."""

    def __init__(self, where: str, what: str) -> None:
        self.where = where
        self.what = what
        self.records: dict[str, _Stored] = {}

    def get(self, id: str) -> _Stored:
        stored = self.records.get(id)
        if stored is None:
            raise NotFoundError(f"no {self.what} {id!r} in {self.where}")
        return stored

    def insert(self, record: Record) -> Record:
        if record.id in self.records:
            raise KeyAlreadyExistsError(f"{self.what} {record.id!r} already exists in {self.where}")
        self.records[record.id] = (record.json, record.etag, record.last_modified)
        return record

    def put(self, record: Record) -> Record:
        self.records[record.id] = (record.json, record.etag, record.last_modified)
        return record

    def update(self, record: Record, etag: str | None) -> Record:
        current = self.get(record.id)
        if etag is not None and etag != current[1]:
            raise conflict(self.where, self.what, record.id, etag, current[1])
        return self.put(record)

    def delete(self, id: str, etag: str | None) -> None:
        current = self.records.get(id)
        if current is not None and etag is not None and etag != current[1]:
            raise conflict(self.where, self.what, id, etag, current[1])
        self.records.pop(id, None)

    async def scan(self, codec: Codec[EntityT]) -> AsyncIterator[EntityT]:
        # A snapshot of the ids, so writes during the iteration cannot break it; each entity
        # is only deserialized when asked for.
        for id in builtins.list(self.records):
            stored = self.records.get(id)
            if stored is not None:
                yield codec.load_stored(*stored)


class InMemoryCollectionStore(CollectionStore[EntityT]):
    """A :class:`~beehive.stores.CollectionStore` in a dict."""

    def __init__(self, entity_type: type[EntityT], *, name: str | None = None) -> None:
        super().__init__(entity_type, name=name)
        self._table = _Table(f"collection {self.name!r}", entity_type.__name__)

    async def _get(self, id: str) -> EntityT:
        return self._codec.load_stored(*self._table.get(id))

    async def _exists(self, id: str) -> bool:
        return id in self._table.records

    async def _insert(self, entity: EntityT) -> EntityT:
        return self._codec.written(entity, self._table.insert(self._codec.dump(entity)))

    async def _upsert(self, entity: EntityT) -> EntityT:
        record = self._codec.dump(entity)
        return self._codec.written(entity, self._table.put(record))

    async def _update(self, entity: EntityT, etag: str | None) -> EntityT:
        return self._codec.written(entity, self._table.update(self._codec.dump(entity), etag))

    async def _delete(self, id: str, etag: str | None) -> None:
        self._table.delete(id, etag)

    def _list(self) -> AsyncIterator[EntityT]:
        return self._table.scan(self._codec)


class InMemoryKeyedListStore(KeyedListStore[EntityT]):
    """A :class:`~beehive.stores.KeyedListStore` in nested dicts: list name, key, item id."""

    def __init__(self, item_type: type[EntityT]) -> None:
        super().__init__(item_type)
        self._lists: dict[str, dict[str, _Table]] = {}

    def _table(self, list_name: str, key: str, *, create: bool = False) -> _Table:
        keys = self._lists.setdefault(list_name, {}) if create else self._lists.get(list_name, {})
        table = keys.get(key)
        if table is None:
            table = _Table(f"list {list_name!r} under key {key!r}", self.item_type.__name__)
            if create:
                keys[key] = table
        return table

    def _forget_if_empty(self, list_name: str, key: str) -> None:
        keys = self._lists.get(list_name, {})
        if key in keys and not keys[key].records:
            del keys[key]

    async def _add(self, list_name: str, key: str, item: EntityT) -> EntityT:
        table = self._table(list_name, key, create=True)
        return self._codec.written(item, table.insert(self._codec.dump(item)))

    def _items(self, list_name: str, key: str) -> AsyncIterator[EntityT]:
        return self._table(list_name, key).scan(self._codec)

    async def _get_item(self, list_name: str, key: str, item_id: str) -> EntityT:
        return self._codec.load_stored(*self._table(list_name, key).get(item_id))

    async def _update(self, list_name: str, key: str, item: EntityT, etag: str | None) -> EntityT:
        table = self._table(list_name, key)
        return self._codec.written(item, table.update(self._codec.dump(item), etag))

    async def _remove(self, list_name: str, key: str) -> None:
        table = self._lists.get(list_name, {}).pop(key, None)
        if table is not None:
            table.records.clear()  # so that a reader still iterating sees the removal

    async def _remove_item(self, list_name: str, key: str, item_id: str, etag: str | None) -> None:
        self._table(list_name, key).delete(item_id, etag)
        self._forget_if_empty(list_name, key)

    async def _exists(self, list_name: str, key: str) -> bool:
        return bool(self._table(list_name, key).records)

    async def _item_exists(self, list_name: str, key: str, item_id: str) -> bool:
        return item_id in self._table(list_name, key).records

    async def _list_exists(self, list_name: str) -> bool:
        return list_name in self._lists


class InMemoryCounterStore(CounterStore):
    """A :class:`~beehive.stores.CounterStore` in a dict."""

    def __init__(self) -> None:
        self._values: dict[tuple[str, str], int] = {}

    async def _get(self, counter_name: str, id: str) -> int:
        return self._values.get((counter_name, id), 0)

    async def _increment(self, counter_name: str, id: str, by: int, floor: int | None) -> int:
        value = self._values.get((counter_name, id), 0)
        if floor is not None and value + by < floor:
            raise CounterUnderflowError(counter_name, id, value, by)
        self._values[counter_name, id] = value + by
        return value + by


class InMemoryKeyValueStore(KeyValueStore):
    """A :class:`~beehive.stores.KeyValueStore` in a dict of immutable :class:`Blob` values."""

    def __init__(self) -> None:
        self._blobs: dict[str, Blob] = {}

    def _blob(self, key: str) -> Blob:
        blob = self._blobs.get(key)
        if blob is None:
            raise NotFoundError(f"no blob {key!r} in the key-value store")
        return blob

    async def _get(self, key: str) -> Blob:
        return self._blob(key)

    async def _stream(self, key: str, chunk_size: int) -> AsyncIterator[bytes]:
        body = memoryview(self._blob(key).body)
        for start in range(0, len(body), chunk_size):
            yield bytes(body[start : start + chunk_size])

    async def _put(
        self,
        key: str,
        body: bytes | AsyncIterable[bytes],
        content_type: str,
        metadata: dict[str, str],
        if_match: str | None,
        if_none_match: str | None,
    ) -> str:
        if not isinstance(body, bytes):
            body = await collect_chunks(body)
        # Checked after the body is in, with no await until the write: atomic among tasks.
        current = self._blobs.get(key)
        stored = current.etag if current else None
        if if_match is not None and if_match != stored:
            raise conflict("the key-value store", "blob", key, if_match, stored)
        if if_none_match is not None and stored is not None and if_none_match in ("*", stored):
            raise conflict("the key-value store", "blob", key, None, stored)
        etag = new_tag()
        self._blobs[key] = Blob(key, body, content_type, metadata, etag, utcnow())
        return etag

    async def _delete(self, key: str, if_match: str | None) -> None:
        current = self._blobs.get(key)
        if current is not None and if_match is not None and current.etag != if_match:
            raise conflict("the key-value store", "blob", key, if_match, current.etag)
        self._blobs.pop(key, None)

    async def _exists(self, key: str) -> bool:
        return key in self._blobs

    async def _keys(self, prefix: str) -> AsyncIterator[str]:
        for key in sorted(key for key in self._blobs if key.startswith(prefix)):
            if key in self._blobs:
                yield key


@dataclass(slots=True)
class _Lease:
    token: str
    expires_at: float


class InMemoryLockStore(LockStore):
    """A :class:`~beehive.stores.LockStore` in a dict; waiters wake as soon as a lock is freed.

    Expiry compares against ``clock`` (beehive's monotonic clock unless given), so a test can move a
    fake clock on instead of sleeping.
    """

    _SWEEP_AT_LEAST = 1024

    def __init__(
        self,
        *,
        clock: Callable[[], float] = monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        poll_interval: float = 0.25,
    ) -> None:
        super().__init__(clock=clock, sleep=sleep, poll_interval=poll_interval)
        self._leases: dict[str, _Lease] = {}
        self._waiters: dict[str, set[asyncio.Future[None]]] = {}
        self._sweep_at = self._SWEEP_AT_LEAST

    def _live(self, resource: str) -> _Lease | None:
        lease = self._leases.get(resource)
        return lease if lease is not None and lease.expires_at > self._clock() else None

    async def _try_acquire(self, resource: str, ttl: float) -> Lock | None:
        if self._live(resource) is not None:
            return None
        if len(self._leases) >= self._sweep_at:
            self._sweep()
            self._sweep_at = max(self._SWEEP_AT_LEAST, 2 * len(self._leases))
        lock = Lock(resource, uuid.uuid4().hex, ttl)
        self._leases[resource] = _Lease(lock.token, self._clock() + ttl)
        return lock

    async def _release(self, lock: Lock) -> bool:
        lease = self._leases.get(lock.resource)
        if lease is None or lease.token != lock.token:
            return False
        del self._leases[lock.resource]
        for waiter in self._waiters.pop(lock.resource, set()):
            if not waiter.done():
                waiter.set_result(None)
        return lease.expires_at > self._clock()

    async def _renew(self, lock: Lock) -> None:
        lease = self._live(lock.resource)
        if lease is None or lease.token != lock.token:
            raise LockLostError(
                f"lock on {lock.resource!r} is no longer held by this holder (it expired)"
            )
        lease.expires_at = self._clock() + lock.ttl

    async def _wait_for_release(self, resource: str, timeout: float) -> None:
        lease = self._live(resource)
        if lease is not None:
            timeout = min(timeout, lease.expires_at - self._clock())
        if timeout <= 0:
            return
        released = asyncio.get_running_loop().create_future()
        self._waiters.setdefault(resource, set()).add(released)
        sleeper = asyncio.ensure_future(self._sleep(timeout))
        try:
            await asyncio.wait({released, sleeper}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            # A waiter that gave up leaves no set behind (a lock that expires is never released).
            waiting = self._waiters.get(resource)
            if waiting is not None:
                waiting.discard(released)
                if not waiting:
                    del self._waiters[resource]
            released.cancel()
            sleeper.cancel()

    def _sweep(self) -> None:
        """Forget expired leases, so abandoned resources do not pile up (amortised O(1))."""
        now = self._clock()
        for resource in [name for name, lease in self._leases.items() if lease.expires_at <= now]:
            del self._leases[resource]
