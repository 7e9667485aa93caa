"""The store backends the contract suites run against.

A backend makes fresh, empty stores as async context managers (one per test, or per example in
property tests), and a clock the lock suite moves time with. Add a backend to BACKENDS and every
contract test runs against it unchanged: a real backend creates uniquely named tables and
containers, deletes them on exit, and returns a ``RealClock`` (its ``advance`` really waits).
"""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import TypeVar

import pytest
from hypothesis import HealthCheck, settings
from pydantic import BaseModel

from beehive.stores import (
    CollectionStore,
    CounterStore,
    InMemoryCollectionStore,
    InMemoryCounterStore,
    InMemoryKeyedListStore,
    InMemoryKeyValueStore,
    InMemoryLockStore,
    KeyedListStore,
    KeyValueStore,
    LockStore,
)

ModelT = TypeVar("ModelT", bound=BaseModel)

# Property tests create their store inside each example, so the function-scoped ``backend``
# fixture they share is a stateless factory: the health check does not apply.
PROPERTIES = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


class Clock(ABC):
    """Monotonic seconds for a lock store, and a way for a test to let time pass."""

    @abstractmethod
    def __call__(self) -> float: ...

    @abstractmethod
    async def sleep(self, seconds: float) -> None: ...

    @abstractmethod
    async def advance(self, seconds: float) -> None:
        """Let ``seconds`` pass, and let the tasks due in that time run."""


class FakeClock(Clock):
    """Time that only moves when a test says so; sleepers wake when it passes their deadline."""

    def __init__(self) -> None:
        self.now = 1000.0
        self._sleepers: list[tuple[float, asyncio.Future[None]]] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        if seconds <= 0:
            await asyncio.sleep(0)
            return
        wake = asyncio.get_running_loop().create_future()
        self._sleepers.append((self.now + seconds, wake))
        await wake

    async def advance(self, seconds: float) -> None:
        await self._settle()  # tasks started just before must see the time before it moves
        self.now += seconds
        due = [wake for deadline, wake in self._sleepers if deadline <= self.now]
        self._sleepers = [(d, w) for d, w in self._sleepers if d > self.now and not w.done()]
        for wake in due:
            if not wake.done():
                wake.set_result(None)
        await self._settle()

    @staticmethod
    async def _settle() -> None:
        """Let ready tasks run up to their next wait (a renewal, a retry, a fake sleep)."""
        for _ in range(20):
            await asyncio.sleep(0)


class RealClock(Clock):
    """Wall time, for backends whose leases expire on a server."""

    def __call__(self) -> float:
        return asyncio.get_running_loop().time()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)

    async def advance(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


class Backend(ABC):
    """Makes fresh stores of one backend."""

    @abstractmethod
    def collection(
        self, entity_type: type[ModelT], *, name: str | None = None
    ) -> AbstractAsyncContextManager[CollectionStore[ModelT]]:
        """A fresh collection; a real backend may add a unique suffix when ``name`` is None."""

    @abstractmethod
    def keyed_list(
        self, item_type: type[ModelT]
    ) -> AbstractAsyncContextManager[KeyedListStore[ModelT]]: ...

    @abstractmethod
    def counter(self) -> AbstractAsyncContextManager[CounterStore]: ...

    @abstractmethod
    def key_value(self) -> AbstractAsyncContextManager[KeyValueStore]: ...

    @abstractmethod
    def clock(self) -> Clock: ...

    @abstractmethod
    def lock(self, clock: Clock) -> AbstractAsyncContextManager[LockStore]: ...


class MemoryBackend(Backend):
    @asynccontextmanager
    async def collection(
        self, entity_type: type[ModelT], *, name: str | None = None
    ) -> AsyncIterator[CollectionStore[ModelT]]:
        yield InMemoryCollectionStore(entity_type, name=name)

    @asynccontextmanager
    async def keyed_list(self, item_type: type[ModelT]) -> AsyncIterator[KeyedListStore[ModelT]]:
        yield InMemoryKeyedListStore(item_type)

    @asynccontextmanager
    async def counter(self) -> AsyncIterator[CounterStore]:
        yield InMemoryCounterStore()

    @asynccontextmanager
    async def key_value(self) -> AsyncIterator[KeyValueStore]:
        yield InMemoryKeyValueStore()

    def clock(self) -> Clock:
        return FakeClock()

    @asynccontextmanager
    async def lock(self, clock: Clock) -> AsyncIterator[LockStore]:
        yield InMemoryLockStore(clock=clock, sleep=clock.sleep)


BACKENDS: dict[str, Backend] = {"memory": MemoryBackend()}


@pytest.fixture(params=list(BACKENDS))
def backend(request: pytest.FixtureRequest) -> Backend:
    return BACKENDS[request.param]
