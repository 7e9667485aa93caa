"""The LockStore contract, run against every backend.

Time moves with the backend's clock: a fake one for memory (``advance`` is instant), the wall
clock for a server-side backend. No test sleeps and hopes.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from hypothesis import given

from beehive.stores import Lock, LockLostError, LockNotAcquiredError, LockStore
from tests.stores.conftest import PROPERTIES, Backend, Clock
from tests.stores.entities import INVALID_NAMES, names

# Real seconds after which a waiter that should have been served counts as stuck: a failure
# instead of a hung suite (with a fake clock the wait is never actually this long).
GUARD = 10


@pytest.fixture
def clock(backend: Backend) -> Clock:
    return backend.clock()


@pytest.fixture
async def locks(backend: Backend, clock: Clock) -> AsyncIterator[LockStore]:
    async with backend.lock(clock) as store:
        yield store


async def is_free(locks: LockStore, resource: str) -> bool:
    try:
        lock = await locks.acquire(resource, ttl=1)
    except LockNotAcquiredError:
        return False
    await locks.release(lock)
    return True


async def test_acquire_returns_a_lock_that_excludes_others(locks: LockStore) -> None:
    lock = await locks.acquire("order-42", ttl=2)

    assert isinstance(lock, Lock)
    assert lock.resource == "order-42"
    assert lock.ttl == 2
    assert lock.token
    with pytest.raises(LockNotAcquiredError, match="order-42"):
        await locks.acquire("order-42", ttl=2)


async def test_release_frees_the_lock(locks: LockStore) -> None:
    lock = await locks.acquire("order-42", ttl=2)

    assert await locks.release(lock)
    again = await locks.acquire("order-42", ttl=2)

    assert again.token != lock.token


async def test_locks_on_different_resources_are_independent(locks: LockStore) -> None:
    await locks.acquire("order-1", ttl=2)

    assert await is_free(locks, "order-2")


async def test_ttl_may_be_a_timedelta(locks: LockStore) -> None:
    lock = await locks.acquire("order-42", ttl=timedelta(seconds=2))

    assert lock.ttl == 2


async def test_a_lock_whose_holder_died_expires_after_ttl(locks: LockStore, clock: Clock) -> None:
    await locks.acquire("order-42", ttl=2)  # and never released

    await clock.advance(1.5)
    assert not await is_free(locks, "order-42")
    await clock.advance(1)
    assert await is_free(locks, "order-42")


async def test_a_stale_token_releases_nothing(locks: LockStore, clock: Clock) -> None:
    stale = await locks.acquire("order-42", ttl=2)
    await clock.advance(2.5)
    current = await locks.acquire("order-42", ttl=2)

    assert not await locks.release(stale)

    assert not await is_free(locks, "order-42")
    assert await locks.release(current)
    assert await is_free(locks, "order-42")


async def test_releasing_twice_releases_once(locks: LockStore) -> None:
    lock = await locks.acquire("order-42", ttl=2)

    assert await locks.release(lock)
    assert not await locks.release(lock)


async def test_renew_extends_the_lock(locks: LockStore, clock: Clock) -> None:
    lock = await locks.acquire("order-42", ttl=2)

    await clock.advance(1.5)
    await locks.renew(lock)
    await clock.advance(1.5)

    assert not await is_free(locks, "order-42")


async def test_renew_of_a_lock_taken_by_another_raises(locks: LockStore, clock: Clock) -> None:
    stale = await locks.acquire("order-42", ttl=2)
    await clock.advance(2.5)
    current = await locks.acquire("order-42", ttl=2)

    with pytest.raises(LockLostError, match="order-42"):
        await locks.renew(stale)

    await clock.advance(1)
    await locks.renew(current)  # the new holder is unaffected


async def test_renew_of_a_released_lock_raises(locks: LockStore) -> None:
    lock = await locks.acquire("order-42", ttl=2)
    await locks.release(lock)

    with pytest.raises(LockLostError):
        await locks.renew(lock)


async def test_a_waiter_gets_the_lock_once_it_is_released(locks: LockStore, clock: Clock) -> None:
    held = await locks.acquire("order-42", ttl=30)
    waiter = asyncio.create_task(locks.acquire("order-42", ttl=30, wait=20))
    await clock.advance(0.5)
    assert not waiter.done()

    await locks.release(held)
    await clock.advance(0.5)
    lock = await asyncio.wait_for(waiter, GUARD)

    assert lock.token != held.token


async def test_a_waiter_gets_the_lock_once_it_expires(locks: LockStore, clock: Clock) -> None:
    await locks.acquire("order-42", ttl=2)  # and never released
    waiter = asyncio.create_task(locks.acquire("order-42", ttl=2, wait=5))

    await clock.advance(2.5)

    assert (await asyncio.wait_for(waiter, GUARD)).resource == "order-42"


async def test_a_waiter_gives_up_when_the_wait_runs_out(locks: LockStore, clock: Clock) -> None:
    await locks.acquire("order-42", ttl=30)
    waiter = asyncio.create_task(locks.acquire("order-42", ttl=2, wait=1))

    await clock.advance(1.5)

    with pytest.raises(LockNotAcquiredError, match="order-42"):
        await asyncio.wait_for(waiter, GUARD)


async def test_one_of_many_contenders_wins(locks: LockStore) -> None:
    results = await asyncio.gather(
        *(locks.acquire("order-42", ttl=5) for _ in range(20)), return_exceptions=True
    )

    assert sum(isinstance(result, Lock) for result in results) == 1
    assert sum(isinstance(result, LockNotAcquiredError) for result in results) == 19


# --- the context manager --------------------------------------------------------------------


async def test_lock_holds_for_the_block_then_releases(locks: LockStore) -> None:
    async with locks.lock("order-42", ttl=2) as held:
        assert held.resource == "order-42"
        assert not await is_free(locks, "order-42")

    assert await is_free(locks, "order-42")


async def test_lock_releases_when_the_block_raises(locks: LockStore) -> None:
    with pytest.raises(RuntimeError, match="boom"):
        async with locks.lock("order-42", ttl=2):
            raise RuntimeError("boom")

    assert await is_free(locks, "order-42")


async def test_lock_renews_while_held(locks: LockStore, clock: Clock) -> None:
    async with locks.lock("order-42", ttl=3):
        for _ in range(9):  # 9 s: three times the ttl
            await clock.advance(1)
        assert not await is_free(locks, "order-42")

    assert await is_free(locks, "order-42")


async def test_lock_lost_while_held_raises_on_exit(locks: LockStore, clock: Clock) -> None:
    taken: list[Lock] = []

    async def hold_too_long() -> None:
        async with locks.lock("order-42", ttl=2, renew_every=10):
            await clock.advance(2.5)  # no renewal in time: it expires
            taken.append(await locks.acquire("order-42", ttl=5))

    with pytest.raises(LockLostError, match="lost while held"):
        await hold_too_long()

    assert not await is_free(locks, "order-42")  # the new holder kept it
    assert await locks.release(taken[0])


async def test_lock_waits_for_its_turn(locks: LockStore, clock: Clock) -> None:
    inside: list[int] = []
    most = 0

    async def work(number: int) -> None:
        nonlocal most
        async with locks.lock("order-42", ttl=10, wait=60):
            inside.append(number)
            most = max(most, len(inside))
            await clock.advance(0.1)
            inside.remove(number)

    await asyncio.wait_for(asyncio.gather(*(work(number) for number in range(5))), GUARD)

    assert most == 1
    assert await is_free(locks, "order-42")


# --- bad input ------------------------------------------------------------------------------


@pytest.mark.parametrize("bad", INVALID_NAMES)
async def test_invalid_resources_are_refused_with_the_rule(locks: LockStore, bad: str) -> None:
    with pytest.raises(ValueError, match="1 to 255 characters"):
        await locks.acquire(bad, ttl=2)


@pytest.mark.parametrize(("ttl", "wait"), [(0, 0), (-1, 0), (2, -1)])
async def test_non_positive_ttl_and_negative_wait_are_refused(
    locks: LockStore, ttl: float, wait: float
) -> None:
    with pytest.raises(ValueError, match=r"ttl|wait"):
        await locks.acquire("order-42", ttl=ttl, wait=wait)


@PROPERTIES
@given(resource=names, other=names)
async def test_any_legal_resource_names_lock_without_colliding(
    backend: Backend, resource: str, other: str
) -> None:
    async with backend.lock(backend.clock()) as store:
        lock = await store.acquire(resource, ttl=5)

        assert not await is_free(store, resource)
        assert await is_free(store, other) == (other != resource)
        assert await store.release(lock)
        assert await is_free(store, resource)
