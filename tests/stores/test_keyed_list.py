"""The KeyedListStore contract, run against every backend."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from hypothesis import given

from beehive.stores import (
    ConcurrencyConflictError,
    KeyAlreadyExistsError,
    KeyedListStore,
    NotFoundError,
)
from tests.stores.conftest import PROPERTIES, Backend
from tests.stores.entities import (
    INVALID_NAMES,
    Counted,
    Order,
    ParkedItem,
    assert_names_versions,
    names,
)

PARKED = "ProductQueuedForOrder"


@pytest.fixture
async def lists(backend: Backend) -> AsyncIterator[KeyedListStore[ParkedItem]]:
    async with backend.keyed_list(ParkedItem) as store:
        yield store


async def ids(store: KeyedListStore[ParkedItem], list_name: str, key: str) -> set[str]:
    return {item.id async for item in store.get(list_name, key)}


async def test_add_then_read_one_item_or_all(lists: KeyedListStore[ParkedItem]) -> None:
    await lists.add(PARKED, "order-1", ParkedItem(id="p-1", product_id="p-1"))
    await lists.add(PARKED, "order-1", ParkedItem(id="p-2", product_id="p-2"))

    item = await lists.get_item(PARKED, "order-1", "p-2")
    everything = await lists.get_all(PARKED, "order-1")

    assert item.product_id == "p-2"
    assert sorted(item.id for item in everything) == ["p-1", "p-2"]
    assert await ids(lists, PARKED, "order-1") == {"p-1", "p-2"}


async def test_keys_and_lists_are_separate(lists: KeyedListStore[ParkedItem]) -> None:
    await lists.add(PARKED, "order-1", ParkedItem(id="p-1"))
    await lists.add(PARKED, "order-2", ParkedItem(id="p-1"))
    await lists.add("Other", "order-1", ParkedItem(id="p-9"))

    assert await ids(lists, PARKED, "order-1") == {"p-1"}
    assert await ids(lists, PARKED, "order-2") == {"p-1"}
    assert await ids(lists, "Other", "order-1") == {"p-9"}


async def test_a_missing_key_reads_as_empty(lists: KeyedListStore[ParkedItem]) -> None:
    assert await lists.get_all(PARKED, "nobody") == []
    assert not await lists.exists(PARKED, "nobody")
    assert not await lists.list_exists(PARKED)


async def test_get_item_of_a_missing_item_raises_not_found(
    lists: KeyedListStore[ParkedItem],
) -> None:
    await lists.add(PARKED, "order-1", ParkedItem(id="p-1"))

    with pytest.raises(NotFoundError, match="p-404"):
        await lists.get_item(PARKED, "order-1", "p-404")
    with pytest.raises(NotFoundError):
        await lists.get_item(PARKED, "order-404", "p-1")


async def test_add_of_an_existing_item_id_raises(lists: KeyedListStore[ParkedItem]) -> None:
    await lists.add(PARKED, "order-1", ParkedItem(id="p-1", product_id="first"))

    with pytest.raises(KeyAlreadyExistsError, match="p-1"):
        await lists.add(PARKED, "order-1", ParkedItem(id="p-1", product_id="second"))

    assert (await lists.get_item(PARKED, "order-1", "p-1")).product_id == "first"


async def test_existence_of_lists_keys_and_items(lists: KeyedListStore[ParkedItem]) -> None:
    await lists.add(PARKED, "order-1", ParkedItem(id="p-1"))

    assert await lists.list_exists(PARKED)
    assert await lists.exists(PARKED, "order-1")
    assert await lists.item_exists(PARKED, "order-1", "p-1")
    assert not await lists.item_exists(PARKED, "order-1", "p-2")
    assert not await lists.item_exists(PARKED, "order-2", "p-1")
    assert not await lists.list_exists("Other")


async def test_update_replaces_an_item_and_fills_its_version(
    lists: KeyedListStore[ParkedItem],
) -> None:
    added = await lists.add(PARKED, "order-1", ParkedItem(id="p-1"))

    added.ready = True
    updated = await lists.update(PARKED, "order-1", added)

    assert added.etag
    assert updated.etag
    assert updated.etag != added.etag
    stored = await lists.get_item(PARKED, "order-1", "p-1")
    assert stored.ready
    assert stored.etag == updated.etag
    assert stored.last_modified == updated.last_modified


async def test_update_of_a_missing_item_raises_not_found(
    lists: KeyedListStore[ParkedItem],
) -> None:
    with pytest.raises(NotFoundError):
        await lists.update(PARKED, "order-1", ParkedItem(id="p-1"))
    assert not await lists.exists(PARKED, "order-1")


async def test_two_readers_one_writer_wins(lists: KeyedListStore[ParkedItem]) -> None:
    await lists.add(PARKED, "order-1", ParkedItem(id="p-1"))
    first = await lists.get_item(PARKED, "order-1", "p-1")
    second = await lists.get_item(PARKED, "order-1", "p-1")

    first.ready = True
    await lists.update(PARKED, "order-1", first)
    second.product_id = "p-2"
    with pytest.raises(ConcurrencyConflictError, match="p-1"):
        await lists.update(PARKED, "order-1", second)

    stored = await lists.get_item(PARKED, "order-1", "p-1")
    assert stored.ready
    assert stored.product_id == "p-1"


async def test_remove_item_by_id_or_item(lists: KeyedListStore[ParkedItem]) -> None:
    await lists.add(PARKED, "order-1", ParkedItem(id="p-1"))
    second = await lists.add(PARKED, "order-1", ParkedItem(id="p-2"))
    await lists.add(PARKED, "order-1", ParkedItem(id="p-3"))

    await lists.remove_item(PARKED, "order-1", "p-1")
    await lists.remove_item(PARKED, "order-1", second)
    await lists.remove_item(PARKED, "order-1", "p-404")  # missing: a no-op

    assert await ids(lists, PARKED, "order-1") == {"p-3"}


async def test_remove_of_a_stale_item_raises_and_keeps_it(
    lists: KeyedListStore[ParkedItem],
) -> None:
    stale = await lists.add(PARKED, "order-1", ParkedItem(id="p-1"))
    await lists.update(PARKED, "order-1", stale)

    with pytest.raises(ConcurrencyConflictError):
        await lists.remove_item(PARKED, "order-1", stale)

    assert await lists.item_exists(PARKED, "order-1", "p-1")


async def test_a_conflict_names_the_item_its_list_its_key_and_both_versions(
    lists: KeyedListStore[ParkedItem],
) -> None:
    stale = await lists.add(PARKED, "order-1", ParkedItem(id="p-1"))
    current = await lists.update(PARKED, "order-1", stale)

    for write in (lists.update, lists.remove_item):
        with pytest.raises(ConcurrencyConflictError) as conflict:
            await write(PARKED, "order-1", stale)
        message = str(conflict.value)
        assert message.startswith(f"ParkedItem 'p-1' in list {PARKED!r} under key 'order-1'")
        assert_names_versions(message, current.etag, stale.etag)
    with pytest.raises(
        NotFoundError, match=f"no ParkedItem 'p-2' in list {PARKED!r} under key 'order-1'"
    ):
        await lists.get_item(PARKED, "order-1", "p-2")


async def test_remove_of_an_item_removed_meanwhile_is_a_no_op(
    lists: KeyedListStore[ParkedItem],
) -> None:
    read = await lists.add(PARKED, "order-1", ParkedItem(id="p-1"))
    await lists.remove_item(PARKED, "order-1", "p-1")

    await lists.remove_item(PARKED, "order-1", read)

    assert not await lists.item_exists(PARKED, "order-1", "p-1")


async def test_removing_from_a_key_or_a_list_that_never_was_is_a_no_op(
    lists: KeyedListStore[ParkedItem],
) -> None:
    await lists.add(PARKED, "order-1", ParkedItem(id="p-1"))

    await lists.remove_item(PARKED, "order-404", "p-1")
    await lists.remove_item("NoSuchList", "order-1", "p-1")
    await lists.remove("NoSuchList", "order-1")
    await lists.remove(PARKED, "order-404")

    assert await ids(lists, PARKED, "order-1") == {"p-1"}


async def test_a_key_exists_while_it_has_items(lists: KeyedListStore[ParkedItem]) -> None:
    await lists.add(PARKED, "order-1", ParkedItem(id="p-1"))

    await lists.remove_item(PARKED, "order-1", "p-1")

    assert not await lists.exists(PARKED, "order-1")
    assert await lists.list_exists(PARKED)


async def test_remove_drops_a_whole_key_only(lists: KeyedListStore[ParkedItem]) -> None:
    for number in range(3):
        await lists.add(PARKED, "order-1", ParkedItem(id=f"p-{number}"))
    await lists.add(PARKED, "order-2", ParkedItem(id="p-0"))

    await lists.remove(PARKED, "order-1")
    await lists.remove(PARKED, "order-404")  # missing: a no-op

    assert not await lists.exists(PARKED, "order-1")
    assert await lists.get_all(PARKED, "order-1") == []
    assert await ids(lists, PARKED, "order-2") == {"p-0"}


async def test_items_without_etag_are_last_writer_wins(backend: Backend) -> None:
    async with backend.keyed_list(Order) as store:
        await store.add("Orders", "c-1", Order(id="o-1", total=1))
        first = await store.get_item("Orders", "c-1", "o-1")
        await store.update("Orders", "c-1", Order(id="o-1", total=2))

        await store.update("Orders", "c-1", first)

        assert not store.concurrency_aware
        assert (await store.get_item("Orders", "c-1", "o-1")).total == 1


async def test_mutating_a_returned_item_does_not_change_the_store(backend: Backend) -> None:
    async with backend.keyed_list(Order) as store:
        added = await store.add("Orders", "c-1", Order(id="o-1", lines=["p-1"]))

        added.lines.append("added")
        (await store.get_item("Orders", "c-1", "o-1")).lines.append("got")
        async for item in store.get("Orders", "c-1"):
            item.lines.append("iterated")

        assert (await store.get_item("Orders", "c-1", "o-1")).lines == ["p-1"]


async def test_a_list_of_5000_items_is_read_lazily(backend: Backend) -> None:
    async with backend.keyed_list(Counted) as store:
        for number in range(5000):
            await store.add("Big", "key", Counted(id=f"item-{number:05}"))
        Counted.built = 0

        first_ten = []
        async for item in store.get("Big", "key"):
            first_ten.append(item.id)
            if len(first_ten) == 10:
                break

        # A backend may read a page ahead (Azure pages hold 1,000 entities), never the whole list.
        assert len(set(first_ten)) == 10
        assert Counted.built <= 1000
        everything = {item.id async for item in store.get("Big", "key")}
        assert len(everything) == 5000


async def test_removing_items_while_iterating_is_safe(lists: KeyedListStore[ParkedItem]) -> None:
    for number in range(20):
        await lists.add(PARKED, "order-1", ParkedItem(id=f"p-{number:02}"))

    async for item in lists.get(PARKED, "order-1"):
        await lists.remove_item(PARKED, "order-1", item.id)

    assert not await lists.exists(PARKED, "order-1")


@pytest.mark.parametrize("bad", INVALID_NAMES)
async def test_invalid_names_are_refused_with_the_rule(
    lists: KeyedListStore[ParkedItem], bad: str
) -> None:
    rule = "1 to 255 characters"
    with pytest.raises(ValueError, match=rule):
        await lists.add(bad, "key", ParkedItem(id="p-1"))
    with pytest.raises(ValueError, match=rule):
        await lists.add(PARKED, bad, ParkedItem(id="p-1"))
    with pytest.raises(ValueError, match=rule):
        await lists.add(PARKED, "key", ParkedItem(id=bad))
    with pytest.raises(ValueError, match=rule):
        lists.get(PARKED, bad)
    with pytest.raises(ValueError, match=rule):
        await lists.list_exists(bad)


@PROPERTIES
@given(list_name=names, key=names, item_id=names, other_key=names)
async def test_any_legal_names_round_trip_without_colliding(
    backend: Backend, list_name: str, key: str, item_id: str, other_key: str
) -> None:
    async with backend.keyed_list(ParkedItem) as store:
        await store.add(list_name, key, ParkedItem(id=item_id, product_id="mine"))
        if other_key != key:
            await store.add(list_name, other_key, ParkedItem(id=item_id, product_id="other"))

        assert (await store.get_item(list_name, key, item_id)).product_id == "mine"
        assert [item.id for item in await store.get_all(list_name, key)] == [item_id]
        assert await store.item_exists(list_name, key, item_id)
        assert await store.list_exists(list_name)
        await store.remove(list_name, key)
        assert not await store.exists(list_name, key)
        assert await store.exists(list_name, other_key) == (other_key != key)
