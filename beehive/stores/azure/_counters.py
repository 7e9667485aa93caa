"""Counters on Azure Table storage, by optimistic concurrency.

A counter name is a table; each id is a partition of one row holding ``Value`` (a signed 64-bit
integer). An increment reads the row, then replaces it only if its ETag is unchanged
(``If-Match``); when another writer got there first (412), or created the row first (409), it
reads again and retries, with a little random backoff. So concurrent increments from any number
of processes end exactly at their sum. Within one store, increments of the same counter queue
up behind each other and reuse the version the last one wrote, so they do not contend with
themselves: one request each instead of a read and a write, and no retries.
"""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass, field
from typing import Any, Final, Self

from beehive.errors import ConcurrencyConflictError, CounterUnderflowError
from beehive.stores.azure._common import Credential, MatchConditions
from beehive.stores.azure._tables import TableBacked, table_service, table_service_from

try:
    from azure.core.exceptions import (
        ResourceExistsError,
        ResourceModifiedError,
        ResourceNotFoundError,
    )
    from azure.data.tables import EdmType, EntityProperty, UpdateMode
    from azure.data.tables.aio import TableClient
except ImportError as error:  # pragma: no cover - depends on the installed extras
    raise ImportError(
        "beehive.stores.azure needs the Azure SDK: pip install 'beehive-actors[azure]'"
    ) from error

from beehive.stores._names import escape, table_key
from beehive.stores.base import CounterStore

__all__ = ["AzureCounterStore"]

ROW: Final = "counter"
INT64: Final = range(-(2**63), 2**63)
MAX_ATTEMPTS: Final = 200
# Lost races back off for a random time up to this many seconds per attempt so far (capped).
BACKOFF_STEP: Final = 0.004
BACKOFF_CAP: Final = 0.1
_IF_MATCH: Final = MatchConditions.IfNotModified


@dataclass(slots=True)
class _Slot:
    """The increments of one counter in this store: they take turns."""

    turn: asyncio.Lock = field(default_factory=asyncio.Lock)
    users: int = 0
    known: tuple[int, str | None] | None = None  # the value and etag last seen, while busy


class AzureCounterStore(TableBacked, CounterStore):
    """A :class:`~beehive.stores.CounterStore` in Azure tables, one per counter name.

    ``table_prefix`` and ``credential`` as for
    :class:`~beehive.stores.azure.AzureCollectionStore`. Values are signed 64-bit integers; an
    increment that would leave that range raises ``OverflowError`` and changes nothing.
    """

    def __init__(
        self, account_url: str, *, credential: Credential | None = None, table_prefix: str = ""
    ) -> None:
        self._attach(table_service(account_url, credential), table_prefix)
        self._slots: dict[tuple[str, str], _Slot] = {}

    @classmethod
    def from_connection_string(cls, connection_string: str, *, table_prefix: str = "") -> Self:
        """A store in the account a connection string names (Azurite's included)."""
        store = cls.__new__(cls)
        store._attach(table_service_from(connection_string), table_prefix)
        store._slots = {}
        return store

    async def _get(self, counter_name: str, id: str) -> int:
        value, _ = await self._read(self._tables.client(counter_name), table_key(id))
        return value

    async def _increment(self, counter_name: str, id: str, by: int, floor: int | None) -> int:
        slot = self._slots.setdefault((counter_name, id), _Slot())
        slot.users += 1
        try:
            async with slot.turn:
                return await self._add(counter_name, id, by, floor, slot)
        finally:
            slot.users -= 1
            if not slot.users:
                del self._slots[counter_name, id]

    async def _add(
        self, counter_name: str, id: str, by: int, floor: int | None, slot: _Slot
    ) -> int:
        table, partition = self._tables.client(counter_name), table_key(id)
        for attempt in range(MAX_ATTEMPTS):
            fresh = slot.known is None
            if slot.known is None:
                slot.known = await self._read(table, partition)
            value, etag = slot.known
            if floor is not None and value + by < floor:
                slot.known = None
                if fresh:
                    raise CounterUnderflowError(counter_name, id, value, by)
                continue  # what this store last saw may be stale: look again before refusing
            if value + by not in INT64:
                raise OverflowError(
                    f"counter {counter_name!r} of {id!r} is {value}; adding {by} would leave "
                    "the signed 64-bit range that Azure Table storage holds"
                )
            try:
                written = await self._write(table, partition, id, value + by, etag)
            except (ResourceExistsError, ResourceModifiedError, ResourceNotFoundError):
                slot.known = None  # another writer got there first: read again
                await asyncio.sleep(random.uniform(0, min(BACKOFF_CAP, BACKOFF_STEP * attempt)))
                continue
            slot.known = (value + by, written)
            return value + by
        raise ConcurrencyConflictError(
            f"counter {counter_name!r} of {id!r} stayed contended for {MAX_ATTEMPTS} attempts"
        )

    async def _read(self, table: TableClient, partition: str) -> tuple[int, str | None]:
        try:
            row = await table.get_entity(partition, ROW, select=["Value"])
        except ResourceNotFoundError:  # never incremented (or the table is not there yet)
            return 0, None
        value: Any = row["Value"]
        return int(getattr(value, "value", value)), str(row.metadata["etag"])

    async def _write(
        self, table: TableClient, partition: str, id: str, value: int, etag: str | None
    ) -> str:
        """Store ``value`` over version ``etag`` (or as a new row); its new etag."""
        row: dict[str, Any] = {
            "PartitionKey": partition,
            "RowKey": ROW,
            "Value": EntityProperty(value, EdmType.INT64),
        }
        if partition != escape(id):
            row["Id"] = id  # the key is a hash: keep the id for people and tools
        if etag is None:
            response = await self._tables.writing(table, lambda: table.create_entity(row))
        else:
            response = await table.update_entity(
                row,
                mode=UpdateMode.REPLACE,
                etag=etag,
                match_condition=MatchConditions.IfNotModified,
            )
        return str(response["etag"])
