"""The CounterStore contract, run against every backend."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from hypothesis import given
from hypothesis import strategies as st

from beehive.stores import BeeHiveError, CounterStore, CounterUnderflowError
from tests.stores.conftest import PROPERTIES, Backend
from tests.stores.entities import INVALID_NAMES, names

STOCK = "stock"


@pytest.fixture
async def counters(backend: Backend) -> AsyncIterator[CounterStore]:
    async with backend.counter() as store:
        yield store


async def test_a_counter_never_set_is_zero(counters: CounterStore) -> None:
    assert await counters.get(STOCK, "p-1") == 0


async def test_increment_returns_the_new_value(counters: CounterStore) -> None:
    assert await counters.increment(STOCK, "p-1") == 1
    assert await counters.increment(STOCK, "p-1", 10) == 11
    assert await counters.increment(STOCK, "p-1", -4) == 7
    assert await counters.decrement(STOCK, "p-1", 2) == 5
    assert await counters.decrement(STOCK, "p-1") == 4
    assert await counters.get(STOCK, "p-1") == 4


async def test_counters_are_separate_by_name_and_id(counters: CounterStore) -> None:
    await counters.increment(STOCK, "p-1", 5)
    await counters.increment(STOCK, "p-2", 7)
    await counters.increment("sold", "p-1", 9)

    assert await counters.get(STOCK, "p-1") == 5
    assert await counters.get(STOCK, "p-2") == 7
    assert await counters.get("sold", "p-1") == 9


async def test_counters_may_go_negative_by_default(counters: CounterStore) -> None:
    assert await counters.decrement(STOCK, "p-1", 3) == -3


async def test_the_guard_refuses_to_go_below_zero_and_keeps_the_value(
    counters: CounterStore,
) -> None:
    await counters.increment(STOCK, "p-1", 2)

    with pytest.raises(CounterUnderflowError) as underflow:
        await counters.decrement(STOCK, "p-1", 3, allow_negative=False)
    with pytest.raises(CounterUnderflowError):
        await counters.increment(STOCK, "p-1", -3, allow_negative=False)

    assert await counters.get(STOCK, "p-1") == 2
    assert isinstance(underflow.value, BeeHiveError)
    assert underflow.value.value == 2
    assert underflow.value.by == -3
    assert (underflow.value.counter_name, underflow.value.id) == (STOCK, "p-1")
    assert str(underflow.value) == (
        "counter 'stock' of 'p-1' is 2; adding -3 would make it -1, below zero, "
        "so it was left unchanged"
    )


async def test_the_guard_allows_reaching_exactly_zero(counters: CounterStore) -> None:
    await counters.increment(STOCK, "p-1", 2)

    assert await counters.decrement(STOCK, "p-1", 2, allow_negative=False) == 0


async def test_200_concurrent_increments_lose_nothing(counters: CounterStore) -> None:
    results = await asyncio.gather(*(counters.increment(STOCK, "p-1") for _ in range(200)))

    assert await counters.get(STOCK, "p-1") == 200
    assert sorted(results) == list(range(1, 201))  # each saw its own new value


async def test_concurrent_mixed_increments_end_at_the_sum(counters: CounterStore) -> None:
    amounts = [7, -3, 12, -5, 1] * 40

    await asyncio.gather(*(counters.increment(STOCK, "p-1", by) for by in amounts))

    assert await counters.get(STOCK, "p-1") == sum(amounts)


async def test_concurrent_guarded_decrements_never_oversell(counters: CounterStore) -> None:
    await counters.increment(STOCK, "p-1", 50)

    results = await asyncio.gather(
        *(counters.decrement(STOCK, "p-1", allow_negative=False) for _ in range(80)),
        return_exceptions=True,
    )

    assert sum(isinstance(result, int) for result in results) == 50
    assert sum(isinstance(result, CounterUnderflowError) for result in results) == 30
    assert await counters.get(STOCK, "p-1") == 0


@pytest.mark.parametrize("by", [1.5, "1", True])
async def test_a_non_integer_amount_is_refused(counters: CounterStore, by: object) -> None:
    with pytest.raises(TypeError, match="int"):
        await counters.increment(STOCK, "p-1", by)  # type: ignore[arg-type]
    assert await counters.get(STOCK, "p-1") == 0


@pytest.mark.parametrize("bad", INVALID_NAMES)
async def test_invalid_names_are_refused_with_the_rule(counters: CounterStore, bad: str) -> None:
    with pytest.raises(ValueError, match="1 to 255 characters"):
        await counters.increment(bad, "p-1")
    with pytest.raises(ValueError, match="1 to 255 characters"):
        await counters.get(STOCK, bad)


@PROPERTIES
@given(counter_name=names, first=names, second=names, by=st.integers(-(2**40), 2**40))
async def test_any_legal_names_count_without_colliding(
    backend: Backend, counter_name: str, first: str, second: str, by: int
) -> None:
    async with backend.counter() as store:
        await store.increment(counter_name, first, by)
        if second != first:
            await store.increment(counter_name, second, 1)

        assert await store.get(counter_name, first) == by
        if second != first:
            assert await store.get(counter_name, second) == 1
