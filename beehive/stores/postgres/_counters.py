"""Counters in PostgreSQL: one row per counter name and id, changed by one statement.

An increment is one upsert (``INSERT ... ON CONFLICT DO UPDATE SET value = value + by
RETURNING value``); a guarded decrement (``allow_negative=False``) is one ``UPDATE ... WHERE
value + by >= 0 RETURNING value``. The row lock PostgreSQL takes for the update serialises
concurrent increments, so any number of processes end exactly at the sum, without retries.
Only a refused decrement reads the value again, to say what it was.
"""

from __future__ import annotations

from typing import Final

from beehive.errors import CounterUnderflowError
from beehive.stores.base import CounterStore
from beehive.stores.postgres._common import Pool, PostgresStore, escape, psycopg

__all__ = ["PostgresCounterStore"]

INT64: Final = range(-(2**63), 2**63)


class PostgresCounterStore(PostgresStore, CounterStore):
    """A :class:`~beehive.stores.CounterStore` in PostgreSQL (rows of ``counters``).

    ``dsn``, ``pool`` and ``schema`` as for
    :class:`~beehive.stores.postgres.PostgresCollectionStore`. Values are signed 64-bit
    (``bigint``); an increment that would leave that range raises ``OverflowError`` and
    changes nothing.
    """

    def __init__(
        self, dsn: str | None = None, *, pool: Pool | None = None, schema: str = "beehive"
    ) -> None:
        self._attach(dsn, pool, schema)
        t = self._table("counters")
        where = "counter_name = %s AND id = %s"
        self._sql_get = f"SELECT value FROM {t} WHERE {where}"
        upsert = (
            f"INSERT INTO {t} AS c (counter_name, id, value) VALUES (%s, %s, %s) "
            "ON CONFLICT (counter_name, id) DO UPDATE SET value = c.value + EXCLUDED.value"
        )
        self._sql_add = f"{upsert} RETURNING value"
        self._sql_add_floored = f"{upsert} WHERE c.value + EXCLUDED.value >= %s RETURNING value"
        self._sql_add_above = (
            f"UPDATE {t} SET value = value + %s WHERE {where} AND value + %s >= %s RETURNING value"
        )

    async def _get(self, counter_name: str, id: str) -> int:
        row = await self._fetch_one(self._sql_get, (escape(counter_name), escape(id)))
        return 0 if row is None else int(row[0])

    async def _increment(self, counter_name: str, id: str, by: int, floor: int | None) -> int:
        if by not in INT64:
            raise self._overflow(counter_name, id, by)
        keys = (escape(counter_name), escape(id))
        try:
            if floor is None:
                row = await self._fetch_one(self._sql_add, (*keys, by))
            elif by >= floor:
                # A missing counter is 0, so adding by cannot take it below floor: upsert.
                row = await self._fetch_one(self._sql_add_floored, (*keys, by, floor))
            else:
                # A missing counter would go below floor: only an existing one may be changed.
                row = await self._fetch_one(self._sql_add_above, (by, *keys, by, floor))
        except psycopg.errors.NumericValueOutOfRange:
            raise self._overflow(counter_name, id, by) from None
        if row is None:
            raise CounterUnderflowError(counter_name, id, await self._get(counter_name, id), by)
        return int(row[0])

    @staticmethod
    def _overflow(counter_name: str, id: str, by: int) -> OverflowError:
        return OverflowError(
            f"adding {by} to counter {counter_name!r} of {id!r} would leave the signed 64-bit "
            "range that a PostgreSQL bigint holds; the counter is unchanged"
        )
