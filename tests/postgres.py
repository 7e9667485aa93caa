"""The machine's PostgreSQL for the tests: its DSN, and a schema of its own for each test.

``BEEHIVE_TEST_POSTGRES_DSN`` names the server (the machine's, with trust authentication, by
default). When it does not answer, the tests that need it skip saying why; under CI (``CI``
set) they fail instead: ``.ci/run`` starts the server.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import psycopg
import pytest

from tests.required import unavailable

DSN = os.environ.get("BEEHIVE_TEST_POSTGRES_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")


@pytest.fixture(scope="session")
def postgres() -> str:
    """The DSN of a PostgreSQL server that answers."""
    try:
        with psycopg.connect(DSN, connect_timeout=3) as connection:
            connection.execute("SELECT 1")
    except psycopg.OperationalError as error:
        reason = f"no PostgreSQL server answers at {DSN} ({str(error).strip()})"
        unavailable(f"{reason}: start it (scripts/_postgres.sh) to run the PostgreSQL tests")
    return DSN


def new_schema() -> str:
    """A schema name no other test (or helper running tests in parallel) uses."""
    return f"test_{uuid.uuid4().hex[:16]}"


@asynccontextmanager
async def fresh_schema(dsn: str) -> AsyncIterator[str]:
    """A schema name of its own; the schema, if the test made it, is dropped on exit."""
    schema = new_schema()
    try:
        yield schema
    finally:
        async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as connection:
            await connection.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'.encode())
