"""Test doubles that make the hard cases happen on demand."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Sequence
from typing import TypeVar

from pydantic import BaseModel

from beehive import Event
from beehive.stores import InMemoryCollectionStore, InMemoryCounterStore, InMemoryKeyedListStore
from beehive.testing import RecordingQueueOperator
from samples.prismo.stores import Stores

EntityT = TypeVar("EntityT", bound=BaseModel)


class FailsFirstPublish(RecordingQueueOperator):
    """A broker that refuses the first publication of one event type, then works.

    The actor that published it has done its work but its message is abandoned and
    redelivered: exactly the case idempotent actors must handle.
    """

    def __init__(self, event_type: str) -> None:
        super().__init__()
        self.event_type = event_type
        self.failed = False

    def _check(self, events: Sequence[Event]) -> None:
        if not self.failed and any(e.event_type == self.event_type for e in events):
            self.failed = True
            raise ConnectionError(f"broker hiccup publishing {self.event_type}")

    async def push(self, event: Event) -> None:
        self._check([event])
        await super().push(event)

    async def push_batch(self, events: Sequence[Event]) -> None:
        self._check(events)
        await super().push_batch(events)


class YieldingCollectionStore(InMemoryCollectionStore[EntityT]):
    """In-memory, but every call lets other tasks run first, as a networked store would.

    The in-memory stores never suspend, so without this two actors could never interleave
    between a read and a write, and the ETag paths would go untested.
    """

    async def _get(self, id: str) -> EntityT:
        await asyncio.sleep(0)
        return await super()._get(id)

    async def _insert(self, entity: EntityT) -> EntityT:
        await asyncio.sleep(0)
        return await super()._insert(entity)

    async def _update(self, entity: EntityT, etag: str | None) -> EntityT:
        await asyncio.sleep(0)
        return await super()._update(entity, etag)


class YieldingKeyedListStore(InMemoryKeyedListStore[EntityT]):
    async def _add(self, list_name: str, key: str, item: EntityT) -> EntityT:
        await asyncio.sleep(0)
        return await super()._add(list_name, key, item)

    async def _remove_item(self, list_name: str, key: str, item_id: str, etag: str | None) -> None:
        await asyncio.sleep(0)
        await super()._remove_item(list_name, key, item_id, etag)


class YieldingCounterStore(InMemoryCounterStore):
    async def _increment(self, counter_name: str, id: str, by: int, floor: int | None) -> int:
        await asyncio.sleep(0)
        return await super()._increment(counter_name, id, by, floor)


def yielding_stores() -> Stores:
    """Prismo's stores, every one of them letting other tasks in at each call."""
    stores = Stores.in_memory()
    replaced: dict[str, object] = {
        name: YieldingCollectionStore(store.entity_type)
        for name, store in stores.by_name().items()
        if isinstance(store, InMemoryCollectionStore)
    }
    replaced["queued_orders"] = YieldingKeyedListStore(stores.queued_orders.item_type)
    replaced["counters"] = YieldingCounterStore()
    return dataclasses.replace(stores, **replaced)  # type: ignore[arg-type]
