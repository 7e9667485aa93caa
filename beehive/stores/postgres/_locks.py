"""Locks in PostgreSQL: a lease row per resource, freed early when its holder's connection dies.

A lock store keeps one connection of its own (not from the pool) and runs its statements on
it: each lease row records that connection's backend pid and start time. Taking a lock is one
upsert that succeeds when the resource is free, its lease expired (the server's clock decides,
so machines' clocks need not agree), or the holder's connection is gone from
``pg_stat_activity``: a holder process that was killed releases its locks as soon as
PostgreSQL notices its connection closed, not a ``ttl`` later. Renewing and releasing carry the
holder's token. If this store's own connection breaks, it reconnects on the next call; leases
taken on the old connection then count as released for everyone else (which is what the holder
would observe after a crash), and a renewal fails if someone took the lock meanwhile.
"""

from __future__ import annotations

import asyncio
import inspect
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from beehive.errors import LockLostError
from beehive.stores.base import Lock, LockStore
from beehive.stores.postgres._common import Pool, PostgresStore, Row, escape, psycopg

__all__ = ["PostgresLockStore"]


class PostgresLockStore(PostgresStore, LockStore):
    """A :class:`~beehive.stores.LockStore` in PostgreSQL (rows of ``locks``).

    ``dsn``, ``pool`` and ``schema`` as for
    :class:`~beehive.stores.postgres.PostgresCollectionStore`; the pool is used for setup and
    for its connection settings, while the leases go through one connection of the store's own.
    ``clock``, ``sleep`` and ``poll_interval`` time the waits (expiry is the server's).
    """

    def __init__(
        self,
        dsn: str | None = None,
        *,
        pool: Pool | None = None,
        schema: str = "beehive",
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        poll_interval: float = 0.25,
    ) -> None:
        LockStore.__init__(self, clock=clock, sleep=sleep, poll_interval=poll_interval)
        self._attach(dsn, pool, schema)
        self._holder: psycopg.AsyncConnection[Any] | None = None
        self._holder_id: tuple[int, Any] = (0, None)
        self._using_holder = asyncio.Lock()
        t = self._table("locks")
        now = "clock_timestamp()"
        self._sql_acquire = (
            f"INSERT INTO {t} AS l (resource, token, expires_at, holder_pid, holder_start) "
            f"VALUES (%s, %s, {now} + %s * interval '1 second', %s, %s) "
            "ON CONFLICT (resource) DO UPDATE SET token = EXCLUDED.token, "
            "expires_at = EXCLUDED.expires_at, holder_pid = EXCLUDED.holder_pid, "
            f"holder_start = EXCLUDED.holder_start WHERE l.expires_at <= {now} "
            "OR NOT EXISTS (SELECT FROM pg_stat_activity a WHERE a.pid = l.holder_pid "
            "AND (a.backend_start = l.holder_start OR a.backend_start IS NULL)) "
            "RETURNING 1"
        )
        self._sql_renew = (
            f"UPDATE {t} SET expires_at = {now} + %s * interval '1 second', holder_pid = %s, "
            f"holder_start = %s WHERE resource = %s AND token = %s AND expires_at > {now} "
            "RETURNING 1"
        )
        self._sql_release = (
            f"DELETE FROM {t} WHERE resource = %s AND token = %s RETURNING expires_at > {now}"
        )

    async def _try_acquire(self, resource: str, ttl: float) -> Lock | None:
        lock = Lock(resource, uuid.uuid4().hex, ttl)
        rows = await self._on_holder(
            self._sql_acquire, (escape(resource), lock.token, ttl), with_holder=True
        )
        return lock if rows else None

    async def _release(self, lock: Lock) -> bool:
        rows = await self._on_holder(self._sql_release, (escape(lock.resource), lock.token))
        return bool(rows and rows[0][0])

    async def _renew(self, lock: Lock) -> None:
        params = (lock.ttl, *await self._holder_params(), escape(lock.resource), lock.token)
        if not await self._on_holder(self._sql_renew, params):
            raise LockLostError(
                f"lock on {lock.resource!r} is no longer held by this holder (it expired)"
            )

    async def _holder_params(self) -> tuple[int, Any]:
        async with self._using_holder:
            await self._holder_connection()
            return self._holder_id

    async def _on_holder(
        self, query: str, params: Sequence[Any], *, with_holder: bool = False
    ) -> list[Row]:
        """Run one statement on the store's own connection (reconnecting if it broke)."""
        if not self._ready:
            await self._set_up()
        async with self._using_holder:
            connection = await self._holder_connection()
            if with_holder:
                params = (*params, *self._holder_id)
            cursor = await connection.execute(query.encode(), params)
            return await cursor.fetchall()

    async def _holder_connection(self) -> psycopg.AsyncConnection[Any]:
        if self._holder is None or self._holder.closed or self._holder.broken:
            conninfo: Any = self._pool.conninfo
            if callable(conninfo):
                conninfo = conninfo()
            if inspect.isawaitable(conninfo):
                conninfo = await conninfo
            options = self._pool.kwargs if isinstance(self._pool.kwargs, dict) else {}
            self._holder = await psycopg.AsyncConnection.connect(
                str(conninfo), **{**options, "autocommit": True}
            )
            cursor = await self._holder.execute(
                "SELECT pg_backend_pid(), coalesce((SELECT backend_start FROM pg_stat_activity "
                "WHERE pid = pg_backend_pid()), '-infinity')"
            )
            row = await cursor.fetchone() or (0, None)
            self._holder_id = (int(row[0]), row[1])
        return self._holder

    async def close(self) -> None:
        """Close the store's connection (its leases count as released) and its own pool."""
        if self._holder is not None:
            await self._holder.close()
        await super().close()
