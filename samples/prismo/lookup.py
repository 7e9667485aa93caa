"""Reading an entity that may not be there yet."""

from __future__ import annotations

from typing import TypeVar

from pydantic import BaseModel

from beehive.stores import CollectionStore, NotFoundError

T = TypeVar("T", bound=BaseModel)


async def find(store: CollectionStore[T], id: str) -> T | None:
    """The entity with this id, or None."""
    try:
        return await store.get(id)
    except NotFoundError:
        return None
