"""Blobs in PostgreSQL: one ``bytea`` row per key, streamed out in chunks.

Bodies are stored uncompressed (``STORAGE EXTERNAL``), so a chunk is read with ``substring``
without loading the rest. Each later chunk is read only if the blob still has the version the
first chunk came from, so a stream never mixes two versions: a blob replaced or deleted
mid-stream raises :class:`~beehive.errors.ConcurrencyConflictError`. A body given as chunks is
collected before it is written (a ``bytea`` holds up to 1 GB; keep large files elsewhere).
Conditional writes are one statement each.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterable, AsyncIterator
from datetime import UTC, datetime

from beehive.errors import NotFoundError
from beehive.stores._entities import conflict
from beehive.stores.base import Blob, KeyValueStore, collect_chunks
from beehive.stores.postgres._common import (
    PAGE,
    Pool,
    PostgresStore,
    escape,
    psycopg,
    unescape,
)

__all__ = ["PostgresKeyValueStore"]

_WHERE = "the key-value store"


class PostgresKeyValueStore(PostgresStore, KeyValueStore):
    """A :class:`~beehive.stores.KeyValueStore` in PostgreSQL (rows of ``blobs``).

    ``dsn``, ``pool`` and ``schema`` as for
    :class:`~beehive.stores.postgres.PostgresCollectionStore`.
    """

    def __init__(
        self, dsn: str | None = None, *, pool: Pool | None = None, schema: str = "beehive"
    ) -> None:
        self._attach(dsn, pool, schema)
        t = self._table("blobs")
        columns = "key, body, content_type, metadata, etag, last_modified"
        new = (
            "body = EXCLUDED.body, content_type = EXCLUDED.content_type, "
            "metadata = EXCLUDED.metadata, etag = EXCLUDED.etag, "
            "last_modified = EXCLUDED.last_modified"
        )
        insert = f"INSERT INTO {t} AS b ({columns}) VALUES (%s, %s, %s, %s, %s, %s)"
        self._sql_get = (
            f"SELECT body, content_type, metadata, etag, last_modified FROM {t} WHERE key = %s"
        )
        self._sql_chunk = (
            f"SELECT substring(body FROM %s FOR %s), etag FROM {t} "
            "WHERE key = %s AND (%s::text IS NULL OR etag = %s)"
        )
        self._sql_etag = f"SELECT etag FROM {t} WHERE key = %s"
        self._sql_exists = f"SELECT EXISTS (SELECT FROM {t} WHERE key = %s)"
        self._sql_put = f"{insert} ON CONFLICT (key) DO UPDATE SET {new} RETURNING 1"
        self._sql_put_if_absent = f"{insert} ON CONFLICT DO NOTHING RETURNING 1"
        self._sql_put_unless = (
            f"{insert} ON CONFLICT (key) DO UPDATE SET {new} WHERE b.etag <> %s RETURNING 1"
        )
        self._sql_put_if_match = (
            f"UPDATE {t} SET body = %s, content_type = %s, metadata = %s, etag = %s, "
            "last_modified = %s WHERE key = %s AND etag = %s RETURNING 1"
        )
        self._sql_delete = (
            f"DELETE FROM {t} WHERE key = %s AND (%s::text IS NULL OR etag = %s) RETURNING 1"
        )
        self._sql_keys = (
            f"SELECT key FROM {t} WHERE key LIKE %s AND key > %s ORDER BY key LIMIT {PAGE}"
        )

    async def _get(self, key: str) -> Blob:
        row = await self._fetch_one(self._sql_get, (escape(key),))
        if row is None:
            raise NotFoundError(f"no blob {key!r} in the key-value store")
        body, content_type, metadata, etag, last_modified = row
        return Blob(key, bytes(body), unescape(content_type), metadata, etag, last_modified)

    async def _stream(self, key: str, chunk_size: int) -> AsyncIterator[bytes]:
        version: str | None = None
        start = 1  # substring counts from 1
        while True:
            params = (start, chunk_size, escape(key), version, version)
            row = await self._fetch_one(self._sql_chunk, params)
            if row is None:
                if version is None:
                    raise NotFoundError(f"no blob {key!r} in the key-value store")
                stored = await self._stored_etag(key)
                raise conflict(_WHERE, "blob", key, version, stored)
            chunk, version = bytes(row[0]), row[1]
            if chunk:
                yield chunk
            if len(chunk) < chunk_size:
                return
            start += chunk_size

    async def _put(
        self,
        key: str,
        body: bytes | AsyncIterable[bytes],
        content_type: str,
        metadata: dict[str, str],
        if_match: str | None,
        if_none_match: str | None,
    ) -> str:
        if not isinstance(body, bytes):
            body = await collect_chunks(body)
        etag, now = uuid.uuid4().hex, datetime.now(UTC)
        values = (body, escape(content_type), psycopg.types.json.Jsonb(metadata), etag, now)
        if if_match is not None:
            params: tuple[object, ...] = (*values, escape(key), if_match)
            query = self._sql_put_if_match
        elif if_none_match == "*":
            params, query = (escape(key), *values), self._sql_put_if_absent
        elif if_none_match is not None:
            params, query = (escape(key), *values, if_none_match), self._sql_put_unless
        else:
            params, query = (escape(key), *values), self._sql_put
        if not await self._fetch(query, params):
            stored = await self._stored_etag(key)
            raise conflict(_WHERE, "blob", key, if_match, stored)
        return etag

    async def _delete(self, key: str, if_match: str | None) -> None:
        if await self._fetch(self._sql_delete, (escape(key), if_match, if_match)):
            return
        stored = None if if_match is None else await self._stored_etag(key)
        if stored is not None:  # there, at another version; missing is a no-op
            raise conflict(_WHERE, "blob", key, if_match, stored)

    async def _exists(self, key: str) -> bool:
        row = await self._fetch_one(self._sql_exists, (escape(key),))
        return bool(row and row[0])

    async def _keys(self, prefix: str) -> AsyncIterator[str]:
        pattern = _like_prefix(escape(prefix))
        after = ""
        while True:
            rows = await self._fetch(self._sql_keys, (pattern, after))
            for (key,) in rows:
                yield unescape(key)
            if len(rows) < PAGE:
                return
            after = rows[-1][0]

    async def _stored_etag(self, key: str) -> str | None:
        row = await self._fetch_one(self._sql_etag, (escape(key),))
        return None if row is None else str(row[0])


def _like_prefix(prefix: str) -> str:
    """A ``LIKE`` pattern matching what starts with ``prefix`` (its wildcards escaped)."""
    return prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
