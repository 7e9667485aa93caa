"""The tables every PostgreSQL store keeps in its schema, as SQL a DBA can run beforehand.

One schema (``beehive`` unless told otherwise) holds six tables whatever the application
names its collections, lists, counters, blobs and locks: names are values in key columns, not
table names, so any name works and nothing is created per name. Key columns collate as ``"C"``
(byte order), so paging and prefix listing use the primary key's index. ``beehive topology
--format sql`` prints :func:`ddl`; stores run it on first use when the tables are not there.
It lives outside :mod:`beehive.stores.postgres`, which needs the driver, so that the command
prints it without the ``postgres`` extra installed.
"""

from __future__ import annotations

from typing import Final

TABLES: Final = ("collections", "keyed_lists", "keyed_list_names", "counters", "blobs", "locks")
MAX_SCHEMA_BYTES: Final = 63  # PostgreSQL's identifier limit (NAMEDATALEN - 1)

_DDL: Final = """\
CREATE SCHEMA IF NOT EXISTS {schema};

-- CollectionStore: entities by collection and id; data is the entity's JSON.
CREATE TABLE IF NOT EXISTS {schema}.collections (
    collection    text COLLATE "C" NOT NULL,
    id            text COLLATE "C" NOT NULL,
    data          json NOT NULL,
    etag          text NOT NULL,
    last_modified timestamptz NOT NULL,
    PRIMARY KEY (collection, id)
);

-- KeyedListStore: items by list, key and id; every list ever added to is named once.
CREATE TABLE IF NOT EXISTS {schema}.keyed_lists (
    list_name     text COLLATE "C" NOT NULL,
    key           text COLLATE "C" NOT NULL,
    id            text COLLATE "C" NOT NULL,
    data          json NOT NULL,
    etag          text NOT NULL,
    last_modified timestamptz NOT NULL,
    PRIMARY KEY (list_name, key, id)
);
CREATE TABLE IF NOT EXISTS {schema}.keyed_list_names (
    list_name text COLLATE "C" PRIMARY KEY
);

-- CounterStore: signed 64-bit values, changed by one UPDATE or upsert each.
CREATE TABLE IF NOT EXISTS {schema}.counters (
    counter_name text COLLATE "C" NOT NULL,
    id           text COLLATE "C" NOT NULL,
    value        bigint NOT NULL,
    PRIMARY KEY (counter_name, id)
);

-- KeyValueStore: bodies stored uncompressed, so streaming reads only the chunks it needs.
CREATE TABLE IF NOT EXISTS {schema}.blobs (
    key           text COLLATE "C" PRIMARY KEY,
    body          bytea NOT NULL,
    content_type  text NOT NULL,
    metadata      jsonb NOT NULL,
    etag          text NOT NULL,
    last_modified timestamptz NOT NULL
);
ALTER TABLE {schema}.blobs ALTER COLUMN body SET STORAGE EXTERNAL;

-- LockStore: a lease per resource; the holder's connection (pid and start) frees it early.
-- UNLOGGED (no WAL, no fsync per write): a lease means nothing once the server restarts, since
-- every holder's connection died with it, and a standby never needs them.
CREATE UNLOGGED TABLE IF NOT EXISTS {schema}.locks (
    resource     text COLLATE "C" PRIMARY KEY,
    token        text NOT NULL,
    expires_at   timestamptz NOT NULL,
    holder_pid   integer NOT NULL,
    holder_start timestamptz NOT NULL
);
"""


def check_schema(schema: object) -> str:
    """A schema name PostgreSQL can hold: 1 to 63 bytes of UTF-8, no NUL."""
    if not isinstance(schema, str):
        raise TypeError(f"schema must be a str, not {type(schema).__name__}")
    size = len(schema.encode("utf-8", "surrogatepass"))
    if not 0 < size <= MAX_SCHEMA_BYTES or "\x00" in schema:
        raise ValueError(
            f"schema {schema!r}: use 1 to {MAX_SCHEMA_BYTES} bytes of UTF-8 without NUL "
            "(PostgreSQL's limit for an identifier)"
        )
    try:
        schema.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError(f"schema {schema!r} contains a lone surrogate") from None
    return schema


def quote(identifier: str) -> str:
    """``identifier`` as a quoted SQL identifier."""
    return '"' + identifier.replace('"', '""') + '"'


def ddl(schema: str = "beehive") -> str:
    """The SQL that creates the schema and its tables (idempotent: ``IF NOT EXISTS``)."""
    return _DDL.format(schema=quote(check_schema(schema)))
