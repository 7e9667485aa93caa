"""Prismo's stores in a PostgreSQL database, configured from the environment.

=============================  ==================================================================
variable                       meaning
=============================  ==================================================================
``BEEHIVE_POSTGRES_DSN``       the database, ``postgresql://user@host:5432/db`` (a secret: it may
                               hold a password; libpq's ``PGPASSWORD`` and ``~/.pgpass`` work too)
``BEEHIVE_POSTGRES_SCHEMA``    the schema of Prismo's tables (default ``prismo``): a deployed host
                               and ``--publish-only`` share it; a run of the sample uses the
                               schema then a run id, and drops it at the end
=============================  ==================================================================

Every store shares one connection pool, closed with the stores.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypeVar

from pydantic import BaseModel

from beehive.stores import CollectionStore

if TYPE_CHECKING:
    from beehive.stores.postgres import Pool
from samples.prismo.azure_storage import OpenStores
from samples.prismo.brokers import BackendUnavailable
from samples.prismo.entities import OrderWaitingForProduct
from samples.prismo.stores import Stores

POSTGRES_DSN = "BEEHIVE_POSTGRES_DSN"
POSTGRES_SCHEMA = "BEEHIVE_POSTGRES_SCHEMA"
DEFAULT_SCHEMA = "prismo"
_RUN_ID_LENGTH = 8

EntityT = TypeVar("EntityT", bound=BaseModel)


@dataclass(frozen=True, slots=True)
class PostgresDatabase:
    """The database the environment names, and the schema of Prismo's tables in it."""

    dsn: str = field(repr=False)
    schema: str = DEFAULT_SCHEMA

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> PostgresDatabase:
        try:
            import beehive.stores.postgres  # noqa: F401 - only to say which extra is missing
        except ImportError:
            raise BackendUnavailable(
                "the postgres stores need: pip install 'beehive-actors[postgres]'"
            ) from None
        dsn = environ.get(POSTGRES_DSN)
        if not dsn:
            raise BackendUnavailable(
                f"the postgres stores need {POSTGRES_DSN} (postgresql://user@host:5432/db)"
            )
        return cls(dsn, environ.get(POSTGRES_SCHEMA) or DEFAULT_SCHEMA)

    def pool(self) -> Pool:
        """A connection pool on this database, for stores to share."""
        from beehive.stores.postgres import connection_pool

        try:
            return connection_pool(self.dsn)
        except ValueError as error:
            raise BackendUnavailable(f"{POSTGRES_DSN}: {error}") from None

    def stores(self, schema: str | None = None, *, pool: Pool | None = None) -> OpenStores:
        """Prismo's stores in ``schema`` (default this one), sharing one pool (a new one
        unless given), which ``discard`` closes."""
        from beehive.stores.postgres import (
            PostgresCollectionStore,
            PostgresCounterStore,
            PostgresKeyedListStore,
        )

        chosen = self.schema if schema is None else schema
        pool = self.pool() if pool is None else pool

        def collection(entity_type: type[EntityT]) -> CollectionStore[EntityT]:
            return PostgresCollectionStore(None, entity_type, pool=pool, schema=chosen)

        stores = Stores.build(
            collection,
            PostgresKeyedListStore(None, OrderWaitingForProduct, pool=pool, schema=chosen),
            PostgresCounterStore(pool=pool, schema=chosen),
        )
        return OpenStores(stores, pool.close)

    def for_one_run(self) -> OpenStores:
        """Stores in a schema of their own (this one, then a run id), dropped by ``discard``."""
        schema = f"{self.schema[:40]}_{uuid.uuid4().hex[:_RUN_ID_LENGTH]}"
        opened = self.stores(schema)

        async def discard() -> None:
            import psycopg

            try:
                async with await psycopg.AsyncConnection.connect(self.dsn, autocommit=True) as db:
                    quoted = '"' + schema.replace('"', '""') + '"'
                    await db.execute(f"DROP SCHEMA IF EXISTS {quoted} CASCADE".encode())
            finally:
                await opened.discard()

        return OpenStores(opened.stores, discard)
