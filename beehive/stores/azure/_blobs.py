"""The key-value store on Azure Blob storage, and the container plumbing locks share.

A key is a block blob in the store's container, named by :func:`~beehive.stores._names.blob_name`
(the key, escaped so that it stays one flat name: ``invoices/o-1.json`` is stored as
``invoices%2Fo-1%2Ejson``), so prefix listing is a native prefix query. The content type and
metadata are the blob's own; the etag and last modification time are Azure's. Conditions map to
``If-Match`` and ``If-None-Match``. Reads stream the blob in ranges of at most 4 MiB, cut into
the caller's chunks, and writes larger than 1 MiB go in blocks of 1 MiB committed at the end
(where the conditions apply), so memory stays bounded whatever the blob's size.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import AsyncIterable, AsyncIterator, Callable
from typing import Any, Final, Self
from urllib.parse import urlsplit

from beehive.errors import NotFoundError
from beehive.stores.azure._common import (
    AsyncTokenCredential,
    AzureStore,
    Credential,
    MatchConditions,
    conflict,
    from_connection_string,
    owned_credential,
)

try:
    from azure.core.exceptions import (
        ResourceExistsError,
        ResourceModifiedError,
        ResourceNotFoundError,
    )
    from azure.storage.blob import ContentSettings
    from azure.storage.blob.aio import BlobClient, BlobServiceClient, ContainerClient
except ImportError as error:  # pragma: no cover - depends on the installed extras
    raise ImportError(
        "beehive.stores.azure needs the Azure SDK: pip install 'beehive-actors[azure]'"
    ) from error

from beehive.stores._names import blob_name, unescape
from beehive.stores.base import DEFAULT_CONTENT_TYPE, Blob, KeyValueStore

__all__ = ["AzureKeyValueStore", "BlobBacked", "blob_service", "blob_service_from"]

RANGE_SIZE: Final = 4 * 1024 * 1024  # the most one download request brings into memory
# Uploads go in one request up to 1 MiB, in blocks of 1 MiB beyond: aiohttp warns that a larger
# body sent at once may stall the event loop.
BLOCK_SIZE: Final = 1024 * 1024
_OPTIONS: Final[dict[str, Any]] = {
    "max_single_get_size": RANGE_SIZE,
    "max_chunk_get_size": RANGE_SIZE,
    "max_single_put_size": BLOCK_SIZE,
    "max_block_size": BLOCK_SIZE,
}
_CONTAINER: Final = re.compile("(?!.*--)[a-z0-9][a-z0-9-]{1,61}[a-z0-9]")


def check_container(name: str) -> str:
    if not isinstance(name, str) or not _CONTAINER.fullmatch(name):
        raise ValueError(
            f"container name {name!r}: use 3 to 63 lower-case letters, digits and single "
            "hyphens, starting and ending with a letter or digit (Azure's rule)"
        )
    return name


Connect = Callable[[], tuple[BlobServiceClient, AsyncTokenCredential | None]]
"""Makes a store's service client, and gives the credential the store made (to close), if any."""


def blob_service(account_url: str, credential: Credential | None) -> Connect:
    def connect() -> tuple[BlobServiceClient, AsyncTokenCredential | None]:
        used, owned = owned_credential(account_url, credential)
        return BlobServiceClient(account_url, credential=used, **_OPTIONS), owned

    return connect


def blob_service_from(connection_string: str) -> Connect:
    def connect() -> tuple[BlobServiceClient, None]:
        build = BlobServiceClient.from_connection_string
        return from_connection_string(build, connection_string, "Blob storage", **_OPTIONS), None

    return connect


class BlobBacked(AzureStore):
    """A store over one blob container, created on the first write."""

    _container: ContainerClient
    _container_ready: bool
    _where: str  # for messages

    def _attach(self, connect: Connect, container: str) -> None:
        """Connect, once the arguments are known to be right (so that nothing is left open)."""
        check_container(container)
        service, credential = connect()
        self._container = service.get_container_client(container)
        self._container_ready = False
        self._where = f"container {container!r}"
        address = urlsplit(service.url)  # without a query: a SAS token would be one
        where = f"account_url={address.scheme}://{address.netloc}{address.path}"
        self._own(f"{where}, container={container!r}", service, credential)

    async def _prepare(self) -> None:
        """Create the container if this store has not seen it yet."""
        if not self._container_ready:
            with contextlib.suppress(ResourceExistsError):
                await self._container.create_container()
            self._container_ready = True

    def _blob(self, name: str) -> BlobClient:
        return self._container.get_blob_client(blob_name(name))


class AzureKeyValueStore(BlobBacked, KeyValueStore):
    """A :class:`~beehive.stores.KeyValueStore` in one Azure blob container.

    Without ``credential``, ``DefaultAzureCredential`` (a managed identity in production),
    closed with the store.
    """

    def __init__(
        self,
        account_url: str,
        *,
        credential: Credential | None = None,
        container: str = "beehive",
    ) -> None:
        self._attach(blob_service(account_url, credential), container)

    @classmethod
    def from_connection_string(cls, connection_string: str, *, container: str = "beehive") -> Self:
        """A store in the account a connection string names (Azurite's included)."""
        store = cls.__new__(cls)
        store._attach(blob_service_from(connection_string), container)
        return store

    async def _get(self, key: str) -> Blob:
        try:
            download = await self._blob(key).download_blob()
        except ResourceNotFoundError:
            raise NotFoundError(f"no blob {key!r} in {self._where}") from None
        body = await download.readall()
        properties = download.properties
        return Blob(
            key,
            body,
            properties.content_settings.content_type or DEFAULT_CONTENT_TYPE,
            dict(properties.metadata or {}),
            str(properties.etag),
            properties.last_modified,
        )

    async def _stream(self, key: str, chunk_size: int) -> AsyncIterator[bytes]:
        try:
            download = await self._blob(key).download_blob()
        except ResourceNotFoundError:
            raise NotFoundError(f"no blob {key!r} in {self._where}") from None
        pending = bytearray()
        async for piece in download.chunks():  # later ranges are read at the first one's etag
            pending += piece
            while len(pending) >= chunk_size:
                yield bytes(pending[:chunk_size])
                del pending[:chunk_size]
        if pending:
            yield bytes(pending)

    async def _put(
        self,
        key: str,
        body: bytes | AsyncIterable[bytes],
        content_type: str,
        metadata: dict[str, str],
        if_match: str | None,
        if_none_match: str | None,
    ) -> str:
        blob = self._blob(key)
        if if_match is not None and if_none_match in ("*", if_match):
            raise conflict(self._where, "blob", key, if_match, await self._etag(blob))
        if if_match is not None:  # then If-None-Match adds nothing
            condition: dict[str, Any] = {
                "etag": if_match,
                "match_condition": MatchConditions.IfNotModified,
            }
        elif if_none_match == "*":
            condition = {"match_condition": MatchConditions.IfMissing}
        elif if_none_match is not None:
            condition = {"etag": if_none_match, "match_condition": MatchConditions.IfModified}
        else:
            condition = {}
        await self._prepare()
        try:
            written = await blob.upload_blob(
                body if isinstance(body, bytes) else _checked(body),
                overwrite=True,
                content_settings=ContentSettings(content_type=content_type),
                metadata=metadata,
                **condition,
            )
        except (ResourceModifiedError, ResourceExistsError):
            raise conflict(self._where, "blob", key, if_match, await self._etag(blob)) from None
        return str(written["etag"])

    async def _delete(self, key: str, if_match: str | None) -> None:
        blob = self._blob(key)
        if if_match is None:
            with contextlib.suppress(ResourceNotFoundError):
                await blob.delete_blob()
            return
        try:
            await blob.delete_blob(etag=if_match, match_condition=MatchConditions.IfNotModified)
        except (ResourceModifiedError, ResourceNotFoundError):
            stored = await self._etag(blob)
            if stored is not None:  # there, at another version; missing is a no-op
                raise conflict(self._where, "blob", key, if_match, stored) from None

    async def _exists(self, key: str) -> bool:
        return bool(await self._blob(key).exists())

    async def _keys(self, prefix: str) -> AsyncIterator[str]:
        names = self._container.list_blob_names(name_starts_with=blob_name(prefix) or None)
        try:
            async for name in names:
                yield unescape(name)
        except ResourceNotFoundError:  # no container: nothing was ever put
            return

    async def _etag(self, blob: BlobClient) -> str | None:
        try:
            properties = await blob.get_blob_properties()
        except ResourceNotFoundError:
            return None
        return str(properties.etag)


async def _checked(chunks: AsyncIterable[bytes]) -> AsyncIterator[bytes]:
    async for chunk in chunks:
        if not isinstance(chunk, bytes | bytearray | memoryview):
            raise TypeError(f"a body chunk must be bytes, not {type(chunk).__name__}")
        yield bytes(chunk)
