"""State stores: BeeHive's four seminal data structures and locks, and their errors.

The contracts live in :mod:`beehive.stores.base`, the in-memory backend in
:mod:`beehive.stores.memory`. Names (ids, keys, list and counter names, lock resources) follow
one rule for every backend: any ``str`` of 1 to 255 characters except lone surrogates;
backends that cannot store some characters escape them transparently.
"""

from __future__ import annotations

from beehive.errors import (
    BeeHiveError,
    ConcurrencyConflictError,
    CounterUnderflowError,
    KeyAlreadyExistsError,
    LockLostError,
    LockNotAcquiredError,
    NotFoundError,
    ValueTooLargeError,
)
from beehive.stores._entities import is_concurrency_aware
from beehive.stores._names import MAX_NAME_LENGTH
from beehive.stores.base import (
    Blob,
    CollectionStore,
    CounterStore,
    KeyedListStore,
    KeyValueStore,
    Lock,
    LockStore,
)
from beehive.stores.memory import (
    InMemoryCollectionStore,
    InMemoryCounterStore,
    InMemoryKeyedListStore,
    InMemoryKeyValueStore,
    InMemoryLockStore,
)

__all__ = [
    # contracts
    "CollectionStore",
    "CounterStore",
    "KeyValueStore",
    "KeyedListStore",
    "LockStore",
    # values
    "Blob",
    "Lock",
    "MAX_NAME_LENGTH",
    "is_concurrency_aware",
    # in memory
    "InMemoryCollectionStore",
    "InMemoryCounterStore",
    "InMemoryKeyValueStore",
    "InMemoryKeyedListStore",
    "InMemoryLockStore",
    # errors
    "BeeHiveError",
    "ConcurrencyConflictError",
    "CounterUnderflowError",
    "KeyAlreadyExistsError",
    "LockLostError",
    "LockNotAcquiredError",
    "NotFoundError",
    "ValueTooLargeError",
]
