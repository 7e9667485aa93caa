"""What the contract suites cannot see: the base classes' shared logic and memory specifics."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

import pytest
from pydantic import BaseModel

from beehive.stores import (
    ConcurrencyConflictError,
    InMemoryCollectionStore,
    InMemoryKeyedListStore,
    InMemoryKeyValueStore,
    InMemoryLockStore,
    Lock,
    LockLostError,
    LockNotAcquiredError,
    is_concurrency_aware,
)
from tests.stores.conftest import FakeClock
from tests.stores.entities import Order, ParkedItem


class NumberedOrder(BaseModel):
    id: int


class FlakyLockStore(InMemoryLockStore):
    """Fails its first renewal as a network would."""

    failures = 1

    async def _renew(self, lock: Lock) -> None:
        if self.failures:
            self.failures -= 1
            raise OSError("connection reset")
        await super()._renew(lock)


class PollingLockStore(InMemoryLockStore):
    """A backend that cannot be told of a release, so the base class polls for it."""

    async def _wait_for_release(self, resource: str, timeout: float) -> None:
        await self._sleep(min(timeout, self.poll_interval))


def test_concurrency_awareness_comes_from_the_fields() -> None:
    assert is_concurrency_aware(ParkedItem)
    assert not is_concurrency_aware(Order)


async def test_an_id_that_is_not_a_str_is_refused() -> None:
    store = InMemoryCollectionStore(NumberedOrder)

    with pytest.raises(TypeError, match="id must be a str"):
        await store.insert(NumberedOrder(id=1))


async def test_a_collection_can_be_named() -> None:
    assert InMemoryCollectionStore(Order, name="Orders2024").name == "Orders2024"
    with pytest.raises(ValueError, match="collection name is empty"):
        InMemoryCollectionStore(Order, name="")


async def test_a_body_chunk_that_is_not_bytes_is_refused() -> None:
    async def text() -> AsyncIterator[bytes]:
        yield "text"  # type: ignore[misc]

    store = InMemoryKeyValueStore()

    with pytest.raises(TypeError, match="chunk must be bytes"):
        await store.put("k", text())
    assert not await store.exists("k")


async def test_a_failed_renewal_is_logged_and_retried(caplog: pytest.LogCaptureFixture) -> None:
    clock = FakeClock()
    locks = FlakyLockStore(clock=clock, sleep=clock.sleep)

    with caplog.at_level(logging.WARNING, logger="beehive.stores"):
        async with locks.lock("order-42", ttl=3):
            for _ in range(6):
                await clock.advance(1)

    assert "could not renew lock on 'order-42'" in caplog.text


async def test_without_release_notices_a_waiter_polls() -> None:
    clock = FakeClock()
    locks = PollingLockStore(clock=clock, sleep=clock.sleep, poll_interval=0.5)
    held = await locks.acquire("order-42", ttl=30)
    waiter = asyncio.create_task(locks.acquire("order-42", ttl=30, wait=10))
    await clock.advance(1)

    await locks.release(held)
    await clock.advance(0.1)
    assert not waiter.done()  # it has not looked again yet
    await clock.advance(0.5)

    assert waiter.done()
    assert (await waiter).resource == "order-42"


async def test_expired_leases_are_forgotten() -> None:
    clock = FakeClock()
    locks = InMemoryLockStore(clock=clock, sleep=clock.sleep)
    for number in range(InMemoryLockStore._SWEEP_AT_LEAST):
        await locks.acquire(f"order-{number}", ttl=1)
    await clock.advance(1)  # expired at the very instant their ttl ends

    await locks.acquire("one-more", ttl=1)
    assert list(locks._leases) == ["one-more"]
    await locks.acquire("and-another", ttl=1)  # after a sweep, locks are taken as before
    assert list(locks._leases) == ["one-more", "and-another"]


# -- lock boundaries --------------------------------------------------------------------------


async def test_a_lock_is_held_until_the_instant_its_ttl_ends() -> None:
    clock = FakeClock()
    locks = InMemoryLockStore(clock=clock, sleep=clock.sleep)
    kept = await locks.acquire("kept", ttl=2)
    lapsed = await locks.acquire("lapsed", ttl=2)
    await clock.advance(1.5)
    await locks.renew(kept)  # to 3.5

    await clock.advance(0.5)  # "lapsed" ends now, exactly

    with pytest.raises(LockNotAcquiredError):
        await locks.acquire("kept", ttl=1)
    with pytest.raises(LockLostError):
        await locks.renew(lapsed)
    assert not await locks.release(lapsed), "released too late: it was not held any more"
    assert await locks.release(kept)
    assert (await locks.acquire("lapsed", ttl=1)).resource == "lapsed"


async def test_a_waiter_that_gives_up_leaves_nothing_behind() -> None:
    clock = FakeClock()
    locks = InMemoryLockStore(clock=clock, sleep=clock.sleep)
    held = await locks.acquire("order-42", ttl=30)
    waiter = asyncio.create_task(locks.acquire("order-42", ttl=30, wait=1))
    await clock.advance(1.5)

    with pytest.raises(LockNotAcquiredError):
        await waiter
    assert locks._waiters == {}, "no waiter left for a resource nobody waits on"
    assert await locks.release(held)


async def test_a_waiter_served_by_a_release_leaves_nothing_behind() -> None:
    clock = FakeClock()
    locks = InMemoryLockStore(clock=clock, sleep=clock.sleep)
    held = await locks.acquire("order-42", ttl=30)
    waiters = [asyncio.create_task(locks.acquire("order-42", ttl=30, wait=5)) for _ in range(2)]
    await clock.advance(0.5)

    await locks.release(held)
    await clock.advance(0.5)
    first = next(w for w in waiters if w.done()).result()
    await locks.release(first)
    await clock.advance(0.5)

    assert all(w.done() for w in waiters)
    assert locks._waiters == {}


async def test_a_key_whose_last_item_is_removed_is_forgotten() -> None:
    lists = InMemoryKeyedListStore(ParkedItem)
    await lists.add("Parked", "order-1", ParkedItem(id="p-1"))
    await lists.add("Parked", "order-1", ParkedItem(id="p-2"))

    await lists.remove_item("Parked", "order-1", "p-1")
    assert list(lists._lists["Parked"]) == ["order-1"]
    await lists.remove_item("Parked", "order-1", "p-2")

    assert lists._lists["Parked"] == {}, "no empty table left behind per key"


async def test_a_blob_conflict_names_the_key_value_store() -> None:
    blobs = InMemoryKeyValueStore()
    stale = await blobs.put("k", b"one")
    current = await blobs.put("k", b"two")
    expected = f"but the write expected it at version {stale!r}"

    with pytest.raises(ConcurrencyConflictError) as put:
        await blobs.put("k", b"three", if_match=stale)
    with pytest.raises(ConcurrencyConflictError) as delete:
        await blobs.delete("k", if_match=stale)
    with pytest.raises(ConcurrencyConflictError) as create:
        await blobs.put("k", b"three", if_none_match="*")

    stored = f"blob 'k' in the key-value store is at version {current!r}"
    assert str(put.value) == str(delete.value) == f"{stored}, {expected}"
    assert str(create.value) == f"{stored}, but the write expected it absent"
