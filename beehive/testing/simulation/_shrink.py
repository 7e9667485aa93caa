"""Shrinking a failing run's faults: the fewest that still break the same invariant.

Delta debugging (Zeller's ddmin): try halves, then quarters... of the faults, alone and
without each part, keeping any smaller set that still fails, until no single fault can go.
Each try is a replay of the same seed that injects only the faults tried; since every other
decision depends on the seed and on where it is taken, the rest of the run stays as it was as
far as it can.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

__all__ = ["ddmin"]

T = TypeVar("T")


def ddmin(items: Sequence[T], fails: Callable[[list[T]], bool], budget: int) -> list[T]:
    """A 1-minimal sub-list of ``items`` for which ``fails`` holds (``fails(items)`` is
    assumed), or the smallest found within ``budget`` calls of ``fails``."""
    tries = 0

    def check(candidate: list[T]) -> bool:
        nonlocal tries
        tries += 1
        return fails(candidate)

    current = list(items)
    if not current or check([]):
        return []
    parts = 2
    while len(current) > 1 and tries < budget:
        size = -(-len(current) // parts)
        chunks = [current[i : i + size] for i in range(0, len(current), size)]
        smaller = next((c for c in chunks if tries < budget and check(c)), None)
        if smaller is not None:
            current, parts = smaller, 2
            continue
        if len(chunks) > 2 or parts > 2:
            rest = ([item for item in current if item not in chunk] for chunk in chunks)
            complement = next((r for r in rest if tries < budget and check(r)), None)
            if complement is not None:
                current, parts = complement, max(parts - 1, 2)
                continue
        if parts >= len(current):
            break
        parts = min(len(current), parts * 2)
    return current
