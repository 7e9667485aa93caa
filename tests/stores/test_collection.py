"""The CollectionStore contract, run against every backend."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime

import pytest
from hypothesis import given
from pydantic import BaseModel

from beehive.stores import (
    BeeHiveError,
    CollectionStore,
    ConcurrencyConflictError,
    KeyAlreadyExistsError,
    NotFoundError,
)
from tests.stores.conftest import PROPERTIES, Backend
from tests.stores.entities import (
    INVALID_NAMES,
    FrozenParkedItem,
    Order,
    ParkedItem,
    Tally,
    assert_names_versions,
    names,
)


@pytest.fixture
async def orders(backend: Backend) -> AsyncIterator[CollectionStore[Order]]:
    async with backend.collection(Order) as store:
        yield store


@pytest.fixture
async def parked(backend: Backend) -> AsyncIterator[CollectionStore[ParkedItem]]:
    async with backend.collection(ParkedItem) as store:
        yield store


async def collect(store: CollectionStore[Order]) -> dict[str, Order]:
    return {order.id: order async for order in store.list()}


# --- identity and plain entities ------------------------------------------------------------


async def test_collection_is_named_after_the_entity_type(orders: CollectionStore[Order]) -> None:
    assert orders.name == "Order"
    assert orders.entity_type is Order
    assert not orders.concurrency_aware


async def test_insert_then_get_returns_an_equal_entity(orders: CollectionStore[Order]) -> None:
    order = Order(id="o-1", customer_id="c-7", total=12.5, lines=["p-1", "p-2"])

    await orders.insert(order)

    assert await orders.get("o-1") == order
    assert await orders.exists("o-1")


async def test_get_of_a_missing_id_raises_not_found(orders: CollectionStore[Order]) -> None:
    with pytest.raises(NotFoundError, match="o-404"):
        await orders.get("o-404")
    assert not await orders.exists("o-404")


async def test_insert_of_an_existing_id_raises_and_keeps_the_first(
    orders: CollectionStore[Order],
) -> None:
    await orders.insert(Order(id="o-1", total=1))

    with pytest.raises(KeyAlreadyExistsError, match="o-1"):
        await orders.insert(Order(id="o-1", total=2))

    assert (await orders.get("o-1")).total == 1


async def test_upsert_inserts_then_replaces(orders: CollectionStore[Order]) -> None:
    inserted = await orders.upsert(Order(id="o-1", total=1))
    replaced = await orders.upsert(Order(id="o-1", total=2))

    assert (inserted, replaced) == (Order(id="o-1", total=1), Order(id="o-1", total=2))
    assert await orders.get("o-1") == replaced


async def test_update_replaces_an_existing_entity(orders: CollectionStore[Order]) -> None:
    await orders.insert(Order(id="o-1", total=1))

    returned = await orders.update(Order(id="o-1", total=3))

    assert returned == Order(id="o-1", total=3)
    assert (await orders.get("o-1")).total == 3


async def test_update_of_a_missing_entity_raises_not_found(
    orders: CollectionStore[Order],
) -> None:
    with pytest.raises(NotFoundError):
        await orders.update(Order(id="o-1"))
    assert not await orders.exists("o-1")


async def test_delete_by_id_or_entity(orders: CollectionStore[Order]) -> None:
    await orders.insert(Order(id="o-1"))
    await orders.insert(Order(id="o-2"))

    await orders.delete("o-1")
    await orders.delete(Order(id="o-2"))

    assert not await orders.exists("o-1")
    assert not await orders.exists("o-2")


async def test_delete_of_a_missing_id_is_a_no_op(orders: CollectionStore[Order]) -> None:
    await orders.delete("o-404")  # a retried actor must not fail on its own earlier delete
    assert not await orders.exists("o-404")


async def test_mutating_a_returned_entity_does_not_change_the_store(
    orders: CollectionStore[Order],
) -> None:
    given_order = Order(id="o-1", lines=["p-1"])
    inserted = await orders.insert(given_order)

    given_order.lines.append("given")
    inserted.lines.append("inserted")
    (await orders.get("o-1")).lines.append("got")

    assert (await orders.get("o-1")).lines == ["p-1"]


async def test_list_iterates_every_entity_lazily(orders: CollectionStore[Order]) -> None:
    for number in range(250):
        await orders.insert(Order(id=f"o-{number}", total=number))

    listing = orders.list()

    assert isinstance(listing, AsyncIterator)
    everything = await collect(orders)
    assert len(everything) == 250
    assert everything["o-249"].total == 249


async def test_list_of_an_empty_collection_yields_nothing(orders: CollectionStore[Order]) -> None:
    assert await collect(orders) == {}


async def test_list_survives_writes_while_iterating(orders: CollectionStore[Order]) -> None:
    for number in range(10):
        await orders.insert(Order(id=f"o-{number}"))

    seen = []
    async for order in orders.list():
        seen.append(order.id)
        await orders.upsert(Order(id=f"new-{order.id}"))

    assert {f"o-{number}" for number in range(10)} <= set(seen)


async def test_query_filters_by_field_equality_and_predicate(
    orders: CollectionStore[Order],
) -> None:
    await orders.insert(Order(id="o-1", customer_id="c-1", total=5))
    await orders.insert(Order(id="o-2", customer_id="c-1", total=50))
    await orders.insert(Order(id="o-3", customer_id="c-2", total=50))

    by_customer = [order.id async for order in orders.query(customer_id="c-1")]
    large = [order.id async for order in orders.query(lambda order: order.total > 10)]
    both = [order.id async for order in orders.query(lambda o: o.total > 10, customer_id="c-1")]

    assert sorted(by_customer) == ["o-1", "o-2"]
    assert sorted(large) == ["o-2", "o-3"]
    assert both == ["o-2"]


async def test_query_on_an_unknown_field_raises(orders: CollectionStore[Order]) -> None:
    with pytest.raises(ValueError, match="colour"):
        orders.query(colour="red")


# --- concurrency-aware entities -------------------------------------------------------------


async def test_writes_fill_etag_and_last_modified(parked: CollectionStore[ParkedItem]) -> None:
    assert parked.concurrency_aware

    inserted = await parked.insert(ParkedItem(id="i-1"))
    read = await parked.get("i-1")
    updated = await parked.update(read.model_copy(update={"ready": True}))

    assert inserted.etag
    assert isinstance(inserted.last_modified, datetime)
    assert read.etag == inserted.etag
    assert read.last_modified == inserted.last_modified
    assert updated.etag
    assert updated.etag != inserted.etag
    assert updated.last_modified is not None
    assert updated.last_modified >= inserted.last_modified
    assert (await parked.get("i-1")).etag == updated.etag


async def test_two_readers_one_writer_wins(parked: CollectionStore[ParkedItem]) -> None:
    await parked.insert(ParkedItem(id="i-1"))
    first, second = await parked.get("i-1"), await parked.get("i-1")

    first.ready = True
    winner = await parked.update(first)
    second.product_id = "p-2"
    with pytest.raises(ConcurrencyConflictError) as conflict:
        await parked.update(second)

    message = str(conflict.value)
    assert "i-1" in message
    assert parked.name in message
    assert str(second.etag) in message
    assert str(winner.etag) in message
    stored = await parked.get("i-1")
    assert stored.ready
    assert stored.product_id == "p-1"


async def test_the_loser_rereads_and_retries(parked: CollectionStore[ParkedItem]) -> None:
    await parked.insert(ParkedItem(id="i-1"))
    stale = await parked.get("i-1")
    await parked.update(await parked.get("i-1"))

    with pytest.raises(ConcurrencyConflictError):
        await parked.update(stale)
    fresh = await parked.get("i-1")
    fresh.ready = True
    await parked.update(fresh)

    assert (await parked.get("i-1")).ready


async def test_concurrent_updates_of_one_version_let_exactly_one_win(
    parked: CollectionStore[ParkedItem],
) -> None:
    await parked.insert(ParkedItem(id="i-1"))
    readers = [await parked.get("i-1") for _ in range(10)]

    results = await asyncio.gather(
        *(parked.update(reader) for reader in readers), return_exceptions=True
    )

    assert sum(isinstance(result, ParkedItem) for result in results) == 1
    assert sum(isinstance(result, ConcurrencyConflictError) for result in results) == 9


async def test_update_without_etag_is_unconditional(parked: CollectionStore[ParkedItem]) -> None:
    await parked.insert(ParkedItem(id="i-1"))
    await parked.update(await parked.get("i-1"))

    await parked.update(ParkedItem(id="i-1", ready=True))

    assert (await parked.get("i-1")).ready


async def test_a_conflict_names_the_entity_its_collection_and_both_versions(
    parked: CollectionStore[ParkedItem],
) -> None:
    stale = await parked.insert(ParkedItem(id="i-1"))
    current = await parked.update(stale)

    for write in (parked.update, parked.delete):
        with pytest.raises(ConcurrencyConflictError) as conflict:
            await write(stale)
        message = str(conflict.value)
        assert message.startswith(f"ParkedItem 'i-1' in collection {parked.name!r}")
        assert_names_versions(message, current.etag, stale.etag)
    with pytest.raises(NotFoundError, match=f"no ParkedItem 'i-2' in collection {parked.name!r}"):
        await parked.get("i-2")


async def test_delete_of_a_stale_entity_raises_and_keeps_it(
    parked: CollectionStore[ParkedItem],
) -> None:
    stale = await parked.insert(ParkedItem(id="i-1"))
    await parked.update(stale)

    with pytest.raises(ConcurrencyConflictError):
        await parked.delete(stale)

    assert await parked.exists("i-1")
    await parked.delete(await parked.get("i-1"))
    assert not await parked.exists("i-1")


async def test_delete_of_an_entity_deleted_meanwhile_is_a_no_op(
    parked: CollectionStore[ParkedItem],
) -> None:
    read = await parked.insert(ParkedItem(id="i-1"))
    await parked.delete("i-1")

    await parked.delete(read)  # what it asked for is done: the entity is gone

    assert not await parked.exists("i-1")


async def test_delete_of_an_entity_replaced_meanwhile_raises(
    parked: CollectionStore[ParkedItem],
) -> None:
    read = await parked.insert(ParkedItem(id="i-1"))
    await parked.delete("i-1")
    await parked.insert(ParkedItem(id="i-1", product_id="p-2"))

    with pytest.raises(ConcurrencyConflictError):
        await parked.delete(read)

    assert (await parked.get("i-1")).product_id == "p-2"


async def test_upsert_ignores_the_etag(parked: CollectionStore[ParkedItem]) -> None:
    stale = await parked.insert(ParkedItem(id="i-1"))
    await parked.update(stale)

    await parked.upsert(stale.model_copy(update={"ready": True}))

    assert (await parked.get("i-1")).ready


async def test_upsert_returns_the_stored_entity_with_its_new_version(
    parked: CollectionStore[ParkedItem],
) -> None:
    inserted = await parked.upsert(ParkedItem(id="i-1"))
    replaced = await parked.upsert(inserted.model_copy(update={"ready": True}))

    assert inserted.etag
    assert inserted.last_modified is not None
    assert replaced.ready
    assert replaced.etag
    assert replaced.etag != inserted.etag
    assert await parked.get("i-1") == replaced, "what upsert returned is what is stored"
    with pytest.raises(ConcurrencyConflictError):
        await parked.update(inserted)  # the version it replaced is stale
    await parked.update(replaced)  # the version it returned is current


async def test_frozen_entities_get_their_version_too(backend: Backend) -> None:
    async with backend.collection(FrozenParkedItem) as store:
        inserted = await store.insert(FrozenParkedItem(id="i-1"))
        updated = await store.update(inserted)

        assert inserted.etag
        assert updated.etag
        assert inserted.etag != updated.etag
        with pytest.raises(ConcurrencyConflictError):
            await store.update(inserted)


# --- names and bad input --------------------------------------------------------------------


@pytest.mark.parametrize("bad", INVALID_NAMES)
async def test_invalid_ids_are_refused_with_the_rule(
    orders: CollectionStore[Order], bad: str
) -> None:
    with pytest.raises(ValueError, match="1 to 255 characters"):
        await orders.get(bad)
    with pytest.raises(ValueError, match="1 to 255 characters"):
        await orders.insert(Order(id=bad))
    with pytest.raises(ValueError, match="1 to 255 characters"):
        await orders.delete(bad)


async def test_an_entity_of_another_type_is_refused(orders: CollectionStore[Order]) -> None:
    with pytest.raises(TypeError, match="expected a Order"):
        await orders.insert(ParkedItem(id="i-1"))  # type: ignore[arg-type]


async def test_a_model_without_id_cannot_have_a_store(backend: Backend) -> None:
    class Nameless(BaseModel):
        name: str

    with pytest.raises(TypeError, match="no 'id' field"):
        async with backend.collection(Nameless):
            pass


def test_store_errors_share_one_base() -> None:
    for error in (NotFoundError, KeyAlreadyExistsError, ConcurrencyConflictError):
        assert issubclass(error, BeeHiveError)


@PROPERTIES
@given(first=names, second=names)
async def test_any_legal_ids_round_trip_without_colliding(
    backend: Backend, first: str, second: str
) -> None:
    async with backend.collection(Order) as store:
        await store.insert(Order(id=first, customer_id="first"))
        if second != first:
            await store.insert(Order(id=second, customer_id="second"))

        assert (await store.get(first)).customer_id == "first"
        assert await store.exists(first)
        assert first in await collect(store)
        if second != first:
            assert (await store.get(second)).customer_id == "second"
        await store.delete(first)
        assert not await store.exists(first)
        assert await store.exists(second) == (second != first)


@PROPERTIES
@given(name=names)
async def test_any_legal_collection_name_works(backend: Backend, name: str) -> None:
    async with backend.collection(Order, name=name) as store:
        await store.insert(Order(id="o-1"))
        assert store.name == name
        assert await store.get("o-1") == Order(id="o-1")


# --- modify: read, change, write back under ETag concurrency -------------------------------


def make_ready(item: ParkedItem) -> ParkedItem:
    return item.model_copy(update={"ready": True})


async def test_modify_writes_the_change_and_returns_the_stored_entity(
    parked: CollectionStore[ParkedItem],
) -> None:
    inserted = await parked.insert(ParkedItem(id="i-1"))

    stored = await parked.modify("i-1", make_ready)

    assert stored.ready
    assert stored.etag != inserted.etag
    assert await parked.get("i-1") == stored


async def test_modify_takes_an_async_change(parked: CollectionStore[ParkedItem]) -> None:
    await parked.insert(ParkedItem(id="i-1"))

    async def change(item: ParkedItem) -> ParkedItem:
        await asyncio.sleep(0)
        return item.model_copy(update={"product_id": "p-2"})

    assert (await parked.modify("i-1", change)).product_id == "p-2"
    assert (await parked.get("i-1")).product_id == "p-2"


async def test_modify_reapplies_the_change_to_what_another_writer_stored(
    parked: CollectionStore[ParkedItem],
) -> None:
    await parked.insert(ParkedItem(id="i-1"))
    seen: list[ParkedItem] = []

    async def change(item: ParkedItem) -> ParkedItem:
        seen.append(item)
        if len(seen) == 1:  # another writer gets in between our read and our write
            await parked.update(item.model_copy(update={"product_id": "p-2"}))
        return item.model_copy(update={"ready": True})

    stored = await parked.modify("i-1", change)

    assert [item.product_id for item in seen] == ["p-1", "p-2"]
    assert stored.ready
    assert stored.product_id == "p-2"  # the other writer's change is kept, not overwritten
    assert await parked.get("i-1") == stored


async def test_concurrent_modifies_all_apply(backend: Backend) -> None:
    async with backend.collection(Tally) as tallies:
        await tallies.insert(Tally(id="t-1"))

        def add_one(tally: Tally) -> Tally:
            return tally.model_copy(update={"count": tally.count + 1})

        await asyncio.gather(*(tallies.modify("t-1", add_one) for _ in range(10)))

        assert (await tallies.get("t-1")).count == 10


async def test_modify_returning_the_same_entity_writes_nothing(
    parked: CollectionStore[ParkedItem],
) -> None:
    inserted = await parked.insert(ParkedItem(id="i-1"))

    stored = await parked.modify("i-1", lambda item: item)

    assert stored == inserted
    assert (await parked.get("i-1")).etag == inserted.etag


async def test_modify_of_a_missing_entity_raises_or_starts_from_the_default(
    parked: CollectionStore[ParkedItem],
) -> None:
    with pytest.raises(NotFoundError, match="i-1"):
        await parked.modify("i-1", make_ready)

    stored = await parked.modify("i-1", make_ready, default=lambda: ParkedItem(id="i-1"))

    assert stored.ready
    assert stored.etag
    assert await parked.get("i-1") == stored


async def test_modify_with_a_default_loses_an_insert_race_and_changes_the_winner(
    parked: CollectionStore[ParkedItem],
) -> None:
    async def change(item: ParkedItem) -> ParkedItem:
        if not await parked.exists("i-1"):  # another writer inserts first
            await parked.insert(ParkedItem(id="i-1", product_id="p-2"))
        return make_ready(item)

    stored = await parked.modify("i-1", change, default=lambda: ParkedItem(id="i-1"))

    assert stored.ready
    assert stored.product_id == "p-2"


async def test_modify_gives_up_after_its_attempts_with_a_clear_error(
    parked: CollectionStore[ParkedItem],
) -> None:
    await parked.insert(ParkedItem(id="i-1"))
    runs = 0

    async def always_overtaken(item: ParkedItem) -> ParkedItem:
        nonlocal runs
        runs += 1
        await parked.update(item)  # someone else writes every time
        return make_ready(item)

    with pytest.raises(ConcurrencyConflictError, match=r"'i-1'.*3 attempts"):
        await parked.modify("i-1", always_overtaken, attempts=3)

    assert runs == 3
    assert not (await parked.get("i-1")).ready


async def test_modify_refuses_what_it_cannot_do_safely(
    orders: CollectionStore[Order], parked: CollectionStore[ParkedItem]
) -> None:
    await parked.insert(ParkedItem(id="i-1"))

    with pytest.raises(TypeError, match="concurrency-aware"):
        await orders.modify("o-1", lambda order: order)
    with pytest.raises(ValueError, match="keep the id"):
        await parked.modify("i-1", lambda item: item.model_copy(update={"id": "i-2"}))
    with pytest.raises(ValueError, match="attempts"):
        await parked.modify("i-1", make_ready, attempts=0)
    assert not await parked.exists("i-2")
