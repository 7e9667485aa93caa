"""Another process on the same PostgreSQL stores, for tests/stores/test_postgres.py.

``python -m tests.stores.postgres_worker count DSN SCHEMA ROUNDS``: increments counter
``hits``/``a`` ``ROUNDS`` times and prints its last value.
``... bump DSN SCHEMA``: reads entity ``shared`` and writes it back with ``count + 1``.
``... hold DSN SCHEMA RESOURCE``: takes the lock on ``RESOURCE`` (ttl 120 s), prints ``held``,
and waits to be killed.
"""

from __future__ import annotations

import asyncio
import sys

from beehive.stores.postgres import PostgresCollectionStore, PostgresCounterStore, PostgresLockStore
from tests.stores.entities import Tally


async def count(dsn: str, schema: str, rounds: int) -> None:
    async with PostgresCounterStore(dsn, schema=schema) as counters:
        value = 0
        for _ in range(rounds):
            value = await counters.increment("hits", "a")
    print(value, flush=True)


async def bump(dsn: str, schema: str) -> None:
    async with PostgresCollectionStore(dsn, Tally, schema=schema) as tallies:
        shared = await tallies.get("shared")
        await tallies.update(shared.model_copy(update={"count": shared.count + 1}))
    print("bumped", flush=True)


async def hold(dsn: str, schema: str, resource: str) -> None:
    async with PostgresLockStore(dsn, schema=schema) as locks:
        await locks.acquire(resource, ttl=120)
        print("held", flush=True)
        await asyncio.Event().wait()


if __name__ == "__main__":
    command, dsn, schema, *rest = sys.argv[1:]
    if command == "count":
        asyncio.run(count(dsn, schema, int(rest[0])))
    elif command == "bump":
        asyncio.run(bump(dsn, schema))
    else:
        asyncio.run(hold(dsn, schema, rest[0]))
