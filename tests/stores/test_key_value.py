"""The KeyValueStore contract, run against every backend."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime

import pytest
from hypothesis import given

from beehive.stores import Blob, ConcurrencyConflictError, KeyValueStore, NotFoundError
from tests.stores.conftest import PROPERTIES, Backend
from tests.stores.entities import INVALID_NAMES, assert_names_versions, names


@pytest.fixture
async def blobs(backend: Backend) -> AsyncIterator[KeyValueStore]:
    async with backend.key_value() as store:
        yield store


async def chunks(*parts: bytes) -> AsyncIterator[bytes]:
    for part in parts:
        yield part


async def keys(store: KeyValueStore, prefix: str = "") -> list[str]:
    return sorted([key async for key in store.list(prefix)])


async def test_put_then_get_returns_body_type_metadata_and_version(blobs: KeyValueStore) -> None:
    etag = await blobs.put(
        "invoices/o-1.json",
        b'{"total": 12}',
        content_type="application/json",
        metadata={"order_id": "o-1"},
    )

    blob = await blobs.get("invoices/o-1.json")

    assert isinstance(blob, Blob)
    assert blob.key == "invoices/o-1.json"
    assert blob.body == b'{"total": 12}'
    assert blob.content_type == "application/json"
    assert dict(blob.metadata) == {"order_id": "o-1"}
    assert blob.etag == etag
    assert isinstance(blob.last_modified, datetime)


async def test_defaults_are_octet_stream_and_no_metadata(blobs: KeyValueStore) -> None:
    await blobs.put("k", b"\x00\xff")

    blob = await blobs.get("k")

    assert blob.content_type == "application/octet-stream"
    assert dict(blob.metadata) == {}


async def test_an_empty_body_is_a_value(blobs: KeyValueStore) -> None:
    await blobs.put("empty", b"")

    assert (await blobs.get("empty")).body == b""
    assert [chunk async for chunk in blobs.stream("empty")] in ([], [b""])


async def test_put_replaces_with_a_new_version(blobs: KeyValueStore) -> None:
    first = await blobs.put("k", b"one", metadata={"n": "1"})
    second = await blobs.put("k", b"two")

    blob = await blobs.get("k")

    assert second != first
    assert blob.body == b"two"
    assert blob.etag == second
    assert dict(blob.metadata) == {}


async def test_get_of_a_missing_key_raises_not_found(blobs: KeyValueStore) -> None:
    with pytest.raises(NotFoundError, match="nothing-here"):
        await blobs.get("nothing-here")
    assert not await blobs.exists("nothing-here")


async def test_a_blob_is_a_value_the_caller_cannot_change(blobs: KeyValueStore) -> None:
    body = bytearray(b"original")
    metadata = {"who": "me"}
    await blobs.put("k", body, metadata=metadata)
    body[:] = b"changed!"
    metadata["who"] = "you"

    blob = await blobs.get("k")

    assert blob.body == b"original"
    assert dict(blob.metadata) == {"who": "me"}
    with pytest.raises(TypeError):
        blob.metadata["who"] = "you"  # type: ignore[index]


async def test_put_streams_a_body_in_from_chunks(blobs: KeyValueStore) -> None:
    await blobs.put("k", chunks(b"hello, ", b"", b"world"))

    assert (await blobs.get("k")).body == b"hello, world"


async def test_stream_reads_a_large_value_in_chunks(blobs: KeyValueStore) -> None:
    body = bytes(range(256)) * 4096 + b"tail"  # 1 MiB and a bit
    await blobs.put("big", body)

    received = [chunk async for chunk in blobs.stream("big", chunk_size=64 * 1024)]

    assert b"".join(received) == body
    assert len(received) > 1
    assert max(len(chunk) for chunk in received) <= 64 * 1024


async def test_stream_of_a_missing_key_raises_not_found(blobs: KeyValueStore) -> None:
    with pytest.raises(NotFoundError):
        async for _ in blobs.stream("nothing-here"):
            pass


async def test_delete_removes_and_missing_is_a_no_op(blobs: KeyValueStore) -> None:
    await blobs.put("k", b"v")

    await blobs.delete("k")
    await blobs.delete("k")

    assert not await blobs.exists("k")


async def test_list_yields_keys_by_prefix(blobs: KeyValueStore) -> None:
    for key in ["orders/1", "orders/2", "orders-archive/1", "payments/1"]:
        await blobs.put(key, b"")

    assert await keys(blobs) == ["orders-archive/1", "orders/1", "orders/2", "payments/1"]
    assert await keys(blobs, "orders/") == ["orders/1", "orders/2"]
    assert await keys(blobs, "orders") == ["orders-archive/1", "orders/1", "orders/2"]
    assert await keys(blobs, "nothing") == []


# --- conditional writes ---------------------------------------------------------------------


async def test_if_match_writes_over_the_version_read(blobs: KeyValueStore) -> None:
    etag = await blobs.put("k", b"one")

    await blobs.put("k", b"two", if_match=etag)

    assert (await blobs.get("k")).body == b"two"


async def test_two_readers_one_writer_wins(blobs: KeyValueStore) -> None:
    await blobs.put("k", b"one")
    first, second = await blobs.get("k"), await blobs.get("k")

    winner = await blobs.put("k", b"first", if_match=first.etag)
    with pytest.raises(ConcurrencyConflictError) as conflict:
        await blobs.put("k", b"second", if_match=second.etag)

    assert second.etag in str(conflict.value)
    assert winner in str(conflict.value)
    assert (await blobs.get("k")).body == b"first"


async def test_if_match_on_a_missing_key_fails(blobs: KeyValueStore) -> None:
    with pytest.raises(ConcurrencyConflictError):
        await blobs.put("k", b"v", if_match="some-etag")
    assert not await blobs.exists("k")


async def test_if_none_match_star_creates_only(blobs: KeyValueStore) -> None:
    await blobs.put("k", b"first", if_none_match="*")

    with pytest.raises(ConcurrencyConflictError):
        await blobs.put("k", b"second", if_none_match="*")

    assert (await blobs.get("k")).body == b"first"


async def test_if_none_match_an_etag_refuses_that_version(blobs: KeyValueStore) -> None:
    etag = await blobs.put("k", b"one")

    with pytest.raises(ConcurrencyConflictError):
        await blobs.put("k", b"two", if_none_match=etag)
    await blobs.put("k", b"three", if_none_match="another-version")

    assert (await blobs.get("k")).body == b"three"


async def test_a_conflict_names_the_blob_and_both_versions(blobs: KeyValueStore) -> None:
    stale = await blobs.put("k", b"one")
    current = await blobs.put("k", b"two")

    with pytest.raises(ConcurrencyConflictError) as put:
        await blobs.put("k", b"three", if_match=stale)
    with pytest.raises(ConcurrencyConflictError) as delete:
        await blobs.delete("k", if_match=stale)
    with pytest.raises(ConcurrencyConflictError) as create:
        await blobs.put("k", b"three", if_none_match="*")
    with pytest.raises(ConcurrencyConflictError) as missing:
        await blobs.put("gone", b"v", if_match=stale)

    for conflict in (put, delete):
        assert str(conflict.value).startswith("blob 'k' in ")
        assert_names_versions(str(conflict.value), current, stale)
    assert str(create.value).startswith("blob 'k' in ")
    assert_names_versions(str(create.value), current, None)
    assert str(missing.value).startswith("blob 'gone' in ")
    assert_names_versions(str(missing.value), None, stale)


async def test_conditional_delete(blobs: KeyValueStore) -> None:
    stale = await blobs.put("k", b"one")
    current = await blobs.put("k", b"two")

    with pytest.raises(ConcurrencyConflictError):
        await blobs.delete("k", if_match=stale)
    assert await blobs.exists("k")
    await blobs.delete("k", if_match=current)
    assert not await blobs.exists("k")
    await blobs.delete("k", if_match=current)  # gone already: a no-op, as without if_match


# --- bad input ------------------------------------------------------------------------------


@pytest.mark.parametrize("bad", INVALID_NAMES)
async def test_invalid_keys_are_refused_with_the_rule(blobs: KeyValueStore, bad: str) -> None:
    with pytest.raises(ValueError, match="1 to 255 characters"):
        await blobs.put(bad, b"v")
    with pytest.raises(ValueError, match="1 to 255 characters"):
        await blobs.get(bad)
    with pytest.raises(ValueError, match="1 to 255 characters"):
        blobs.stream(bad)


@pytest.mark.parametrize(
    "metadata",
    [{"with space": "v"}, {"1st": "v"}, {"": "v"}, {"k": "naïve"}, {"k": "line\nbreak"}],
)
async def test_metadata_that_not_every_backend_can_store_is_refused(
    blobs: KeyValueStore, metadata: dict[str, str]
) -> None:
    with pytest.raises(ValueError, match="metadata"):
        await blobs.put("k", b"v", metadata=metadata)
    assert not await blobs.exists("k")


async def test_a_str_body_is_refused(blobs: KeyValueStore) -> None:
    with pytest.raises(TypeError, match="bytes"):
        await blobs.put("k", "text")  # type: ignore[arg-type]


async def test_a_non_positive_chunk_size_is_refused(blobs: KeyValueStore) -> None:
    with pytest.raises(ValueError, match="chunk_size"):
        blobs.stream("k", chunk_size=0)


@PROPERTIES
@given(key=names, other=names)
async def test_any_legal_keys_round_trip_and_list_by_prefix(
    backend: Backend, key: str, other: str
) -> None:
    async with backend.key_value() as store:
        await store.put(key, key.encode())
        if other != key:
            await store.put(other, other.encode())

        assert (await store.get(key)).body == key.encode()
        assert key in await keys(store, key)
        assert key in await keys(store, key[: len(key) // 2])
        listed = await keys(store, key)
        assert listed == sorted({key} | ({other} if other.startswith(key) else set()))
