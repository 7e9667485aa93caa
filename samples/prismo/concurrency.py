"""Optimistic concurrency over a collection: read, edit, write back if nobody else did."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from pydantic import BaseModel

from beehive.stores import (
    CollectionStore,
    ConcurrencyConflictError,
    KeyAlreadyExistsError,
    NotFoundError,
)

T = TypeVar("T", bound=BaseModel)


@dataclass(frozen=True, slots=True)
class Change(Generic[T]):
    """The outcome of :func:`modify`: the entity before and after, and whether it was written."""

    before: T | None
    after: T
    written: bool


async def find(store: CollectionStore[T], id: str) -> T | None:
    """The entity with this id, or None."""
    try:
        return await store.get(id)
    except NotFoundError:
        return None


async def modify(
    store: CollectionStore[T],
    id: str,
    edit: Callable[[T], T],
    *,
    default: Callable[[], T] | None = None,
    current: T | None = None,
) -> Change[T]:
    """Apply ``edit`` to the stored entity under ETag concurrency, retrying on conflict.

    ``edit`` is pure: given the current entity it returns the new one, or the same object to
    leave it alone (then nothing is written). A missing entity starts from ``default()`` and is
    inserted; without ``default`` it raises ``NotFoundError``. When another writer got there
    first, the entity is read again and ``edit`` runs on the newer version: the decision is
    always made on what is actually stored. ``current``, when the caller has just read the
    entity, saves reading it again (a stale one only costs a retry).
    """
    while True:
        if current is None:
            current = await find(store, id)
        if current is not None:
            base = current
        elif default is not None:
            base = default()
        else:
            raise NotFoundError(f"no {store.entity_type.__name__} {id!r} to modify")
        edited = edit(base)
        if edited is base and current is not None:
            return Change(current, current, written=False)
        try:
            if current is None:
                stored = await store.insert(edited)
            else:
                stored = await store.update(edited)
        except (ConcurrencyConflictError, KeyAlreadyExistsError):
            current = None
            continue
        return Change(current, stored, written=True)
