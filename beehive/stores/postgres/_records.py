"""Collections and keyed lists in PostgreSQL: one row per entity, one statement per call.

A collection's entities are rows of ``collections`` keyed by (collection, id); a keyed list's
items are rows of ``keyed_lists`` keyed by (list, key, id), and ``keyed_list_names`` remembers
every list ever added to. ``data`` holds the entity's JSON as ``json`` (kept as written, so a
NUL escaped as ``\\u0000`` survives, which ``jsonb`` would refuse). Writes are conditional in the
statement itself (``WHERE etag = ...``, ``ON CONFLICT DO NOTHING``); only a write that lost
reads again, to say why. Listing pages through the primary key (keyset paging), so it is lazy
and writes during an iteration cannot break it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Any, Generic

from beehive.errors import KeyAlreadyExistsError, NotFoundError
from beehive.stores._entities import Codec, EntityT, Record, conflict
from beehive.stores.base import CollectionStore, KeyedListStore
from beehive.stores.postgres._common import PAGE, Pool, PostgresStore, escape

__all__ = ["PostgresCollectionStore", "PostgresKeyedListStore"]


class Rows(Generic[EntityT]):
    """Entities of one type as rows of one table, addressed by a key prefix and an id.

    ``scope`` names the key columns before ``id`` (``collection``, or ``list_name, key``);
    every method takes their values first. What collections and keyed lists share.
    """

    def __init__(
        self, store: PostgresStore, table: str, scope: Sequence[str], codec: Codec[EntityT]
    ):
        self.store = store
        self.codec = codec
        self.what = codec.entity_type.__name__
        t = store._table(table)
        where = " AND ".join(f"{column} = %s" for column in (*scope, "id"))
        columns = ", ".join((*scope, "id", "data", "etag", "last_modified"))
        values = ", ".join(["%s"] * (len(scope) + 4))
        in_scope = " AND ".join(f"{column} = %s" for column in scope)
        keys = ", ".join((*scope, "id"))
        self.sql_get = f"SELECT data::text, etag, last_modified FROM {t} WHERE {where}"
        self.sql_etag = f"SELECT etag FROM {t} WHERE {where}"
        self.sql_exists = f"SELECT EXISTS (SELECT FROM {t} WHERE {where})"
        self.sql_insert = (
            f"INSERT INTO {t} ({columns}) VALUES ({values}) ON CONFLICT DO NOTHING RETURNING 1"
        )
        self.sql_upsert = (
            f"INSERT INTO {t} ({columns}) VALUES ({values}) ON CONFLICT ({keys}) DO UPDATE SET "
            "data = EXCLUDED.data, etag = EXCLUDED.etag, last_modified = EXCLUDED.last_modified"
        )
        self.sql_update = (
            f"UPDATE {t} SET data = %s, etag = %s, last_modified = %s "
            f"WHERE {where} AND (%s::text IS NULL OR etag = %s) RETURNING 1"
        )
        self.sql_delete = (
            f"DELETE FROM {t} WHERE {where} AND (%s::text IS NULL OR etag = %s) RETURNING 1"
        )
        self.sql_page = (
            f"SELECT id, data::text, etag, last_modified FROM {t} "
            f"WHERE {in_scope} AND id > %s ORDER BY id LIMIT {PAGE}"
        )

    async def get(self, scope: Sequence[str], id: str, where: str) -> EntityT:
        row = await self.store._fetch_one(self.sql_get, (*scope, escape(id)))
        if row is None:
            raise NotFoundError(f"no {self.what} {id!r} in {where}")
        json, etag, last_modified = row
        return self.codec.load(Record(id, json, etag, last_modified))

    async def exists(self, scope: Sequence[str], id: str) -> bool:
        row = await self.store._fetch_one(self.sql_exists, (*scope, escape(id)))
        return bool(row and row[0])

    async def insert(self, scope: Sequence[str], entity: EntityT, where: str) -> EntityT:
        record = self.codec.dump(entity)
        if not await self.store._fetch(self.sql_insert, (*scope, *self._values(record))):
            raise KeyAlreadyExistsError(f"{self.what} {record.id!r} already exists in {where}")
        return self.codec.written(entity, record)

    async def upsert(self, scope: Sequence[str], entity: EntityT) -> EntityT:
        record = self.codec.dump(entity)
        await self.store._fetch(self.sql_upsert, (*scope, *self._values(record)))
        return self.codec.written(entity, record)

    async def update(
        self, scope: Sequence[str], entity: EntityT, etag: str | None, where: str
    ) -> EntityT:
        record = self.codec.dump(entity)
        params = (record.json, record.etag, record.last_modified, *scope, escape(record.id))
        if not await self.store._fetch(self.sql_update, (*params, etag, etag)):
            stored = await self._stored_etag(scope, record.id)
            if stored is None:
                raise NotFoundError(f"no {self.what} {record.id!r} in {where}")
            raise conflict(where, self.what, record.id, etag, stored)
        return self.codec.written(entity, record)

    async def delete(self, scope: Sequence[str], id: str, etag: str | None, where: str) -> None:
        if await self.store._fetch(self.sql_delete, (*scope, escape(id), etag, etag)):
            return
        stored = None if etag is None else await self._stored_etag(scope, id)
        if stored is not None:  # there, at another version; missing is a no-op
            raise conflict(where, self.what, id, etag, stored)

    async def scan(self, scope: Sequence[str]) -> AsyncIterator[EntityT]:
        after = ""
        while True:
            rows = await self.store._fetch(self.sql_page, (*scope, after))
            for row in rows:
                yield self.codec.load(Record(row[0], row[1], row[2], row[3]))
            if len(rows) < PAGE:
                return
            after = rows[-1][0]

    def _values(self, record: Record) -> tuple[Any, ...]:
        return escape(record.id), record.json, record.etag, record.last_modified

    async def _stored_etag(self, scope: Sequence[str], id: str) -> str | None:
        row = await self.store._fetch_one(self.sql_etag, (*scope, escape(id)))
        return None if row is None else str(row[0])


class PostgresCollectionStore(PostgresStore, CollectionStore[EntityT]):
    """A :class:`~beehive.stores.CollectionStore` in PostgreSQL (rows of ``collections``).

    ``dsn`` (``postgresql://user@host/db``) gives the store a pool of its own; or pass
    ``None`` and ``pool=`` (see :func:`~beehive.stores.postgres.connection_pool`) to share one.
    """

    def __init__(
        self,
        dsn: str | None,
        entity_type: type[EntityT],
        *,
        pool: Pool | None = None,
        name: str | None = None,
        schema: str = "beehive",
    ) -> None:
        CollectionStore.__init__(self, entity_type, name=name)
        self._attach(dsn, pool, schema)
        self._rows = Rows(self, "collections", ("collection",), self._codec)
        self._scope = (escape(self.name),)
        self._where = f"collection {self.name!r}"

    async def _get(self, id: str) -> EntityT:
        return await self._rows.get(self._scope, id, self._where)

    async def _exists(self, id: str) -> bool:
        return await self._rows.exists(self._scope, id)

    async def _insert(self, entity: EntityT) -> EntityT:
        return await self._rows.insert(self._scope, entity, self._where)

    async def _upsert(self, entity: EntityT) -> EntityT:
        return await self._rows.upsert(self._scope, entity)

    async def _update(self, entity: EntityT, etag: str | None) -> EntityT:
        return await self._rows.update(self._scope, entity, etag, self._where)

    async def _delete(self, id: str, etag: str | None) -> None:
        await self._rows.delete(self._scope, id, etag, self._where)

    def _list(self) -> AsyncIterator[EntityT]:
        return self._rows.scan(self._scope)


class PostgresKeyedListStore(PostgresStore, KeyedListStore[EntityT]):
    """A :class:`~beehive.stores.KeyedListStore` in PostgreSQL (rows of ``keyed_lists``).

    ``dsn``, ``pool`` and ``schema`` as for :class:`PostgresCollectionStore`. Removing a key is
    one ``DELETE``, however many items it has.
    """

    def __init__(
        self,
        dsn: str | None,
        item_type: type[EntityT],
        *,
        pool: Pool | None = None,
        schema: str = "beehive",
    ) -> None:
        KeyedListStore.__init__(self, item_type)
        self._attach(dsn, pool, schema)
        self._rows = Rows(self, "keyed_lists", ("list_name", "key"), self._codec)
        items, names = self._table("keyed_lists"), self._table("keyed_list_names")
        # The list's name is recorded by the same statement that adds its item.
        self._sql_add = (
            f"WITH named AS (INSERT INTO {names} (list_name) VALUES (%s) ON CONFLICT DO NOTHING) "
            + self._rows.sql_insert
        )
        self._sql_remove = f"DELETE FROM {items} WHERE list_name = %s AND key = %s"
        self._sql_key_exists = (
            f"SELECT EXISTS (SELECT FROM {items} WHERE list_name = %s AND key = %s)"
        )
        self._sql_list_exists = f"SELECT EXISTS (SELECT FROM {names} WHERE list_name = %s)"

    @staticmethod
    def _scope(list_name: str, key: str) -> tuple[str, str]:
        return escape(list_name), escape(key)

    @staticmethod
    def _where(list_name: str, key: str) -> str:
        return f"list {list_name!r} under key {key!r}"

    async def _add(self, list_name: str, key: str, item: EntityT) -> EntityT:
        record = self._codec.dump(item)
        scope = self._scope(list_name, key)
        params = (scope[0], *scope, *self._rows._values(record))
        if not await self._fetch(self._sql_add, params):
            raise KeyAlreadyExistsError(
                f"{self._rows.what} {record.id!r} already exists in {self._where(list_name, key)}"
            )
        return self._codec.written(item, record)

    def _items(self, list_name: str, key: str) -> AsyncIterator[EntityT]:
        return self._rows.scan(self._scope(list_name, key))

    async def _get_item(self, list_name: str, key: str, item_id: str) -> EntityT:
        return await self._rows.get(
            self._scope(list_name, key), item_id, self._where(list_name, key)
        )

    async def _update(self, list_name: str, key: str, item: EntityT, etag: str | None) -> EntityT:
        scope, where = self._scope(list_name, key), self._where(list_name, key)
        return await self._rows.update(scope, item, etag, where)

    async def _remove(self, list_name: str, key: str) -> None:
        await self._fetch(self._sql_remove, self._scope(list_name, key))

    async def _remove_item(self, list_name: str, key: str, item_id: str, etag: str | None) -> None:
        scope, where = self._scope(list_name, key), self._where(list_name, key)
        await self._rows.delete(scope, item_id, etag, where)

    async def _exists(self, list_name: str, key: str) -> bool:
        row = await self._fetch_one(self._sql_key_exists, self._scope(list_name, key))
        return bool(row and row[0])

    async def _item_exists(self, list_name: str, key: str, item_id: str) -> bool:
        return await self._rows.exists(self._scope(list_name, key), item_id)

    async def _list_exists(self, list_name: str) -> bool:
        row = await self._fetch_one(self._sql_list_exists, (escape(list_name),))
        return bool(row and row[0])
