"""Delta debugging: the fewest items that still fail, within a budget of tries."""

from __future__ import annotations

from beehive.testing.simulation._shrink import ddmin


def test_it_finds_the_pair_that_fails_among_many() -> None:
    tries: list[list[int]] = []

    def fails(items: list[int]) -> bool:
        tries.append(items)
        return 3 in items and 17 in items

    assert ddmin(list(range(20)), fails, budget=200) == [3, 17]
    assert len(tries) < 60


def test_nothing_at_all_when_nothing_is_needed() -> None:
    assert ddmin([1, 2, 3], lambda items: True, budget=10) == []


def test_one_item_that_is_needed_stays() -> None:
    assert ddmin([5], lambda items: 5 in items, budget=10) == [5]


def test_it_stops_at_the_budget_with_what_it_has() -> None:
    calls = 0

    def fails(items: list[int]) -> bool:
        nonlocal calls
        calls += 1
        return len(items) >= 3

    kept = ddmin(list(range(64)), fails, budget=5)
    assert calls == 5
    assert 3 <= len(kept) < 64
