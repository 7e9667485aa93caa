"""What the contract suites cannot see of the Azure stores: layout, limits, leases, secrets.

They run on Azurite, like the contract suites' ``azure`` backend.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator

import pytest
from azure.core.credentials import AzureNamedKeyCredential
from azure.core.exceptions import HttpResponseError
from azure.data.tables.aio import TableServiceClient
from azure.storage.blob.aio import BlobServiceClient

from beehive.stores import ConcurrencyConflictError, LockLostError, NotFoundError
from beehive.stores._names import table_name
from beehive.stores.azure import (
    AzureCollectionStore,
    AzureCounterStore,
    AzureKeyedListStore,
    AzureKeyValueStore,
    AzureLockStore,
)
from beehive.stores.azure._locks import lease_seconds
from tests.azurite import ACCOUNT, ACCOUNT_KEY, ROOT, Azurite
from tests.stores.conftest import AzureBackend
from tests.stores.entities import Order, ParkedItem


@pytest.fixture
def azure(azurite: Azurite) -> AzureBackend:
    backend = AzureBackend()
    backend.connection_string = azurite.connection_string
    return backend


@pytest.fixture
async def prefix(azure: AzureBackend) -> AsyncIterator[str]:
    async with azure._tables() as made:
        yield made


@pytest.fixture
async def container(azure: AzureBackend) -> AsyncIterator[str]:
    async with azure._container() as made:
        yield made


# --- tables: names, keys, sizes, batches ----------------------------------------------------


async def test_collections_whose_names_differ_in_case_are_separate(
    azurite: Azurite, prefix: str
) -> None:
    conn = azurite.connection_string
    upper = AzureCollectionStore.from_connection_string(conn, Order, table_prefix=prefix)
    lower = AzureCollectionStore.from_connection_string(
        conn, Order, name="order", table_prefix=prefix
    )
    async with upper, lower:
        await upper.insert(Order(id="o-1", customer_id="upper"))
        await lower.insert(Order(id="o-1", customer_id="lower"))

        assert (await upper.get("o-1")).customer_id == "upper"
        assert (await lower.get("o-1")).customer_id == "lower"


async def test_an_entity_too_large_for_one_property_is_split(azurite: Azurite, prefix: str) -> None:
    big = Order(id="o-1", lines=[f"product-{number:06}" for number in range(30_000)])
    async with AzureCollectionStore.from_connection_string(
        azurite.connection_string, Order, table_prefix=prefix
    ) as orders:
        await orders.insert(big)

        assert await orders.get("o-1") == big
        assert [order async for order in orders.list()] == [big]


async def test_an_entity_too_large_for_a_row_is_refused_and_not_stored(
    azurite: Azurite, prefix: str
) -> None:
    huge = Order(id="o-1", lines=["x" * 1000] * 800)  # about 800 KB of JSON
    async with AzureCollectionStore.from_connection_string(
        azurite.connection_string, Order, table_prefix=prefix
    ) as orders:
        with pytest.raises(ValueError, match=r"Order 'o-1' is .* bytes as JSON.*704 KiB"):
            await orders.insert(huge)
        assert not await orders.exists("o-1")


async def test_names_too_long_for_azure_keys_are_hashed_and_kept(
    azurite: Azurite, prefix: str
) -> None:
    key, item_id = "/" * 255, "#" * 255  # 765 characters each once escaped: over 1 KiB
    async with AzureKeyedListStore.from_connection_string(
        azurite.connection_string, ParkedItem, table_prefix=prefix
    ) as lists:
        await lists.add("Parked", key, ParkedItem(id=item_id))
        await lists.add("Parked", key, ParkedItem(id="short"))

        assert (await lists.get_item("Parked", key, item_id)).id == item_id
        assert {item.id for item in await lists.get_all("Parked", key)} == {item_id, "short"}
        rows = []
        async with TableServiceClient.from_connection_string(azurite.connection_string) as tables:
            table = tables.get_table_client(table_name("Parked", prefix))
            rows = [dict(row) async for row in table.list_entities()]
        assert {row["PartitionKey"] for row in rows} == {"%h" + row_hash(key)}
        assert all(row["Key"] == key for row in rows)
        assert [row["Id"] for row in rows if "Id" in row] == [item_id]

        await lists.remove("Parked", key)
        assert not await lists.exists("Parked", key)


def row_hash(name: str) -> str:
    return hashlib.sha256(name.encode()).hexdigest()


async def test_removing_a_key_deletes_its_items_in_batches(azurite: Azurite, prefix: str) -> None:
    async with AzureKeyedListStore.from_connection_string(
        azurite.connection_string, Order, table_prefix=prefix
    ) as lists:
        for number in range(250):  # three transactions of at most 100
            await lists.add("Orders", "c-1", Order(id=f"o-{number:03}"))
        await lists.add("Orders", "c-2", Order(id="o-000"))

        await lists.remove("Orders", "c-1")

        assert await lists.get_all("Orders", "c-1") == []
        assert [order.id for order in await lists.get_all("Orders", "c-2")] == ["o-000"]


async def test_etag_and_last_modified_are_the_rows_own(azurite: Azurite, prefix: str) -> None:
    async with AzureCollectionStore.from_connection_string(
        azurite.connection_string, ParkedItem, table_prefix=prefix
    ) as parked:
        inserted = await parked.insert(ParkedItem(id="i-1"))
        async with TableServiceClient.from_connection_string(azurite.connection_string) as tables:
            table = tables.get_table_client(table_name("ParkedItem", prefix))
            row = await table.get_entity(row_hash("i-1")[:2], "i-1")

    assert inserted.etag == row.metadata["etag"]
    timestamp = row.metadata["timestamp"]
    assert timestamp is not None
    assert inserted.last_modified == timestamp


# --- counters -------------------------------------------------------------------------------

WORKER = """
import asyncio, json, os, sys
from beehive.stores.azure import AzureCounterStore

async def main():
    conn, prefix = os.environ["BEEHIVE_TEST_TABLES"], sys.argv[1]
    stores = [AzureCounterStore.from_connection_string(conn, table_prefix=prefix) for _ in "ab"]
    try:
        results = await asyncio.gather(
            *(store.increment("stock", "p-1") for store in stores for _ in range(40))
        )
    finally:
        for store in stores:
            await store.close()
    print(json.dumps(results))

asyncio.run(main())
"""


async def test_increments_from_four_processes_end_at_the_sum(azurite: Azurite, prefix: str) -> None:
    environment = {**os.environ, "BEEHIVE_TEST_TABLES": azurite.connection_string}
    workers = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            WORKER,
            prefix,
            cwd=ROOT,
            env=environment,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for _ in range(4)
    ]
    outputs = await asyncio.wait_for(asyncio.gather(*(w.communicate() for w in workers)), 120)

    assert [worker.returncode for worker in workers] == [0] * 4, outputs
    seen = [value for out, _ in outputs for value in json.loads(out)]
    assert sorted(seen) == list(range(1, 321))  # every increment saw its own new value
    async with AzureCounterStore.from_connection_string(
        azurite.connection_string, table_prefix=prefix
    ) as counters:
        assert await counters.get("stock", "p-1") == 320


async def test_a_counter_leaving_64_bits_raises_and_keeps_its_value(
    azurite: Azurite, prefix: str
) -> None:
    async with AzureCounterStore.from_connection_string(
        azurite.connection_string, table_prefix=prefix
    ) as counters:
        await counters.increment("big", "x", 2**63 - 1)

        with pytest.raises(OverflowError, match="64-bit"):
            await counters.increment("big", "x")
        assert await counters.get("big", "x") == 2**63 - 1


# --- blobs ----------------------------------------------------------------------------------


async def test_keys_are_flat_blob_names(azurite: Azurite, container: str) -> None:
    async with AzureKeyValueStore.from_connection_string(
        azurite.connection_string, container=container
    ) as blobs:
        await blobs.put("invoices/o-1.json", b"{}")
        async with BlobServiceClient.from_connection_string(azurite.connection_string) as service:
            names = [
                name async for name in service.get_container_client(container).list_blob_names()
            ]

    assert names == ["invoices%2Fo-1%2Ejson"]


async def test_a_large_blob_goes_in_blocks_and_keeps_its_conditions(
    azurite: Azurite, container: str
) -> None:
    body = os.urandom(3 * 1024 * 1024 + 7)
    async with AzureKeyValueStore.from_connection_string(
        azurite.connection_string, container=container
    ) as blobs:
        etag = await blobs.put("big", body, if_none_match="*")

        with pytest.raises(ConcurrencyConflictError):
            await blobs.put("big", body, if_none_match="*")
        received = [chunk async for chunk in blobs.stream("big", chunk_size=1024 * 1024)]
        assert b"".join(received) == body
        assert [len(chunk) for chunk in received[:3]] == [1024 * 1024] * 3
        assert (await blobs.get("big")).etag == etag


# --- locks ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ttl", "lease"), [(0.5, 15), (2, 15), (15.2, 16), (60, 60), (61, -1), (3600, -1)]
)
def test_leases_keep_within_azure_bounds(ttl: float, lease: int) -> None:
    assert lease_seconds(ttl) == lease


async def test_a_short_lock_of_a_dead_process_expires_after_its_ttl(
    azurite: Azurite, container: str
) -> None:
    conn = azurite.connection_string
    dead = AzureLockStore.from_connection_string(conn, container=container)
    other = AzureLockStore.from_connection_string(conn, container=container, poll_interval=0.05)
    async with dead, other:
        stale = await dead.acquire("order-42", ttl=1)  # a 15 s lease, stamped for 1 s
        started = time.monotonic()

        lock = await other.acquire("order-42", ttl=1, wait=5)

        assert 0.8 < time.monotonic() - started < 3
        with pytest.raises(LockLostError, match="no longer held"):
            await dead.renew(stale)
        assert not await dead.release(stale)
        assert await other.release(lock)


async def test_a_long_lock_takes_an_infinite_lease_that_a_stale_stamp_lets_go(
    azurite: Azurite, container: str
) -> None:
    conn = azurite.connection_string
    holder = AzureLockStore.from_connection_string(conn, container=container)
    later = AzureLockStore.from_connection_string(
        conn, container=container, wall_clock=lambda: time.time() + 120
    )
    async with holder, later:
        await holder.acquire("order-42", ttl=90)
        async with BlobServiceClient.from_connection_string(conn) as service:
            blob = service.get_container_client(container).get_blob_client("order-42")
            properties = await blob.get_blob_properties()

        assert properties.lease.duration == "infinite"
        assert float(properties.metadata["beehive_expires"]) > time.time() + 80
        # Two minutes on, the holder has not renewed: its stamp has passed.
        assert (await later.acquire("order-42", ttl=90)).resource == "order-42"


# --- construction and secrets ---------------------------------------------------------------


async def test_stores_work_from_an_account_url_and_a_key_credential(
    azurite: Azurite, prefix: str, container: str
) -> None:
    credential = AzureNamedKeyCredential(ACCOUNT, ACCOUNT_KEY)
    orders = AzureCollectionStore(
        azurite.table_url, Order, credential=credential, table_prefix=prefix
    )
    blobs = AzureKeyValueStore(azurite.blob_url, credential=credential, container=container)
    async with orders, blobs:
        await orders.insert(Order(id="o-1"))
        await blobs.put("k", b"v")

        assert (await orders.get("o-1")).id == "o-1"
        assert (await blobs.get("k")).body == b"v"


async def test_without_a_credential_the_default_one_is_made_and_closed_unused() -> None:
    store = AzureCounterStore("https://example.table.core.windows.net")

    assert "example.table.core.windows.net" in repr(store)
    await store.close()  # connected to nothing, so nothing to wait for


async def test_the_account_key_never_shows(
    azurite: Azurite, prefix: str, container: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    conn = azurite.connection_string
    stores = [
        AzureCollectionStore.from_connection_string(conn, Order, table_prefix=prefix),
        AzureKeyedListStore.from_connection_string(conn, Order, table_prefix=prefix),
        AzureCounterStore.from_connection_string(conn, table_prefix=prefix),
        AzureKeyValueStore.from_connection_string(conn, container=container),
        AzureLockStore.from_connection_string(conn, container=container),
    ]
    messages = [repr(store) for store in stores] + [str(store) for store in stores]
    try:
        with pytest.raises(NotFoundError) as missing:
            await stores[0].get("o-404")  # type: ignore[union-attr]
        await stores[2].increment("stock", "p-1")  # type: ignore[union-attr]
        messages.append(str(missing.value))
    finally:
        for store in stores:
            await store.close()  # type: ignore[attr-defined]

    wrong_key = conn.replace(ACCOUNT_KEY, "V3JvbmdLZXlXcm9uZ0tleQ==")
    async with AzureKeyValueStore.from_connection_string(wrong_key, container=container) as bad:
        with pytest.raises(HttpResponseError) as refused:
            await bad.put("k", b"v")
        messages.append(str(refused.value))
    with pytest.raises(ValueError, match="not shown") as malformed:
        AzureCounterStore.from_connection_string(f"AccountKey={ACCOUNT_KEY};nonsense")
    messages.append(str(malformed.value))
    sas = AzureKeyValueStore(azurite.blob_url + "?sv=2024-08-04&sig=SECRET")
    messages.append(repr(sas))
    await sas.close()

    for message in [*messages, caplog.text]:
        assert ACCOUNT_KEY not in message
        assert "V3JvbmdLZXlXcm9uZ0tleQ==" not in message
        assert "SECRET" not in message


@pytest.mark.parametrize(
    ("build", "match"),
    [
        (lambda conn: AzureCounterStore.from_connection_string(conn, table_prefix="1x"), "prefix"),
        (
            lambda conn: AzureKeyValueStore.from_connection_string(conn, container="A_b"),
            "container",
        ),
        (lambda conn: AzureLockStore.from_connection_string(conn, container="a--b"), "container"),
    ],
)
def test_bad_table_prefixes_and_container_names_are_refused(
    azurite: Azurite, build: object, match: str
) -> None:
    with pytest.raises(ValueError, match=match):
        build(azurite.connection_string)  # type: ignore[operator]


def test_without_the_sdk_the_import_names_the_extra() -> None:
    code = "import sys; sys.modules['azure.data.tables'] = None; import beehive.stores.azure"

    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=False
    )

    assert result.returncode != 0
    assert "pip install 'beehive-actors[azure]'" in result.stderr
