"""The key-value store on Amazon S3 (BeeHive.Aws's key-value store).

A key is an object ``prefix + blob_name(key)`` in the bucket: the key escaped as for Azure
blobs (``/``, ``.``, ``%``, ``\\``, ``#``, ``?`` and control characters as ``%XX``), so that it
stays one flat name that S3, its consoles and its URL paths all take as it is, and prefix
listing stays a native prefix query. S3 lower-cases metadata names, so the caller's metadata
travels whole, as one JSON object in the ``x-amz-meta-beehive`` header.

The etag is S3's: for a single-part upload the MD5 of the body, so two writes of the same
bytes have the same etag (an ``if_match`` writer checks that the body is still the one it
read). ``if_match`` and ``if_none_match="*"`` are S3's own conditional writes (``If-Match``,
``If-None-Match``, on ``PutObject``, ``CompleteMultipartUpload`` and ``DeleteObject``);
``if_none_match=etag``, which S3 lacks, becomes an ``If-Match`` on the version read just before
(or ``If-None-Match: *`` when there is none), so it is as atomic. Reads stream the body;
writes from chunks go up in parts of ``PART_SIZE`` (a multipart upload) once they grow past
one part, so memory stays bounded whatever the size.

The bucket must exist: the store never creates one, so it needs only ``s3:GetObject``,
``s3:PutObject``, ``s3:DeleteObject`` and ``s3:ListBucket`` on it.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterable, AsyncIterator, Mapping
from datetime import datetime
from types import TracebackType
from typing import TYPE_CHECKING, Any, Final, Self

from beehive.errors import ConcurrencyConflictError, NotFoundError
from beehive.stores._names import blob_name, unescape
from beehive.stores.base import DEFAULT_CONTENT_TYPE, Blob, KeyValueStore

try:
    from aiobotocore.config import AioConfig
    from aiobotocore.session import AioSession
    from botocore.exceptions import ClientError
except ImportError as error:  # pragma: no cover - depends on the installed extras
    raise ImportError(
        "beehive.stores.aws needs aiobotocore: pip install 'beehive-actors[aws]'"
    ) from error

if TYPE_CHECKING:
    from types_aiobotocore_s3 import S3Client
    from types_aiobotocore_s3.type_defs import CompletedPartTypeDef

__all__ = ["S3KeyValueStore"]

PART_SIZE: Final = 8 * 1024 * 1024
"""Bytes per part of a multipart upload (S3 takes 5 MiB at least, but for the last)."""
MAX_KEY_BYTES: Final = 1024
"""S3's limit on an object key, in UTF-8 bytes."""
METADATA: Final = "beehive"
"""The one user-metadata entry that holds the caller's metadata as JSON."""
_PRECONDITION: Final = frozenset({"PreconditionFailed", "ConditionalRequestConflict"})
_MISSING: Final = frozenset({"NoSuchKey", "404", "NotFound"})


class S3KeyValueStore(KeyValueStore):
    """A :class:`~beehive.stores.KeyValueStore` in one S3 bucket, under ``prefix``.

    Credentials, region and endpoint come from the standard AWS configuration (environment,
    shared files, instance or task roles, ``AWS_ENDPOINT_URL_S3``) unless given:
    ``endpoint_url`` (an S3-compatible service, or moto in tests), ``region_name``, ``session``
    (an ``aiobotocore`` session), ``config`` (an ``AioConfig``: retries, timeouts). Nothing
    connects until the first operation; close with ``await store.close()`` or ``async with``.
    """

    def __init__(
        self,
        bucket: str,
        *,
        prefix: str = "",
        endpoint_url: str | None = None,
        region_name: str | None = None,
        session: AioSession | None = None,
        config: AioConfig | None = None,
    ) -> None:
        if not isinstance(bucket, str) or not bucket:
            raise ValueError(f"bucket must be a non-empty str, got {bucket!r}")
        if not isinstance(prefix, str) or len(prefix.encode()) >= MAX_KEY_BYTES:
            raise ValueError(f"prefix must be a str shorter than {MAX_KEY_BYTES} bytes")
        self._bucket = bucket
        self._prefix = prefix
        self._where = f"S3 bucket {bucket!r}" + (f" under {prefix!r}" if prefix else "")
        self._options: dict[str, Any] = {
            "endpoint_url": endpoint_url,
            "region_name": region_name,
            "config": config,
        }
        self._session = session or AioSession()
        self._context: Any = None
        self._client: S3Client | None = None

    def __repr__(self) -> str:
        endpoint = self._options["endpoint_url"]
        shown = f", endpoint_url={endpoint!r}" if endpoint else ""
        return f"S3KeyValueStore({self._bucket!r}, prefix={self._prefix!r}{shown})"

    async def _s3(self) -> S3Client:
        if self._client is None:
            context = self._session.create_client("s3", **self._options)
            self._client = await context.__aenter__()
            self._context = context
        return self._client

    async def close(self) -> None:
        """Close the S3 client (its connections); the store may be used again after."""
        context, self._context, self._client = self._context, None, None
        if context is not None:
            await context.__aexit__(None, None, None)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    # -- names ----------------------------------------------------------------------------------

    def _object(self, key: str) -> str:
        name = self._prefix + blob_name(key)
        if len(name.encode()) > MAX_KEY_BYTES:
            raise ValueError(
                f"key {key!r} is {len(name.encode())} bytes as an S3 object key with prefix "
                f"{self._prefix!r}, and S3 takes {MAX_KEY_BYTES} at most: use a shorter prefix"
            )
        return name

    # -- reading --------------------------------------------------------------------------------

    async def _fetch(self, key: str) -> dict[str, Any]:
        s3 = await self._s3()
        try:
            found: dict[str, Any] = dict(
                await s3.get_object(Bucket=self._bucket, Key=self._object(key))
            )
        except ClientError as error:
            raise self._not_found(key, error) from None
        return found

    async def _get(self, key: str) -> Blob:
        found = await self._fetch(key)
        async with found["Body"] as body:
            data = await body.read()
        return _blob(key, data, found)

    async def _stream(self, key: str, chunk_size: int) -> AsyncIterator[bytes]:
        found = await self._fetch(key)
        async with found["Body"] as body:
            pending = bytearray()
            while piece := await body.read(chunk_size):
                pending += piece
                while len(pending) >= chunk_size:
                    yield bytes(pending[:chunk_size])
                    del pending[:chunk_size]
            if pending:
                yield bytes(pending)

    async def _exists(self, key: str) -> bool:
        return await self._etag(self._object(key)) is not None

    async def _keys(self, prefix: str) -> AsyncIterator[str]:
        s3 = await self._s3()
        pages = s3.get_paginator("list_objects_v2").paginate(
            Bucket=self._bucket, Prefix=self._prefix + blob_name(prefix)
        )
        try:
            async for page in pages:
                for item in page.get("Contents", []):
                    yield unescape(item["Key"][len(self._prefix) :])
        except ClientError as error:
            raise self._not_found(prefix, error) from None

    async def _etag(self, name: str) -> str | None:
        s3 = await self._s3()
        try:
            head = await s3.head_object(Bucket=self._bucket, Key=name)
        except ClientError as error:
            if _code(error) in _MISSING:
                return None
            raise
        return head["ETag"]

    # -- writing --------------------------------------------------------------------------------

    async def _put(
        self,
        key: str,
        body: bytes | AsyncIterable[bytes],
        content_type: str,
        metadata: dict[str, str],
        if_match: str | None,
        if_none_match: str | None,
    ) -> str:
        name = self._object(key)
        condition = await self._condition(key, name, if_match, if_none_match)
        headers: dict[str, Any] = {
            "Bucket": self._bucket,
            "Key": name,
            "ContentType": content_type,
            "Metadata": {METADATA: json.dumps(metadata, separators=(",", ":"))} if metadata else {},
        }
        try:
            if isinstance(body, bytes):
                s3 = await self._s3()
                return (await s3.put_object(Body=body, **headers, **condition))["ETag"]
            return await self._upload(_parts(body), headers, condition)
        except ClientError as error:
            if _code(error) in _PRECONDITION or _code(error) in _MISSING:
                expected = condition.get("IfMatch") or if_match
                raise self._conflict(key, expected, await self._etag(name)) from None
            raise self._not_found(key, error) from None

    async def _condition(
        self, key: str, name: str, if_match: str | None, if_none_match: str | None
    ) -> dict[str, Any]:
        """S3's conditions for the store's: ``if_none_match=etag`` checked against the current
        version, then written over it with ``If-Match``."""
        if if_match is not None:
            if if_none_match in ("*", if_match):
                raise self._conflict(key, if_match, await self._etag(name))
            return {"IfMatch": if_match}
        if if_none_match is None:
            return {}
        if if_none_match == "*":
            return {"IfNoneMatch": "*"}
        current = await self._etag(name)
        if current == if_none_match:
            raise self._conflict(key, f"other than {if_none_match}", current)
        return {"IfNoneMatch": "*"} if current is None else {"IfMatch": current}

    async def _upload(
        self, parts: AsyncIterator[bytes], headers: dict[str, Any], condition: dict[str, Any]
    ) -> str:
        """One ``PutObject`` when the body fits in a part, else a multipart upload."""
        s3 = await self._s3()
        first = await anext(parts, b"")
        second = await anext(parts, None)
        if second is None:
            return (await s3.put_object(Body=first, **headers, **condition))["ETag"]
        upload = (await s3.create_multipart_upload(**headers))["UploadId"]
        where = {"Bucket": headers["Bucket"], "Key": headers["Key"], "UploadId": upload}
        try:
            done: list[CompletedPartTypeDef] = []
            number = 0
            for part in (first, second):
                number += 1
                sent = await s3.upload_part(Body=part, PartNumber=number, **where)
                done.append({"ETag": sent["ETag"], "PartNumber": number})
            async for part in parts:
                number += 1
                sent = await s3.upload_part(Body=part, PartNumber=number, **where)
                done.append({"ETag": sent["ETag"], "PartNumber": number})
            finished = await s3.complete_multipart_upload(
                MultipartUpload={"Parts": done}, **where, **condition
            )
        except BaseException:
            await s3.abort_multipart_upload(**where)
            raise
        return str(finished["ETag"])

    async def _delete(self, key: str, if_match: str | None) -> None:
        s3 = await self._s3()
        name = self._object(key)
        condition: dict[str, Any] = {} if if_match is None else {"IfMatch": if_match}
        try:
            await s3.delete_object(Bucket=self._bucket, Key=name, **condition)
        except ClientError as error:
            if _code(error) in _MISSING:
                return  # missing is a no-op
            if _code(error) not in _PRECONDITION:
                raise self._not_found(key, error) from None
            stored = await self._etag(name)
            if stored is not None:  # there, at another version
                raise self._conflict(key, if_match, stored) from None

    # -- errors ---------------------------------------------------------------------------------

    def _not_found(self, key: str, error: ClientError) -> Exception:
        code = _code(error)
        if code in _MISSING:
            return NotFoundError(f"no blob {key!r} in {self._where}")
        if code == "NoSuchBucket":
            return NotFoundError(
                f"{self._where} does not exist: create it (the store never creates buckets)"
            )
        return error

    def _conflict(
        self, key: str, expected: str | None, stored: str | None
    ) -> ConcurrencyConflictError:
        actual = "absent" if stored is None else f"at version {stored}"
        wanted = "absent" if expected is None else f"at version {expected}"
        return ConcurrencyConflictError(
            f"blob {key!r} in {self._where} is {actual}, but the write expected it {wanted}"
        )


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def _blob(key: str, data: bytes, found: Mapping[str, Any]) -> Blob:
    stored = (found.get("Metadata") or {}).get(METADATA)
    last_modified: datetime = found["LastModified"]
    return Blob(
        key,
        data,
        found.get("ContentType") or DEFAULT_CONTENT_TYPE,
        json.loads(stored) if stored else {},
        found["ETag"],
        last_modified,
    )


async def _parts(chunks: AsyncIterable[bytes]) -> AsyncIterator[bytes]:
    """The body in pieces of ``PART_SIZE`` (the last one shorter), checked to be bytes."""
    pending = bytearray()
    async for chunk in chunks:
        if not isinstance(chunk, bytes | bytearray | memoryview):
            raise TypeError(f"a body chunk must be bytes, not {type(chunk).__name__}")
        pending += chunk
        while len(pending) >= PART_SIZE:
            yield bytes(pending[:PART_SIZE])
            del pending[:PART_SIZE]
    if pending:
        yield bytes(pending)
