"""Stores as a simulation runs them: every call a point where other work can cut in, or fail.

:func:`simulated` wraps any store (in memory or not) in a store of the same contract that
delegates to it. Inside a message's handling, each call first waits a seeded latency in
virtual time (so other handlings interleave at every store call, and ETag races, check-then-act
bugs and lost updates can happen), may fail for a moment (``store_failure``), and each write
may be followed by the host's crash (``crash_after_store_write``). Outside a handling (the
setup, the workload, the invariants) calls go straight through.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterable, AsyncIterator
from typing import overload

from beehive.faults import SimulatedCrash, SimulatedStoreError
from beehive.stores._entities import EntityT
from beehive.stores.base import (
    Blob,
    CollectionStore,
    CounterStore,
    KeyedListStore,
    KeyValueStore,
    Lock,
    LockStore,
)
from beehive.testing.simulation._context import HANDLING
from beehive.testing.simulation._faults import Plan

__all__ = ["StoreCalls", "simulated"]


class StoreCalls:
    """What happens around each store call of one run: latency, failures, crashes."""

    def __init__(self, plan: Plan, max_latency: float) -> None:
        self.plan = plan
        self.max_latency = max_latency

    async def before(self, operation: str) -> None:
        handling = HANDLING.get()
        if handling is None:
            return
        if handling.crashed:
            raise SimulatedCrash("simulated: the host crashed; nothing more of this message runs")
        handling.calls += 1
        if self.max_latency:
            await asyncio.sleep(
                self.max_latency * handling.draw(self.plan, "latency", handling.calls)
            )
        call = f"{operation} #{handling.calls}"
        if handling.fault(self.plan, "store_failure", call):
            raise SimulatedStoreError(f"simulated: the store failed {call} for a moment")

    def wrote(self, operation: str) -> None:
        handling = HANDLING.get()
        if handling is None:
            return
        call = f"{operation} #{handling.calls}"
        if handling.fault(self.plan, "crash_after_store_write", call):
            handling.crashed = True
            raise SimulatedCrash(f"simulated: the host crashed after {call}")


class _Collection(CollectionStore[EntityT]):
    def __init__(self, inner: CollectionStore[EntityT], calls: StoreCalls) -> None:
        super().__init__(inner.entity_type, name=inner.name)
        self.inner = inner
        self._calls = calls

    async def _get(self, id: str) -> EntityT:
        await self._calls.before(f"{self.name}.get")
        return await self.inner._get(id)

    async def _exists(self, id: str) -> bool:
        await self._calls.before(f"{self.name}.exists")
        return await self.inner._exists(id)

    async def _insert(self, entity: EntityT) -> EntityT:
        await self._calls.before(f"{self.name}.insert")
        stored = await self.inner._insert(entity)
        self._calls.wrote(f"{self.name}.insert")
        return stored

    async def _upsert(self, entity: EntityT) -> EntityT:
        await self._calls.before(f"{self.name}.upsert")
        stored = await self.inner._upsert(entity)
        self._calls.wrote(f"{self.name}.upsert")
        return stored

    async def _update(self, entity: EntityT, etag: str | None) -> EntityT:
        await self._calls.before(f"{self.name}.update")
        stored = await self.inner._update(entity, etag)
        self._calls.wrote(f"{self.name}.update")
        return stored

    async def _delete(self, id: str, etag: str | None) -> None:
        await self._calls.before(f"{self.name}.delete")
        await self.inner._delete(id, etag)
        self._calls.wrote(f"{self.name}.delete")

    def _list(self) -> AsyncIterator[EntityT]:
        return self._listed()

    async def _listed(self) -> AsyncIterator[EntityT]:
        await self._calls.before(f"{self.name}.list")
        async for entity in self.inner._list():
            yield entity


class _KeyedList(KeyedListStore[EntityT]):
    def __init__(self, inner: KeyedListStore[EntityT], calls: StoreCalls) -> None:
        super().__init__(inner.item_type)
        self.inner = inner
        self._calls = calls

    async def _add(self, list_name: str, key: str, item: EntityT) -> EntityT:
        await self._calls.before(f"{list_name}.add")
        stored = await self.inner._add(list_name, key, item)
        self._calls.wrote(f"{list_name}.add")
        return stored

    def _items(self, list_name: str, key: str) -> AsyncIterator[EntityT]:
        return self._listed(list_name, key)

    async def _listed(self, list_name: str, key: str) -> AsyncIterator[EntityT]:
        await self._calls.before(f"{list_name}.get")
        async for item in self.inner._items(list_name, key):
            yield item

    async def _get_item(self, list_name: str, key: str, item_id: str) -> EntityT:
        await self._calls.before(f"{list_name}.get_item")
        return await self.inner._get_item(list_name, key, item_id)

    async def _update(self, list_name: str, key: str, item: EntityT, etag: str | None) -> EntityT:
        await self._calls.before(f"{list_name}.update")
        stored = await self.inner._update(list_name, key, item, etag)
        self._calls.wrote(f"{list_name}.update")
        return stored

    async def _remove(self, list_name: str, key: str) -> None:
        await self._calls.before(f"{list_name}.remove")
        await self.inner._remove(list_name, key)
        self._calls.wrote(f"{list_name}.remove")

    async def _remove_item(self, list_name: str, key: str, item_id: str, etag: str | None) -> None:
        await self._calls.before(f"{list_name}.remove_item")
        await self.inner._remove_item(list_name, key, item_id, etag)
        self._calls.wrote(f"{list_name}.remove_item")

    async def _exists(self, list_name: str, key: str) -> bool:
        await self._calls.before(f"{list_name}.exists")
        return await self.inner._exists(list_name, key)

    async def _item_exists(self, list_name: str, key: str, item_id: str) -> bool:
        await self._calls.before(f"{list_name}.item_exists")
        return await self.inner._item_exists(list_name, key, item_id)

    async def _list_exists(self, list_name: str) -> bool:
        await self._calls.before(f"{list_name}.list_exists")
        return await self.inner._list_exists(list_name)


class _Counter(CounterStore):
    def __init__(self, inner: CounterStore, calls: StoreCalls) -> None:
        self.inner = inner
        self._calls = calls

    async def _get(self, counter_name: str, id: str) -> int:
        await self._calls.before(f"{counter_name}.get")
        return await self.inner._get(counter_name, id)

    async def _increment(self, counter_name: str, id: str, by: int, floor: int | None) -> int:
        await self._calls.before(f"{counter_name}.increment")
        value = await self.inner._increment(counter_name, id, by, floor)
        self._calls.wrote(f"{counter_name}.increment")
        return value


class _KeyValue(KeyValueStore):
    def __init__(self, inner: KeyValueStore, calls: StoreCalls) -> None:
        self.inner = inner
        self._calls = calls

    async def _get(self, key: str) -> Blob:
        await self._calls.before("blob.get")
        return await self.inner._get(key)

    def _stream(self, key: str, chunk_size: int) -> AsyncIterator[bytes]:
        return self._streamed(key, chunk_size)

    async def _streamed(self, key: str, chunk_size: int) -> AsyncIterator[bytes]:
        await self._calls.before("blob.stream")
        async for chunk in self.inner._stream(key, chunk_size):
            yield chunk

    async def _put(
        self,
        key: str,
        body: bytes | AsyncIterable[bytes],
        content_type: str,
        metadata: dict[str, str],
        if_match: str | None,
        if_none_match: str | None,
    ) -> str:
        await self._calls.before("blob.put")
        etag = await self.inner._put(key, body, content_type, metadata, if_match, if_none_match)
        self._calls.wrote("blob.put")
        return etag

    async def _delete(self, key: str, if_match: str | None) -> None:
        await self._calls.before("blob.delete")
        await self.inner._delete(key, if_match)
        self._calls.wrote("blob.delete")

    async def _exists(self, key: str) -> bool:
        await self._calls.before("blob.exists")
        return await self.inner._exists(key)

    def _keys(self, prefix: str) -> AsyncIterator[str]:
        return self._listed(prefix)

    async def _listed(self, prefix: str) -> AsyncIterator[str]:
        await self._calls.before("blob.list")
        async for key in self.inner._keys(prefix):
            yield key


class _Locks(LockStore):
    def __init__(self, inner: LockStore, calls: StoreCalls) -> None:
        super().__init__(poll_interval=inner.poll_interval)
        self.inner = inner
        self._calls = calls

    async def _try_acquire(self, resource: str, ttl: float) -> Lock | None:
        await self._calls.before("lock.acquire")
        lock = await self.inner._try_acquire(resource, ttl)
        self._calls.wrote("lock.acquire")
        return lock

    async def _release(self, lock: Lock) -> bool:
        await self._calls.before("lock.release")
        released = await self.inner._release(lock)
        self._calls.wrote("lock.release")
        return released

    async def _renew(self, lock: Lock) -> None:
        await self._calls.before("lock.renew")
        await self.inner._renew(lock)
        self._calls.wrote("lock.renew")

    async def _wait_for_release(self, resource: str, timeout: float) -> None:
        await self.inner._wait_for_release(resource, timeout)


@overload
def simulated(store: CollectionStore[EntityT], calls: StoreCalls) -> CollectionStore[EntityT]: ...
@overload
def simulated(store: KeyedListStore[EntityT], calls: StoreCalls) -> KeyedListStore[EntityT]: ...
@overload
def simulated(store: CounterStore, calls: StoreCalls) -> CounterStore: ...
@overload
def simulated(store: KeyValueStore, calls: StoreCalls) -> KeyValueStore: ...
@overload
def simulated(store: LockStore, calls: StoreCalls) -> LockStore: ...
def simulated(
    store: CollectionStore[EntityT]
    | KeyedListStore[EntityT]
    | CounterStore
    | KeyValueStore
    | LockStore,
    calls: StoreCalls,
) -> CollectionStore[EntityT] | KeyedListStore[EntityT] | CounterStore | KeyValueStore | LockStore:
    """``store`` behind a store of the same contract whose calls the simulation runs."""
    if isinstance(store, CollectionStore):
        return _Collection(store, calls)
    if isinstance(store, KeyedListStore):
        return _KeyedList(store, calls)
    if isinstance(store, CounterStore):
        return _Counter(store, calls)
    if isinstance(store, KeyValueStore):
        return _KeyValue(store, calls)
    if isinstance(store, LockStore):
        return _Locks(store, calls)
    raise TypeError(
        f"a simulation runs beehive's stores (CollectionStore, KeyedListStore, CounterStore, "
        f"KeyValueStore, LockStore), not {type(store).__name__}"
    )
