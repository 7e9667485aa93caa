"""Table storage plumbing shared by the collection, keyed-list and counter stores.

Tables are created on the first write that needs them (a store never needs the right to list or
create tables up front); a read of a missing table finds nothing. An entity's JSON is one string
property, ``Json``, when it fits (32,768 UTF-16 code units); a larger one is split into binary
properties of 64 KiB, ``JsonPart00`` to ``JsonPart10``, so up to 704 KiB of UTF-8 fit in one
entity; beyond that a write is refused with a ``ValueError``. (Azure's limit is 1 MiB per entity,
but binary travels as base64, and a request body over 1 MiB would stall the event loop while
aiohttp sends it.)
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import AsyncGenerator, Awaitable, Callable, Mapping
from datetime import UTC, datetime
from typing import Any, Final, TypeVar
from urllib.parse import unquote, urlsplit

from beehive.errors import ValueTooLargeError
from beehive.stores.azure._common import (
    AsyncTokenCredential,
    AzureStore,
    Credential,
    HttpResponseError,
    error_code,
    from_connection_string,
    owned_credential,
)

try:
    from azure.core.exceptions import ResourceExistsError, ResourceNotFoundError
    from azure.data.tables import TableEntity
    from azure.data.tables.aio import TableClient, TableServiceClient
except ImportError as error:  # pragma: no cover - depends on the installed extras
    raise ImportError(
        "beehive.stores.azure needs the Azure SDK: pip install 'beehive-actors[azure]'"
    ) from error

from beehive.stores._names import check_table_prefix, table_name

__all__ = ["TableBacked", "Tables", "pack", "table_service", "table_service_from", "unpack"]

T = TypeVar("T")

JSON: Final = "Json"
PART: Final = "JsonPart{:02}"
MAX_STRING_UNITS: Final = 32 * 1024  # a string property holds 64 KiB of UTF-16
PART_SIZE: Final = 64 * 1024  # a binary property holds 64 KiB
MAX_PARTS: Final = 11
MAX_JSON_BYTES: Final = MAX_PARTS * PART_SIZE
# The Table service's etag carries the entity's Timestamp (the SDK builds it the same way).
_ETAG_TIME: Final = re.compile("W/\"datetime'([^']+)'\"")
_CACHED_CLIENTS: Final = 256


def pack(json: str, what: str) -> dict[str, Any]:
    """The properties that hold ``json``; ``ValueTooLargeError`` if it does not fit one entity."""
    if len(json) <= MAX_STRING_UNITS // 2 or len(json.encode("utf-16-le")) <= 2 * MAX_STRING_UNITS:
        return {JSON: json}
    data = json.encode()
    if len(data) > MAX_JSON_BYTES:
        raise ValueTooLargeError(
            f"{what} is {len(data):,} bytes as JSON; Azure Table storage holds at most "
            f"{MAX_JSON_BYTES:,} (704 KiB) per entity: keep large values in a KeyValueStore "
            "and store their key instead"
        )
    return {
        PART.format(number): data[start : start + PART_SIZE]
        for number, start in enumerate(range(0, len(data), PART_SIZE))
    }


def unpack(row: Mapping[str, Any]) -> str:
    """The JSON that :func:`pack` stored in ``row``."""
    if JSON in row:
        return str(row[JSON])
    parts: list[bytes] = []
    while (part := row.get(PART.format(len(parts)))) is not None:
        parts.append(bytes(part))
    return b"".join(parts).decode()


def modified_at(etag: str) -> datetime | None:
    """The Timestamp an entity's etag carries, to the microsecond (None if it has none)."""
    match = _ETAG_TIME.fullmatch(etag)
    if match is None:
        return None
    text = unquote(match.group(1)).removesuffix("Z")
    whole, _, fraction = text.partition(".")
    try:
        stamp = datetime.fromisoformat(whole).replace(tzinfo=UTC)
        return stamp.replace(microsecond=int(fraction[:6].ljust(6, "0"))) if fraction else stamp
    except ValueError:
        return None


def version_of(row: TableEntity) -> tuple[str, datetime]:
    """A stored row's etag and last modification time."""
    etag = str(row.metadata["etag"])
    when = modified_at(etag)
    if when is not None:
        return etag, when
    stamp = row.metadata["timestamp"]  # the SDK's datetime subclass: copied below
    if stamp is None:
        raise ValueError(f"the Table service sent a row without a Timestamp (etag {etag})")
    return etag, datetime(*stamp.timetuple()[:6], stamp.microsecond, tzinfo=UTC)


def is_missing_table(error: HttpResponseError) -> bool:
    return error.status_code == 404 and error_code(error) == "TableNotFound"


class Tables:
    """The tables of one store: named after collections, lists or counters, with a prefix."""

    def __init__(self, service: TableServiceClient, prefix: str) -> None:
        self.service = service
        self.prefix = prefix
        self._clients: dict[str, TableClient] = {}

    def client(self, name: str) -> TableClient:
        """The client of the table that holds ``name`` (which need not exist yet)."""
        client = self._clients.get(name)
        if client is None:
            if len(self._clients) >= _CACHED_CLIENTS:
                self._clients.clear()
            # Clients from the service share its connections: closing the service closes them.
            client = self._clients[name] = self.service.get_table_client(
                table_name(name, self.prefix)
            )
        return client

    async def create(self, table: TableClient) -> None:
        with contextlib.suppress(ResourceExistsError):  # created meanwhile by another writer
            await self.service.create_table(table.table_name)

    async def writing(self, table: TableClient, write: Callable[[], Awaitable[T]]) -> T:
        """``write()``, creating the table first if it turns out to be missing."""
        try:
            return await write()
        except ResourceNotFoundError as error:
            if not is_missing_table(error):
                raise
        await self.create(table)
        return await write()

    async def rows(
        self,
        table: TableClient,
        query: str | None = None,
        parameters: dict[str, Any] | None = None,
        *,
        select: list[str] | None = None,
        per_page: int | None = None,
    ) -> AsyncGenerator[TableEntity, None]:
        """The rows a query finds, page by page (none in a missing table)."""
        if query is None:
            pages = table.list_entities(select=select, results_per_page=per_page)
        else:
            pages = table.query_entities(
                query, parameters=parameters, select=select, results_per_page=per_page
            )
        try:
            async for row in pages:
                yield row
        except ResourceNotFoundError as error:
            if not is_missing_table(error):
                raise

    async def exists(self, table: TableClient) -> bool:
        """Whether the table exists (empty or not), asked without the right to list tables."""
        try:
            async for _ in table.list_entities(select=["PartitionKey"], results_per_page=1):
                break
        except ResourceNotFoundError as error:
            if is_missing_table(error):
                return False
            raise
        return True

    async def version_after(
        self, table: TableClient, keys: tuple[str, str], response: Mapping[str, Any]
    ) -> tuple[str, datetime]:
        """The version a write left, from its response (or read back, should its etag change)."""
        etag = str(response["etag"])
        when = modified_at(etag)
        if when is not None:
            return etag, when
        return version_of(await table.get_entity(*keys))


Connect = Callable[[], tuple[TableServiceClient, AsyncTokenCredential | None]]
"""Makes a store's service client, and gives the credential the store made (to close), if any."""


def table_service(account_url: str, credential: Credential | None) -> Connect:
    def connect() -> tuple[TableServiceClient, AsyncTokenCredential | None]:
        used, owned = owned_credential(account_url, credential)
        return TableServiceClient(account_url, credential=used), owned

    return connect


def table_service_from(connection_string: str) -> Connect:
    def connect() -> tuple[TableServiceClient, None]:
        build = TableServiceClient.from_connection_string
        return from_connection_string(build, connection_string, "Table storage"), None

    return connect


class TableBacked(AzureStore):
    """A store over :class:`Tables`."""

    _tables: Tables

    def _attach(self, connect: Connect, prefix: str) -> None:
        """Connect, once the arguments are known to be right (so that nothing is left open)."""
        prefix = check_table_prefix(prefix)
        service, credential = connect()
        self._tables = Tables(service, prefix)
        address = urlsplit(service.url)  # without a query: a SAS token would be one
        where = f"account_url={address.scheme}://{address.netloc}{address.path}"
        self._own(where + (f", table_prefix={prefix!r}" if prefix else ""), service, credential)
