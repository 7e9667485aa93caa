"""Collections and keyed lists on Azure Table storage.

A collection is a table named after it; an entity's partition is the first two hex digits of
the SHA-256 of its id (256 partitions, so load spreads however ids are chosen) and its row key
is the id, escaped. A keyed list is a table named after the list; each key is one partition, so
a key's items are read with one partition query, page by page, and removed in batch
transactions of 100. Keys too long for Azure (1 KiB) are hashed, and the original names kept in
``Id`` and ``Key`` properties. The entity's JSON is in ``Json`` (see
:mod:`beehive.stores.azure._tables`), its ``etag`` is the row's ETag and its
``last_modified`` the row's Timestamp.
"""

from __future__ import annotations

import builtins
import hashlib
from collections.abc import AsyncIterator, Mapping
from contextlib import aclosing
from dataclasses import dataclass, field
from typing import Any, Final, Generic, Self

from beehive.errors import KeyAlreadyExistsError, NotFoundError
from beehive.stores.azure._common import Credential, HttpResponseError, MatchConditions, conflict
from beehive.stores.azure._tables import (
    Connect,
    TableBacked,
    Tables,
    pack,
    table_service,
    table_service_from,
    unpack,
    version_of,
)

try:
    from azure.core.exceptions import (
        ResourceExistsError,
        ResourceModifiedError,
        ResourceNotFoundError,
    )
    from azure.data.tables import TableEntity, UpdateMode
    from azure.data.tables.aio import TableClient
except ImportError as error:  # pragma: no cover - depends on the installed extras
    raise ImportError(
        "beehive.stores.azure needs the Azure SDK: pip install 'beehive-actors[azure]'"
    ) from error

from beehive.stores._entities import Codec, EntityT, Record
from beehive.stores._names import escape, table_key
from beehive.stores.base import CollectionStore, KeyedListStore

__all__ = ["AzureCollectionStore", "AzureKeyedListStore"]

BATCH: Final = 100  # the most operations one table transaction may hold
_IF_MATCH: Final = MatchConditions.IfNotModified


@dataclass(frozen=True, slots=True)
class Place:
    """Where one entity lives: its table and keys, and how to name its place in messages."""

    table: TableClient
    partition: str
    row: str
    where: str
    names: Mapping[str, str] = field(default_factory=dict)  # originals of hashed keys

    @property
    def keys(self) -> dict[str, str]:
        return {"PartitionKey": self.partition, "RowKey": self.row}


class Records(Generic[EntityT]):
    """Entities of one type as table rows: what collections and keyed lists share."""

    def __init__(self, tables: Tables, codec: Codec[EntityT]) -> None:
        self.tables = tables
        self.codec = codec
        self.what = codec.entity_type.__name__

    def load(self, row: TableEntity) -> EntityT:
        etag, last_modified = version_of(row)
        return self.codec.load(Record(str(row["RowKey"]), unpack(row), etag, last_modified))

    async def get(self, place: Place, id: str) -> EntityT:
        try:
            row = await place.table.get_entity(place.partition, place.row)
        except ResourceNotFoundError:
            raise NotFoundError(f"no {self.what} {id!r} in {place.where}") from None
        return self.load(row)

    async def exists(self, place: Place) -> bool:
        return await self._stored_etag(place) is not None

    async def insert(self, place: Place, entity: EntityT, id: str) -> EntityT:
        json, row = self._row(place, entity, id)
        try:
            response = await self.tables.writing(
                place.table, lambda: place.table.create_entity(row)
            )
        except ResourceExistsError:
            raise KeyAlreadyExistsError(
                f"{self.what} {id!r} already exists in {place.where}"
            ) from None
        return await self._written(place, entity, json, response)

    async def upsert(self, place: Place, entity: EntityT, id: str) -> EntityT:
        json, row = self._row(place, entity, id)
        response = await self.tables.writing(
            place.table, lambda: place.table.upsert_entity(row, mode=UpdateMode.REPLACE)
        )
        return await self._written(place, entity, json, response)

    async def update(self, place: Place, entity: EntityT, id: str, etag: str | None) -> EntityT:
        json, row = self._row(place, entity, id)
        condition = _IF_MATCH if etag is not None else MatchConditions.Unconditionally
        try:
            response = await place.table.update_entity(
                row, mode=UpdateMode.REPLACE, etag=etag, match_condition=condition
            )
        except ResourceNotFoundError:
            raise NotFoundError(f"no {self.what} {id!r} in {place.where}") from None
        except ResourceModifiedError:
            stored = await self._stored_etag(place)
            raise conflict(place.where, self.what, id, etag, stored) from None
        return await self._written(place, entity, json, response)

    async def delete(self, place: Place, id: str, etag: str | None) -> None:
        if etag is None:
            await place.table.delete_entity(place.partition, place.row)  # missing: a no-op
            return
        # A transaction of one, because it says "missing" where delete_entity says nothing.
        try:
            await place.table.submit_transaction(
                [("delete", place.keys, {"etag": etag, "match_condition": _IF_MATCH})]
            )
        except HttpResponseError as error:
            if error.status_code not in (404, 412):
                raise
            stored = await self._stored_etag(place)
            if stored is not None:  # there, at another version; missing is a no-op
                raise conflict(place.where, self.what, id, etag, stored) from None

    def _row(self, place: Place, entity: EntityT, id: str) -> tuple[str, dict[str, Any]]:
        json = entity.model_dump_json()
        return json, {**place.keys, **place.names, **pack(json, f"{self.what} {id!r}")}

    async def _written(
        self, place: Place, entity: EntityT, json: str, response: Mapping[str, Any]
    ) -> EntityT:
        keys = (place.partition, place.row)
        etag, last_modified = await self.tables.version_after(place.table, keys, response)
        return self.codec.written(entity, Record(place.row, json, etag, last_modified))

    async def _stored_etag(self, place: Place) -> str | None:
        try:
            row = await place.table.get_entity(place.partition, place.row, select=["RowKey"])
        except ResourceNotFoundError:
            return None
        return str(row.metadata["etag"])


def _hashed(names: dict[str, str]) -> dict[str, str]:
    """The names whose keys had to be hashed, to keep in the row for people and tools."""
    return {prop: name for prop, name in names.items() if table_key(name) != escape(name)}


class AzureCollectionStore(TableBacked, CollectionStore[EntityT]):
    """A :class:`~beehive.stores.CollectionStore` in an Azure table named after the collection.

    ``table_prefix`` (a letter then up to 19 letters or digits) sets several applications'
    tables apart in one account. Without ``credential``, ``DefaultAzureCredential`` (a managed
    identity in production), closed with the store.
    """

    def __init__(
        self,
        account_url: str,
        entity_type: type[EntityT],
        *,
        credential: Credential | None = None,
        name: str | None = None,
        table_prefix: str = "",
    ) -> None:
        CollectionStore.__init__(self, entity_type, name=name)
        self._connect(table_service(account_url, credential), table_prefix)

    @classmethod
    def from_connection_string(
        cls,
        connection_string: str,
        entity_type: type[EntityT],
        *,
        name: str | None = None,
        table_prefix: str = "",
    ) -> Self:
        """A store in the account a connection string names (Azurite's included)."""
        store = cls.__new__(cls)
        CollectionStore.__init__(store, entity_type, name=name)
        store._connect(table_service_from(connection_string), table_prefix)
        return store

    def _connect(self, connect: Connect, table_prefix: str) -> None:
        self._attach(connect, table_prefix)
        self._records = Records(self._tables, self._codec)
        self._table = self._tables.client(self.name)

    def _place(self, id: str) -> Place:
        partition = hashlib.sha256(id.encode()).hexdigest()[:2]
        where = f"collection {self.name!r}"
        return Place(self._table, partition, table_key(id), where, _hashed({"Id": id}))

    async def _get(self, id: str) -> EntityT:
        return await self._records.get(self._place(id), id)

    async def _exists(self, id: str) -> bool:
        return await self._records.exists(self._place(id))

    async def _insert(self, entity: EntityT) -> EntityT:
        id = self._codec.id_of(entity)
        return await self._records.insert(self._place(id), entity, id)

    async def _upsert(self, entity: EntityT) -> EntityT:
        id = self._codec.id_of(entity)
        return await self._records.upsert(self._place(id), entity, id)

    async def _update(self, entity: EntityT, etag: str | None) -> EntityT:
        id = self._codec.id_of(entity)
        return await self._records.update(self._place(id), entity, id, etag)

    async def _delete(self, id: str, etag: str | None) -> None:
        await self._records.delete(self._place(id), id, etag)

    async def _list(self) -> AsyncIterator[EntityT]:
        async for row in self._tables.rows(self._table):
            yield self._records.load(row)


class AzureKeyedListStore(TableBacked, KeyedListStore[EntityT]):
    """A :class:`~beehive.stores.KeyedListStore`: a table per list, a partition per key.

    A list exists from its first ``add`` (its table is created then) until its table is deleted.
    ``table_prefix`` and ``credential`` as for :class:`AzureCollectionStore`.
    """

    def __init__(
        self,
        account_url: str,
        item_type: type[EntityT],
        *,
        credential: Credential | None = None,
        table_prefix: str = "",
    ) -> None:
        KeyedListStore.__init__(self, item_type)
        self._connect(table_service(account_url, credential), table_prefix)

    @classmethod
    def from_connection_string(
        cls, connection_string: str, item_type: type[EntityT], *, table_prefix: str = ""
    ) -> Self:
        """A store in the account a connection string names (Azurite's included)."""
        store = cls.__new__(cls)
        KeyedListStore.__init__(store, item_type)
        store._connect(table_service_from(connection_string), table_prefix)
        return store

    def _connect(self, connect: Connect, table_prefix: str) -> None:
        self._attach(connect, table_prefix)
        self._records = Records(self._tables, self._codec)

    def _place(self, list_name: str, key: str, item_id: str) -> Place:
        where = f"list {list_name!r} under key {key!r}"
        names = _hashed({"Key": key, "Id": item_id})
        return Place(
            self._tables.client(list_name), table_key(key), table_key(item_id), where, names
        )

    def _partition(self, list_name: str, key: str) -> tuple[TableClient, str, dict[str, Any]]:
        partition = table_key(key)
        return self._tables.client(list_name), "PartitionKey eq @key", {"key": partition}

    async def _add(self, list_name: str, key: str, item: EntityT) -> EntityT:
        id = self._codec.id_of(item)
        return await self._records.insert(self._place(list_name, key, id), item, id)

    async def _items(self, list_name: str, key: str) -> AsyncIterator[EntityT]:
        async for row in self._tables.rows(*self._partition(list_name, key)):
            yield self._records.load(row)

    async def _get_item(self, list_name: str, key: str, item_id: str) -> EntityT:
        return await self._records.get(self._place(list_name, key, item_id), item_id)

    async def _update(self, list_name: str, key: str, item: EntityT, etag: str | None) -> EntityT:
        id = self._codec.id_of(item)
        return await self._records.update(self._place(list_name, key, id), item, id, etag)

    async def _remove(self, list_name: str, key: str) -> None:
        table, query, parameters = self._partition(list_name, key)
        doomed: builtins.list[str] = []
        async for row in self._tables.rows(table, query, parameters, select=["RowKey"]):
            doomed.append(str(row["RowKey"]))
            if len(doomed) == BATCH:
                await self._delete_rows(table, parameters["key"], doomed)
                doomed = []
        if doomed:
            await self._delete_rows(table, parameters["key"], doomed)

    async def _delete_rows(self, table: TableClient, partition: str, rows: list[str]) -> None:
        try:
            await table.submit_transaction(
                [("delete", {"PartitionKey": partition, "RowKey": row}) for row in rows]
            )
        except HttpResponseError as error:
            if error.status_code != 404:
                raise
            # One was removed meanwhile, which fails the whole batch: remove the rest one by one.
            for row in rows:
                await table.delete_entity(partition, row)

    async def _remove_item(self, list_name: str, key: str, item_id: str, etag: str | None) -> None:
        await self._records.delete(self._place(list_name, key, item_id), item_id, etag)

    async def _exists(self, list_name: str, key: str) -> bool:
        rows = self._tables.rows(*self._partition(list_name, key), select=["RowKey"], per_page=1)
        async with aclosing(rows):
            async for _ in rows:
                return True
        return False

    async def _item_exists(self, list_name: str, key: str, item_id: str) -> bool:
        return await self._records.exists(self._place(list_name, key, item_id))

    async def _list_exists(self, list_name: str) -> bool:
        return await self._tables.exists(self._tables.client(list_name))
