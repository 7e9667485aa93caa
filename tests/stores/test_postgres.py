"""What only the PostgreSQL stores do: other processes, a DBA's tables, a shared pool, NUL.

The contract suites run against PostgreSQL through ``tests/stores/conftest.py``; these tests add
what needs more than one process or more than one role.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import psycopg
import pytest

from beehive.cli import main
from beehive.stores import ConcurrencyConflictError, LockNotAcquiredError
from beehive.stores.postgres import (
    PostgresCollectionStore,
    PostgresCounterStore,
    PostgresKeyValueStore,
    PostgresLockStore,
    connection_pool,
)
from tests.postgres import fresh_schema
from tests.stores.entities import Order, Tally

ROOT = Path(__file__).resolve().parents[2]
PROCESSES, INCREMENTS = 4, 200


@pytest.fixture
async def schema(postgres: str) -> AsyncIterator[str]:
    async with fresh_schema(postgres) as name:
        yield name


def worker(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.stores.postgres_worker", *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )


def finish(process: subprocess.Popen[str]) -> str:
    out, _ = process.communicate(timeout=120)
    assert process.returncode == 0, out
    return out.strip()


async def test_a_counter_is_exact_under_four_processes(postgres: str, schema: str) -> None:
    processes = [worker("count", postgres, schema, str(INCREMENTS)) for _ in range(PROCESSES)]
    last_values = [int(await asyncio.to_thread(finish, p)) for p in processes]

    async with PostgresCounterStore(postgres, schema=schema) as counters:
        assert await counters.get("hits", "a") == PROCESSES * INCREMENTS
    assert max(last_values) == PROCESSES * INCREMENTS  # the last increment saw every other


async def test_an_update_conflicts_with_another_process_update(postgres: str, schema: str) -> None:
    async with PostgresCollectionStore(postgres, Tally, schema=schema) as tallies:
        await tallies.insert(Tally(id="shared"))
        read = await tallies.get("shared")

        assert await asyncio.to_thread(finish, worker("bump", postgres, schema)) == "bumped"

        with pytest.raises(ConcurrencyConflictError, match="shared"):
            await tallies.update(read.model_copy(update={"count": 10}))
        assert (await tallies.get("shared")).count == 1  # the other process's write stands


async def test_a_lock_is_exclusive_across_processes_and_freed_when_its_holder_dies(
    postgres: str, schema: str
) -> None:
    holder = worker("hold", postgres, schema, "order-42")
    try:
        assert await asyncio.to_thread(holder.stdout.readline) == "held\n"  # type: ignore[union-attr]
        async with PostgresLockStore(postgres, schema=schema, poll_interval=0.05) as locks:
            with pytest.raises(LockNotAcquiredError, match="order-42"):
                await locks.acquire("order-42", ttl=5)

            holder.send_signal(signal.SIGKILL)  # no release: only its connection closes
            await asyncio.to_thread(holder.wait)

            # Its lease had 120 s left: taking the lock within 20 s proves the dead
            # connection freed it, not the expiry.
            lock = await locks.acquire("order-42", ttl=5, wait=20)
            assert await locks.release(lock)
    finally:
        holder.kill()
        holder.communicate()  # reaps it and closes its pipe


async def test_tables_a_dba_created_serve_a_role_that_cannot_create(
    postgres: str, schema: str, tmp_path: Path
) -> None:
    sql = tmp_path / "beehive.sql"
    assert (
        await asyncio.to_thread(
            main, ["topology", "--format", "sql", "--schema", schema, "--output", str(sql)]
        )
        == 0
    )
    role = f"app_{uuid.uuid4().hex[:12]}"
    async with await psycopg.AsyncConnection.connect(postgres, autocommit=True) as dba:
        await dba.execute(sql.read_text().encode())
        await dba.execute(
            f"""CREATE ROLE {role} LOGIN;
            GRANT USAGE ON SCHEMA "{schema}" TO {role};
            GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA "{schema}" TO {role};
            REVOKE CREATE ON SCHEMA "{schema}" FROM PUBLIC""".encode()
        )
        try:
            app = psycopg.conninfo.make_conninfo(postgres, user=role)
            async with PostgresCollectionStore(app, Order, schema=schema) as orders:
                await orders.insert(Order(id="o-1", total=3))
                assert (await orders.get("o-1")).total == 3
        finally:
            await dba.execute(f"DROP OWNED BY {role}; DROP ROLE {role}".encode())


async def test_stores_share_a_pool_and_leave_it_open(postgres: str, schema: str) -> None:
    pool = connection_pool(postgres, max_size=2)
    async with pool:
        orders = PostgresCollectionStore(None, Order, pool=pool, schema=schema)
        counters = PostgresCounterStore(pool=pool, schema=schema)
        async with orders, counters:
            await asyncio.gather(
                *(orders.upsert(Order(id=f"o-{n}")) for n in range(10)),
                *(counters.increment("c", "x") for _ in range(10)),
            )
        assert not pool.closed
        again = PostgresCollectionStore(None, Order, pool=pool, schema=schema)
        assert len([order async for order in again.list()]) == 10


async def test_nul_survives_in_names_and_in_entities(postgres: str, schema: str) -> None:
    async with (
        PostgresCollectionStore(postgres, Order, name="a\x00b", schema=schema) as orders,
        PostgresKeyValueStore(postgres, schema=schema) as blobs,
    ):
        await orders.insert(Order(id="o\x00%00", customer_id="c\x00"))
        await blobs.put("k\x00", b"\x00", content_type="text/\x00")

        assert (await orders.get("o\x00%00")).customer_id == "c\x00"
        assert not await orders.exists("o%00%00")
        assert (await blobs.get("k\x00")).content_type == "text/\x00"
        assert [key async for key in blobs.list("k")] == ["k\x00"]


def test_a_store_needs_a_dsn_or_a_pool_and_hides_the_password() -> None:
    with pytest.raises(ValueError, match="DSN or pool="):
        PostgresCounterStore()
    with pytest.raises(ValueError, match="malformed PostgreSQL DSN"):
        PostgresCounterStore("host=a password=secret = =")
    store = PostgresCounterStore("postgresql://app:s3cret@db.example:5432/shop")
    assert "s3cret" not in repr(store)
    assert "db.example" in repr(store)
    with pytest.raises(ValueError, match="63 bytes"):
        PostgresCounterStore("postgresql://db/shop", schema="x" * 64)


def test_the_extra_to_install_is_named_when_psycopg_is_missing() -> None:
    code = "import sys; sys.modules['psycopg'] = None; import beehive.stores.postgres"
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=False
    )
    assert "pip install 'beehive-actors[postgres]'" in done.stderr


async def test_a_call_cancelled_while_it_waits_for_a_connection_ends_cancelled(
    postgres: str, schema: str
) -> None:
    # One connection for many callers: most wait in the pool, where Python 3.11's wait_for
    # could swallow a cancellation racing a connection coming free (a journal's stop hung so).
    pool = connection_pool(postgres, max_size=1)
    async with pool:
        counters = PostgresCounterStore(pool=pool, schema=schema)
        await counters.increment("c", "warm")
        for delay in range(30):
            calls = [asyncio.create_task(counters.increment("c", "x")) for _ in range(5)]
            await asyncio.sleep(delay / 2000)
            for call in calls:
                call.cancel()
            outcomes = await asyncio.gather(*calls, return_exceptions=True)
            swallowed = [
                call
                for call, outcome in zip(calls, outcomes, strict=True)
                if isinstance(outcome, int) and call.cancelling()
            ]
            assert not swallowed, "a cancelled call went on as if not cancelled"
