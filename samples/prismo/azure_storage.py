"""Prismo's stores in an Azure storage account, configured from the environment.

=====================================  ==========================================================
variable                               meaning
=====================================  ==========================================================
``BEEHIVE_STORAGE_CONNECTION_STRING``  the account's connection string (Azurite's too); wins
``BEEHIVE_STORAGE_TABLE_ENDPOINT``     ``https://<account>.table.core.windows.net``, reached with
                                       ``DefaultAzureCredential`` (``AZURE_CLIENT_ID``: the
                                       user-assigned managed identity to use)
``BEEHIVE_STORAGE_TABLE_PREFIX``       starts the name of every Prismo table (default
                                       ``prismo``): shops sharing an account stay apart
=====================================  ==========================================================

Only Table storage is used: Prismo needs collections, a keyed list and counters, no blobs.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypeVar

from pydantic import BaseModel

if TYPE_CHECKING:
    from azure.core.credentials_async import AsyncTokenCredential

from beehive.stores import CollectionStore, KeyedListStore
from samples.prismo.brokers import BackendUnavailable
from samples.prismo.entities import OrderWaitingForProduct
from samples.prismo.stores import Stores

STORAGE_CONNECTION_STRING = "BEEHIVE_STORAGE_CONNECTION_STRING"
STORAGE_TABLE_ENDPOINT = "BEEHIVE_STORAGE_TABLE_ENDPOINT"
STORAGE_TABLE_PREFIX = "BEEHIVE_STORAGE_TABLE_PREFIX"
DEFAULT_TABLE_PREFIX = "prismo"
_MAX_PREFIX = 20
_RUN_ID_LENGTH = 8

EntityT = TypeVar("EntityT", bound=BaseModel)


async def _nothing() -> None:
    return None


@dataclass(frozen=True, slots=True)
class OpenStores:
    """Stores, and how to throw away what a run wrote to them."""

    stores: Stores
    discard: Callable[[], Awaitable[None]] = _nothing


@dataclass(frozen=True, slots=True)
class AzureAccount:
    """The storage account the environment names, and the prefix of Prismo's tables in it."""

    connection_string: str | None = field(default=None, repr=False)
    table_endpoint: str | None = None
    table_prefix: str = DEFAULT_TABLE_PREFIX
    credential: AsyncTokenCredential | None = field(default=None, repr=False)
    """For the endpoint: one token credential shared by every store (closed by ``close``)."""

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> AzureAccount:
        try:
            import beehive.stores.azure  # noqa: F401 - only to say which extra is missing
        except ImportError:
            raise BackendUnavailable(
                "the azure stores need: pip install 'beehive-actors[azure]'"
            ) from None
        connection_string = environ.get(STORAGE_CONNECTION_STRING) or None
        endpoint = environ.get(STORAGE_TABLE_ENDPOINT) or None
        if connection_string is None and endpoint is None:
            raise BackendUnavailable(
                f"the azure stores need {STORAGE_CONNECTION_STRING} or "
                f"{STORAGE_TABLE_ENDPOINT} (with a managed identity or an az login)"
            )
        prefix = environ.get(STORAGE_TABLE_PREFIX) or DEFAULT_TABLE_PREFIX
        if not (prefix.isascii() and prefix.isalnum() and prefix[0].isalpha()):
            raise BackendUnavailable(
                f"{STORAGE_TABLE_PREFIX}={prefix!r}: use a letter then letters or digits"
            )
        if len(prefix) > _MAX_PREFIX:
            raise BackendUnavailable(
                f"{STORAGE_TABLE_PREFIX}={prefix!r}: {_MAX_PREFIX} characters at most"
            )
        if connection_string is not None:  # given both, the connection string wins
            return cls(connection_string, None, prefix)
        from azure.identity.aio import DefaultAzureCredential

        # Reads AZURE_CLIENT_ID itself: the user-assigned identity a Container App runs as.
        return cls(None, endpoint, prefix, DefaultAzureCredential())

    async def close(self) -> None:
        """Close the shared credential (each store closes its own client)."""
        if self.credential is not None:
            await self.credential.close()

    def collection(
        self,
        entity_type: type[EntityT],
        *,
        name: str | None = None,
        table_prefix: str | None = None,
    ) -> CollectionStore[EntityT]:
        """A collection in this account (nothing connects before the first operation)."""
        from beehive.stores.azure import AzureCollectionStore

        prefix = self.table_prefix if table_prefix is None else table_prefix
        if self.connection_string is not None:
            return AzureCollectionStore.from_connection_string(
                self.connection_string, entity_type, name=name, table_prefix=prefix
            )
        return AzureCollectionStore(
            str(self.table_endpoint),
            entity_type,
            name=name,
            table_prefix=prefix,
            credential=self.credential,
        )

    def stores(self, table_prefix: str | None = None) -> Stores:
        """Prismo's stores in this account, in tables named after ``table_prefix``."""
        from beehive.stores.azure import AzureCounterStore, AzureKeyedListStore

        prefix = self.table_prefix if table_prefix is None else table_prefix
        queued: KeyedListStore[OrderWaitingForProduct]
        if self.connection_string is not None:
            queued = AzureKeyedListStore.from_connection_string(
                self.connection_string, OrderWaitingForProduct, table_prefix=prefix
            )
            counters = AzureCounterStore.from_connection_string(
                self.connection_string, table_prefix=prefix
            )
        else:
            endpoint = str(self.table_endpoint)
            queued = AzureKeyedListStore(
                endpoint, OrderWaitingForProduct, table_prefix=prefix, credential=self.credential
            )
            counters = AzureCounterStore(endpoint, table_prefix=prefix, credential=self.credential)

        def collection(entity_type: type[EntityT]) -> CollectionStore[EntityT]:
            return self.collection(entity_type, table_prefix=prefix)

        return Stores.build(collection, queued, counters)

    def for_one_run(self) -> OpenStores:
        """Stores in tables of their own (the prefix, then a run id), deleted by ``discard``."""
        run_id = uuid.uuid4().hex[:_RUN_ID_LENGTH]
        prefix = self.table_prefix[: _MAX_PREFIX - _RUN_ID_LENGTH] + run_id

        async def discard() -> None:
            try:
                await self.delete_tables(prefix)
            finally:
                await self.close()

        return OpenStores(self.stores(prefix), discard)

    async def delete_tables(self, prefix: str) -> int:
        """Delete every table whose name starts with ``prefix``; returns how many."""
        from azure.data.tables.aio import TableServiceClient

        if self.connection_string is not None:
            service = TableServiceClient.from_connection_string(self.connection_string)
        else:
            service = TableServiceClient(str(self.table_endpoint), credential=self.credential)
        deleted = 0
        async with service:
            query = "TableName ge @low and TableName lt @high"
            bounds = {"low": prefix, "high": prefix + "~"}
            async for table in service.query_tables(query, parameters=bounds):
                await service.delete_table(table.name)
                deleted += 1
        return deleted
