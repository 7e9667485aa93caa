"""The store backends the contract suites run against.

A backend makes fresh, empty stores as async context managers (one per test, or per example in
property tests), and a clock the lock suite moves time with. Add a backend to BACKENDS and every
contract test runs against it unchanged: a real backend creates uniquely named tables and
containers, deletes them on exit, and returns a ``RealClock`` (its ``advance`` really waits).
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any, TypeVar

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
from tests.azurite import Azurite
from tests.moto import Moto
from tests.postgres import fresh_schema

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
    """Makes fresh stores of one backend.

    ``kinds`` names the contract suites it runs (``test_<kind>.py``); None is all of them.
    """

    kinds: frozenset[str] | None = None

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


class AzureBackend(Backend):
    """Azure Table and Blob storage on Azurite: each store gets its own tables or container."""

    connection_string = ""  # set from the azurite fixture by ``backend``

    @asynccontextmanager
    async def collection(
        self, entity_type: type[ModelT], *, name: str | None = None
    ) -> AsyncIterator[CollectionStore[ModelT]]:
        from beehive.stores.azure import AzureCollectionStore

        async with self._tables() as prefix:
            store = AzureCollectionStore.from_connection_string(
                self.connection_string, entity_type, name=name, table_prefix=prefix
            )
            async with store:
                yield store

    @asynccontextmanager
    async def keyed_list(self, item_type: type[ModelT]) -> AsyncIterator[KeyedListStore[ModelT]]:
        from beehive.stores.azure import AzureKeyedListStore

        async with self._tables() as prefix:
            store = AzureKeyedListStore.from_connection_string(
                self.connection_string, item_type, table_prefix=prefix
            )
            async with store:
                yield store

    @asynccontextmanager
    async def counter(self) -> AsyncIterator[CounterStore]:
        from beehive.stores.azure import AzureCounterStore

        async with self._tables() as prefix:
            store = AzureCounterStore.from_connection_string(
                self.connection_string, table_prefix=prefix
            )
            async with store:
                yield store

    @asynccontextmanager
    async def key_value(self) -> AsyncIterator[KeyValueStore]:
        from beehive.stores.azure import AzureKeyValueStore

        async with self._container() as container:
            store = AzureKeyValueStore.from_connection_string(
                self.connection_string, container=container
            )
            async with store:
                yield store

    def clock(self) -> Clock:
        return RealClock()

    @asynccontextmanager
    async def lock(self, clock: Clock) -> AsyncIterator[LockStore]:
        from beehive.stores.azure import AzureLockStore

        async with self._container() as container:
            store = AzureLockStore.from_connection_string(
                self.connection_string,
                container=container,
                clock=clock,
                sleep=clock.sleep,
                poll_interval=0.05,
            )
            async with store:
                yield store

    @asynccontextmanager
    async def _tables(self) -> AsyncIterator[str]:
        """A table prefix of its own; its tables are deleted on exit."""
        from azure.data.tables.aio import TableServiceClient

        prefix = f"t{uuid.uuid4().hex[:12]}"
        try:
            yield prefix
        finally:
            async with TableServiceClient.from_connection_string(self.connection_string) as tables:
                query = "TableName ge @low and TableName lt @high"
                bounds = {"low": prefix, "high": prefix + "~"}
                async for table in tables.query_tables(query, parameters=bounds):
                    await tables.delete_table(table.name)

    @asynccontextmanager
    async def _container(self) -> AsyncIterator[str]:
        """A container name of its own; the container is deleted on exit."""
        from azure.core.exceptions import ResourceNotFoundError
        from azure.storage.blob.aio import BlobServiceClient

        name = f"c{uuid.uuid4().hex[:12]}"
        try:
            yield name
        finally:
            async with BlobServiceClient.from_connection_string(self.connection_string) as blobs:
                with contextlib.suppress(ResourceNotFoundError):  # never written to
                    await blobs.get_container_client(name).delete_container()


class PostgresBackend(Backend):
    """The machine's PostgreSQL: each store in a schema of its own, dropped on exit."""

    dsn = ""  # set from the postgres fixture by ``backend``

    @asynccontextmanager
    async def collection(
        self, entity_type: type[ModelT], *, name: str | None = None
    ) -> AsyncIterator[CollectionStore[ModelT]]:
        from beehive.stores.postgres import PostgresCollectionStore

        async with fresh_schema(self.dsn) as schema:
            store = PostgresCollectionStore(self.dsn, entity_type, name=name, schema=schema)
            async with store:
                yield store

    @asynccontextmanager
    async def keyed_list(self, item_type: type[ModelT]) -> AsyncIterator[KeyedListStore[ModelT]]:
        from beehive.stores.postgres import PostgresKeyedListStore

        async with fresh_schema(self.dsn) as schema:
            store = PostgresKeyedListStore(self.dsn, item_type, schema=schema)
            async with store:
                yield store

    @asynccontextmanager
    async def counter(self) -> AsyncIterator[CounterStore]:
        from beehive.stores.postgres import PostgresCounterStore

        async with fresh_schema(self.dsn) as schema:
            store = PostgresCounterStore(self.dsn, schema=schema)
            async with store:
                yield store

    @asynccontextmanager
    async def key_value(self) -> AsyncIterator[KeyValueStore]:
        from beehive.stores.postgres import PostgresKeyValueStore

        async with fresh_schema(self.dsn) as schema:
            store = PostgresKeyValueStore(self.dsn, schema=schema)
            async with store:
                yield store

    def clock(self) -> Clock:
        return RealClock()

    @asynccontextmanager
    async def lock(self, clock: Clock) -> AsyncIterator[LockStore]:
        from beehive.stores.postgres import PostgresLockStore

        async with fresh_schema(self.dsn) as schema:
            store = PostgresLockStore(
                self.dsn, schema=schema, clock=clock, sleep=clock.sleep, poll_interval=0.05
            )
            async with store:
                yield store


class AwsBackend(Backend):
    """S3 on moto's server mode, for the key-value suite: each store gets a bucket of its own."""

    kinds = frozenset({"key_value"})
    endpoint_url = ""  # set from the moto fixture by ``backend``

    def _refused(self) -> AbstractAsyncContextManager[Any]:
        raise NotImplementedError("beehive.stores.aws has only a key-value store")

    def collection(
        self, entity_type: type[ModelT], *, name: str | None = None
    ) -> AbstractAsyncContextManager[CollectionStore[ModelT]]:
        return self._refused()

    def keyed_list(
        self, item_type: type[ModelT]
    ) -> AbstractAsyncContextManager[KeyedListStore[ModelT]]:
        return self._refused()

    def counter(self) -> AbstractAsyncContextManager[CounterStore]:
        return self._refused()

    def lock(self, clock: Clock) -> AbstractAsyncContextManager[LockStore]:
        return self._refused()

    def clock(self) -> Clock:
        return RealClock()

    @asynccontextmanager
    async def key_value(self) -> AsyncIterator[KeyValueStore]:
        from beehive.stores.aws import S3KeyValueStore

        async with self.bucket() as (session, bucket):
            store = S3KeyValueStore(
                bucket, endpoint_url=self.endpoint_url, region_name="us-east-1", session=session
            )
            async with store:
                yield store

    @asynccontextmanager
    async def bucket(self) -> AsyncIterator[tuple[Any, str]]:
        """A session with moto's credentials and a bucket of its own, emptied and deleted on
        exit."""
        from aiobotocore.session import AioSession

        session = AioSession()
        session.set_credentials("testing", "testing")
        name = f"b{uuid.uuid4().hex[:12]}"
        options = {"endpoint_url": self.endpoint_url, "region_name": "us-east-1"}
        async with session.create_client("s3", **options) as s3:
            await s3.create_bucket(Bucket=name)
            try:
                yield session, name
            finally:
                pages = s3.get_paginator("list_objects_v2").paginate(Bucket=name)
                async for page in pages:
                    for item in page.get("Contents", []):
                        await s3.delete_object(Bucket=name, Key=item["Key"])
                await s3.delete_bucket(Bucket=name)


BACKENDS: dict[str, Backend] = {
    "memory": MemoryBackend(),
    "azure": AzureBackend(),
    "postgres": PostgresBackend(),
    "aws": AwsBackend(),
}


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Each contract suite runs against the backends that have its kind of store."""
    if "backend" not in metafunc.fixturenames:
        return
    kind = metafunc.module.__name__.rpartition(".")[2].removeprefix("test_")
    chosen = [name for name, b in BACKENDS.items() if b.kinds is None or kind in b.kinds]
    metafunc.parametrize("backend", chosen, indirect=True)


@pytest.fixture
def backend(request: pytest.FixtureRequest) -> Backend:
    chosen = BACKENDS[request.param]
    if isinstance(chosen, AzureBackend):
        running: Azurite = request.getfixturevalue("azurite")
        chosen.connection_string = running.connection_string
    if isinstance(chosen, PostgresBackend):
        chosen.dsn = request.getfixturevalue("postgres")
    if isinstance(chosen, AwsBackend):
        server: Moto = request.getfixturevalue("moto")
        chosen.endpoint_url = server.endpoint_url
    return chosen
