"""What every PostgreSQL store shares: the driver import, the pool, first-use setup, names.

Imported first by every module of this package, so a missing extra fails here with the extra to
install. The driver is psycopg 3 with psycopg-pool: a store given a DSN opens a small pool of
its own on first use (autocommit, at most :data:`POOL_SIZE` connections); stores given
``pool=`` share the caller's pool and leave it open when they close.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from types import TracebackType
from typing import Any, Final, Self, TypeAlias

try:
    import psycopg
    import psycopg.types.json
    from psycopg.conninfo import conninfo_to_dict
    from psycopg_pool import AsyncConnectionPool
except ImportError as error:  # pragma: no cover - depends on the installed extras
    raise ImportError(
        "beehive.stores.postgres needs psycopg: pip install 'beehive-actors[postgres]'"
    ) from error

from beehive.stores._postgres_schema import TABLES, check_schema, ddl, quote

__all__ = [
    "POOL_SIZE",
    "Pool",
    "PostgresStore",
    "Row",
    "connection_pool",
    "escape",
    "psycopg",
    "unescape",
]

Pool: TypeAlias = "AsyncConnectionPool[psycopg.AsyncConnection[Any]]"
Row: TypeAlias = tuple[Any, ...]
POOL_SIZE: Final = 4
PAGE: Final = 100  # rows per query when iterating lazily
# Serialises first-use setup across processes: CREATE ... IF NOT EXISTS races with itself.
_SETUP_LOCK_KEY: Final = 0x6265656869766500  # "beehive\0"
# PostgreSQL text cannot hold NUL; "%" is escaped too, so the escaping is reversible.
_UNSAFE: Final = re.compile("[%\x00]")
_ESCAPED: Final = re.compile("%([0-9A-F]{2})")


def escape(name: str) -> str:
    """``name`` with NUL and ``%`` written as ``%00`` and ``%25`` (prefix-preserving)."""
    return _UNSAFE.sub(lambda match: f"%{ord(match.group()):02X}", name)


def unescape(escaped: str) -> str:
    """The name :func:`escape` was given."""
    return _ESCAPED.sub(lambda match: chr(int(match.group(1), 16)), escaped)


def connection_pool(dsn: str, *, max_size: int = 10, **options: Any) -> Pool:
    """A pool several stores can share (``pool=``): autocommit, opened by the first store to
    use it, closed by its owner (``await pool.close()``).

    ``options`` go to :class:`psycopg_pool.AsyncConnectionPool` (``min_size``, ``timeout``...).
    """
    options.setdefault("min_size", 1)
    return AsyncConnectionPool(
        dsn, max_size=max_size, open=False, kwargs={"autocommit": True}, **options
    )


def described(dsn: str) -> str:
    """The DSN's host, port, database and user, never its password."""
    try:
        parts = conninfo_to_dict(dsn)
    except psycopg.ProgrammingError:
        raise ValueError(
            "malformed PostgreSQL DSN (not shown: it may hold a password); expected "
            "postgresql://user@host:5432/dbname or 'host=... dbname=... user=...'"
        ) from None
    shown = ("host", "port", "dbname", "user")
    return " ".join(f"{key}={parts[key]}" for key in shown if parts.get(key))


class PostgresStore:
    """A DSN or a shared pool, the schema made on first use, closing, a repr without secrets."""

    _pool: Pool
    _owns_pool: bool
    _schema: str
    _described: str
    _ready: bool
    _setting_up: asyncio.Lock

    def _attach(self, dsn: str | None, pool: Pool | None, schema: str) -> None:
        self._schema = check_schema(schema)
        if dsn is not None and pool is None:
            self._described = f"{described(dsn)}, schema={schema!r}"
            self._pool, self._owns_pool = connection_pool(dsn, max_size=POOL_SIZE), True
        elif pool is not None and dsn is None:
            self._described = f"pool={pool.name!r}, schema={schema!r}"
            self._pool, self._owns_pool = pool, False
        else:
            raise ValueError("give a PostgreSQL DSN or pool=, not both and not neither")
        self._ready = False
        self._setting_up = asyncio.Lock()

    def _table(self, table: str) -> str:
        """A table of this store's schema, quoted for SQL."""
        return f"{quote(self._schema)}.{table}"

    @asynccontextmanager
    async def _connection(self) -> AsyncIterator[psycopg.AsyncConnection[Any]]:
        """A pooled connection (a transaction of its own when the pool is not autocommit)."""
        if not self._ready:
            await self._set_up()
        async with self._pooled() as connection:
            if connection.autocommit:
                yield connection
            else:
                async with connection.transaction():
                    yield connection

    @asynccontextmanager
    async def _pooled(self) -> AsyncIterator[psycopg.AsyncConnection[Any]]:
        task = asyncio.current_task()
        cancelled_before = task.cancelling() if task is not None else 0
        async with self._pool.connection() as connection:
            if task is not None and task.cancelling() > cancelled_before:
                # Python 3.11's asyncio.wait_for, with which psycopg-pool waits for a
                # connection, can swallow a cancellation that races a connection coming free.
                raise asyncio.CancelledError
            yield connection

    async def _fetch(self, query: str, params: Sequence[Any] = ()) -> list[Row]:
        """The rows one statement returns (none for a statement that returns none)."""
        async with self._connection() as connection:
            cursor = await connection.execute(query.encode(), params)
            return await cursor.fetchall() if cursor.description else []

    async def _fetch_one(self, query: str, params: Sequence[Any] = ()) -> Row | None:
        rows = await self._fetch(query, params)
        return rows[0] if rows else None

    async def _set_up(self) -> None:
        async with self._setting_up:
            if self._ready:
                return
            await self._pool.open()  # a no-op when open; a shared pool opens on first use too
            async with self._pooled() as connection:
                if not await _tables_exist(connection, self._schema):
                    await _create_tables(connection, self._schema)
            self._ready = True

    async def close(self) -> None:
        """Close the store's own pool (a shared ``pool=`` stays open for its owner)."""
        if self._owns_pool:
            await self._pool.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._described})"


async def _tables_exist(connection: psycopg.AsyncConnection[Any], schema: str) -> bool:
    cursor = await connection.execute(
        "SELECT bool_and(to_regclass(format('%%I.%%I', %s::text, t)) IS NOT NULL) "
        "FROM unnest(%s::text[]) AS t",
        (schema, list(TABLES)),
    )
    row = await cursor.fetchone()
    exists = bool(row and row[0])
    if not connection.autocommit:
        await connection.commit()
    return exists


async def _create_tables(connection: psycopg.AsyncConnection[Any], schema: str) -> None:
    async with connection.transaction():
        await connection.execute("SELECT pg_advisory_xact_lock(%s)", (_SETUP_LOCK_KEY,))
        await connection.execute(ddl(schema).encode())
