"""State stores in PostgreSQL (the ``postgres`` extra: ``pip install 'beehive-actors[postgres]'``).

Build each from a DSN, or share one pool between them::

    orders = PostgresCollectionStore("postgresql://app@db/shop", Order)

    pool = connection_pool("postgresql://app@db/shop")
    orders = PostgresCollectionStore(None, Order, pool=pool)
    stock = PostgresCounterStore(pool=pool)

Nothing connects until the first operation, which also creates the schema (``beehive`` unless
``schema=`` says otherwise) and its six tables if they are not there; ``beehive topology
--format sql`` prints the same SQL for a DBA to run instead (:func:`ddl`). Close stores with
``await store.close()`` or ``async with``; a shared pool is closed by its owner
(``await pool.close()``). Names follow beehive's one rule (any ``str`` of 1 to 255 characters):
NUL, which PostgreSQL text cannot hold, is escaped, and so is ``%``. The driver is psycopg 3
with psycopg-pool; every call is one statement where the database can do it in one (a
counter's increment is one upsert, a conditional write one ``UPDATE ... WHERE etag = ...``).
The modules ``beehive.stores._postgres_schema`` (the tables), ``_records``, ``_counters``,
``_blobs`` and ``_locks`` describe the layouts.
"""

from __future__ import annotations

from beehive.stores._postgres_schema import ddl
from beehive.stores.postgres._blobs import PostgresKeyValueStore
from beehive.stores.postgres._common import Pool, connection_pool
from beehive.stores.postgres._counters import PostgresCounterStore
from beehive.stores.postgres._locks import PostgresLockStore
from beehive.stores.postgres._records import PostgresCollectionStore, PostgresKeyedListStore

__all__ = [
    "Pool",
    "PostgresCollectionStore",
    "PostgresCounterStore",
    "PostgresKeyValueStore",
    "PostgresKeyedListStore",
    "PostgresLockStore",
    "connection_pool",
    "ddl",
]
