"""The contracts every state store implements: BeeHive's four seminal data structures and locks.

Reactive actors keep no state in memory; it lives in these stores, shared by every replica:

- :class:`CollectionStore` - entities of one type by id, iterable, with ETag concurrency;
- :class:`KeyedListStore` - a large list of entities per key, read and updated piecemeal;
- :class:`CounterStore` - atomic counters (the structure most databases forget);
- :class:`KeyValueStore` - blobs of bytes by key, with metadata, streamed out;
- :class:`LockStore` - named leases that time out, so a dead holder blocks nobody for ever.

The public methods here validate their arguments once, for every backend, and call small
abstract hooks (``_get``, ``_insert``...) that backends implement. Names follow one rule
everywhere (see :mod:`beehive.stores._names`): any ``str`` of 1 to 255 characters except lone
surrogates; backends escape what they cannot store. A missing entity, item or blob raises
:class:`~beehive.errors.NotFoundError`.

Deleting or removing what is missing is a no-op, with or without a version: a delete asks for
the thing to be gone, and gone it is, so a retried actor does not fail on its own earlier
delete, nor two deleters on each other. A delete that names a version (an entity's ``etag``,
``if_match``) raises :class:`~beehive.errors.ConcurrencyConflictError` only when the thing is
there at another version: someone changed it since it was read.
"""

from __future__ import annotations

import asyncio
import builtins
import inspect
import logging
import random
import re
from abc import ABC, abstractmethod
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import MappingProxyType
from typing import Any, Generic

from beehive._clock import monotonic
from beehive.errors import (
    ConcurrencyConflictError,
    KeyAlreadyExistsError,
    LockLostError,
    LockNotAcquiredError,
    NotFoundError,
)
from beehive.stores._entities import Codec, EntityT, check_entity_type
from beehive.stores._names import check_name, check_prefix

logger = logging.getLogger("beehive.stores")

DEFAULT_CONTENT_TYPE = "application/octet-stream"
DEFAULT_MODIFY_ATTEMPTS = 50
_METADATA_KEY = re.compile("[A-Za-z_][A-Za-z0-9_]*")
_METADATA_VALUE = re.compile("[\x20-\x7e]*")


def seconds(value: float | timedelta) -> float:
    """A duration given as seconds or a timedelta, in seconds."""
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


@dataclass(frozen=True, slots=True)
class Blob:
    """A value of a :class:`KeyValueStore`: its bytes and what the store knows about them."""

    key: str
    body: bytes
    content_type: str
    metadata: Mapping[str, str]
    etag: str
    last_modified: datetime

    def __post_init__(self) -> None:
        object.__setattr__(self, "metadata", MappingProxyType(dict(self.metadata)))


@dataclass(frozen=True, slots=True)
class Lock:
    """A held lease on ``resource``; ``token`` tells this holder apart from later ones."""

    resource: str
    token: str
    ttl: float


class CollectionStore(ABC, Generic[EntityT]):
    """Entities of one pydantic type by ``id`` (BeeHive's ``ICollectionStore``).

    One store per entity type; the collection is named after the type unless ``name`` is given.
    Writes return the stored entity: for a concurrency-aware type (with ``etag`` and
    ``last_modified`` fields) it carries the new version, to pass to the next ``update``.
    ``update`` and ``delete`` of an entity with an ``etag`` are conditional on it and raise
    :class:`~beehive.errors.ConcurrencyConflictError` when it is stale; without one (or for
    other types, or for ``upsert``) the last writer wins.
    """

    def __init__(self, entity_type: type[EntityT], *, name: str | None = None) -> None:
        check_entity_type(entity_type)
        self.entity_type = entity_type
        self.name = check_name("collection name", entity_type.__name__ if name is None else name)
        self._codec = Codec(entity_type)

    @property
    def concurrency_aware(self) -> bool:
        """Whether entities carry an ``etag`` and ``last_modified`` that the store fills."""
        return self._codec.concurrency_aware

    async def get(self, id: str) -> EntityT:
        """The entity with this id; ``NotFoundError`` if there is none."""
        return await self._get(check_name("id", id))

    async def exists(self, id: str) -> bool:
        """Whether an entity with this id is stored."""
        return await self._exists(check_name("id", id))

    async def insert(self, entity: EntityT) -> EntityT:
        """Add a new entity; ``KeyAlreadyExistsError`` if its id is taken."""
        return await self._insert(self._checked(entity))

    async def upsert(self, entity: EntityT) -> EntityT:
        """Insert or replace, unconditionally (use ``update`` for a conditional write)."""
        return await self._upsert(self._checked(entity))

    async def update(self, entity: EntityT) -> EntityT:
        """Replace an existing entity; ``NotFoundError`` if missing, conditional on its etag."""
        entity = self._checked(entity)
        return await self._update(entity, self._codec.etag_of(entity))

    async def delete(self, entity_or_id: EntityT | str) -> None:
        """Delete by id, or by entity (conditional on its etag); missing is a no-op."""
        if isinstance(entity_or_id, str):
            await self._delete(check_name("id", entity_or_id), None)
        else:
            entity = self._checked(entity_or_id)
            await self._delete(self._codec.id_of(entity), self._codec.etag_of(entity))

    async def modify(
        self,
        id: str,
        change: Callable[[EntityT], EntityT | Awaitable[EntityT]],
        *,
        default: Callable[[], EntityT] | None = None,
        attempts: int = DEFAULT_MODIFY_ATTEMPTS,
    ) -> EntityT:
        """Read, change and write back one entity under ETag concurrency; the stored entity.

        ``change`` (a plain function or an ``async`` one) takes the current entity and returns
        the new one. When another writer got there first, the entity is read again and
        ``change`` runs again on the newer version, so the decision is always made on what is
        stored; it may therefore run several times, and what it notes on its last run is what
        was stored. Returning the very entity it was given writes nothing (that entity comes
        back). A missing entity raises ``NotFoundError``, unless ``default()`` makes one, which
        ``change`` then edits and which is inserted. After ``attempts`` lost races in a row,
        ``ConcurrencyConflictError``. Only for concurrency-aware entity types: without an etag
        there is nothing to make the write conditional on.
        """
        if not self.concurrency_aware:
            raise TypeError(
                f"modify needs a concurrency-aware entity type: {self.entity_type.__name__} "
                "has no etag and last_modified fields, so a write could not be conditional"
            )
        if not isinstance(attempts, int) or attempts < 1:
            raise ValueError(f"attempts must be a positive int, got {attempts!r}")
        id = check_name("id", id)
        for attempt in range(attempts):
            if attempt:
                # A lost race: let the winners finish before reading again.
                await asyncio.sleep(random.uniform(0, min(0.1, 0.002 * attempt)))
            try:
                return await self._modify_once(id, change, default)
            except (ConcurrencyConflictError, KeyAlreadyExistsError):
                continue
        raise ConcurrencyConflictError(
            f"{self.entity_type.__name__} {id!r} in collection {self.name!r} was changed by "
            f"another writer on each of {attempts} attempts to modify it; try again later, or "
            "pass a larger attempts="
        )

    async def _modify_once(
        self,
        id: str,
        change: Callable[[EntityT], EntityT | Awaitable[EntityT]],
        default: Callable[[], EntityT] | None,
    ) -> EntityT:
        current: EntityT | None = None
        try:
            base = current = await self._get(id)
        except NotFoundError:
            if default is None:
                raise
            base = self._checked(default())
        changed = change(base)
        if inspect.isawaitable(changed):
            changed = await changed
        if changed is base and current is not None:
            return current
        changed = self._checked(changed)
        if self._codec.id_of(changed) != id:
            raise ValueError(
                f"the change of {self.entity_type.__name__} {id!r} returned an entity with id "
                f"{self._codec.id_of(changed)!r}; a change must keep the id"
            )
        if current is None:
            return await self._insert(changed)
        # Conditional on the version read, whatever etag the change left on its result.
        return await self._update(changed, self._codec.etag_of(current))

    def list(self) -> AsyncIterator[EntityT]:
        """Every entity, lazily, in no particular order (backends page behind the scenes)."""
        return self._list()

    def query(
        self, predicate: Callable[[EntityT], bool] | None = None, /, **equals: Any
    ) -> AsyncIterator[EntityT]:
        """The entities whose fields equal ``equals`` and that satisfy ``predicate``, lazily.

        ``store.query(customer_id="c-1")``; backends may run the equalities server-side.
        """
        unknown = sorted(set(equals) - set(self.entity_type.model_fields))
        if unknown:
            raise ValueError(f"{self.entity_type.__name__} has no field(s) {', '.join(unknown)}")
        return self._query(predicate, equals)

    async def _query(
        self, predicate: Callable[[EntityT], bool] | None, equals: Mapping[str, Any]
    ) -> AsyncIterator[EntityT]:
        async for entity in self._list():
            if all(getattr(entity, field) == value for field, value in equals.items()) and (
                predicate is None or predicate(entity)
            ):
                yield entity

    def _checked(self, entity: EntityT) -> EntityT:
        entity = self._codec.check(entity)
        check_name("id", self._codec.id_of(entity))
        return entity

    @abstractmethod
    async def _get(self, id: str) -> EntityT: ...

    @abstractmethod
    async def _exists(self, id: str) -> bool: ...

    @abstractmethod
    async def _insert(self, entity: EntityT) -> EntityT: ...

    @abstractmethod
    async def _upsert(self, entity: EntityT) -> EntityT: ...

    @abstractmethod
    async def _update(self, entity: EntityT, etag: str | None) -> EntityT:
        """Replace; when ``etag`` is not None, only if the stored version is that one."""

    @abstractmethod
    async def _delete(self, id: str, etag: str | None) -> None:
        """Delete; when ``etag`` is not None, only if the stored version is that one."""

    @abstractmethod
    def _list(self) -> AsyncIterator[EntityT]: ...


class KeyedListStore(ABC, Generic[EntityT]):
    """Named lists of entities per key, each possibly large (BeeHive's ``IKeyedListStore``).

    ``add("OrderQueuedForProduct", product_id, item)``: the list is the kind of relation, the key
    whose items it holds. A key exists while it has items; a list exists from its first ``add``.
    Items are read lazily and updated one by one, never loaded whole; ``update`` and
    ``remove_item`` of an item with an ``etag`` are conditional on it, as in
    :class:`CollectionStore`.
    """

    def __init__(self, item_type: type[EntityT]) -> None:
        check_entity_type(item_type)
        self.item_type = item_type
        self._codec = Codec(item_type)

    @property
    def concurrency_aware(self) -> bool:
        """Whether items carry an ``etag`` and ``last_modified`` that the store fills."""
        return self._codec.concurrency_aware

    async def add(self, list_name: str, key: str, item: EntityT) -> EntityT:
        """Add an item; ``KeyAlreadyExistsError`` if the key already has one with its id."""
        return await self._add(*self._names(list_name, key), self._checked(item))

    def get(self, list_name: str, key: str) -> AsyncIterator[EntityT]:
        """The items of a key, lazily, in no particular order (none for a missing key)."""
        return self._items(*self._names(list_name, key))

    async def get_all(self, list_name: str, key: str) -> builtins.list[EntityT]:
        """The items of a key, collected (mind the memory for a long list)."""
        return [item async for item in self.get(list_name, key)]

    async def get_item(self, list_name: str, key: str, item_id: str) -> EntityT:
        """One item; ``NotFoundError`` if the key has no item with this id."""
        return await self._get_item(*self._names(list_name, key), check_name("item id", item_id))

    async def update(self, list_name: str, key: str, item: EntityT) -> EntityT:
        """Replace an item; ``NotFoundError`` if missing, conditional on its etag."""
        item = self._checked(item)
        return await self._update(*self._names(list_name, key), item, self._codec.etag_of(item))

    async def remove(self, list_name: str, key: str) -> None:
        """Remove a key with all its items; missing is a no-op."""
        await self._remove(*self._names(list_name, key))

    async def remove_item(self, list_name: str, key: str, item_or_id: EntityT | str) -> None:
        """Remove one item by id, or by item (conditional on its etag); missing is a no-op."""
        names = self._names(list_name, key)
        if isinstance(item_or_id, str):
            await self._remove_item(*names, check_name("item id", item_or_id), None)
        else:
            item = self._checked(item_or_id)
            await self._remove_item(*names, self._codec.id_of(item), self._codec.etag_of(item))

    async def exists(self, list_name: str, key: str) -> bool:
        """Whether the key has at least one item."""
        return await self._exists(*self._names(list_name, key))

    async def item_exists(self, list_name: str, key: str, item_id: str) -> bool:
        """Whether the key has an item with this id."""
        return await self._item_exists(*self._names(list_name, key), check_name("item id", item_id))

    async def list_exists(self, list_name: str) -> bool:
        """Whether anything was ever added to this list."""
        return await self._list_exists(check_name("list name", list_name))

    def _names(self, list_name: str, key: str) -> tuple[str, str]:
        return check_name("list name", list_name), check_name("key", key)

    def _checked(self, item: EntityT) -> EntityT:
        item = self._codec.check(item)
        check_name("item id", self._codec.id_of(item))
        return item

    @abstractmethod
    async def _add(self, list_name: str, key: str, item: EntityT) -> EntityT: ...

    @abstractmethod
    def _items(self, list_name: str, key: str) -> AsyncIterator[EntityT]: ...

    @abstractmethod
    async def _get_item(self, list_name: str, key: str, item_id: str) -> EntityT: ...

    @abstractmethod
    async def _update(
        self, list_name: str, key: str, item: EntityT, etag: str | None
    ) -> EntityT: ...

    @abstractmethod
    async def _remove(self, list_name: str, key: str) -> None: ...

    @abstractmethod
    async def _remove_item(
        self, list_name: str, key: str, item_id: str, etag: str | None
    ) -> None: ...

    @abstractmethod
    async def _exists(self, list_name: str, key: str) -> bool: ...

    @abstractmethod
    async def _item_exists(self, list_name: str, key: str, item_id: str) -> bool: ...

    @abstractmethod
    async def _list_exists(self, list_name: str) -> bool: ...


class CounterStore(ABC):
    """Atomic integer counters by counter name and id (BeeHive's ``ICounterStore``).

    Concurrent increments never lose an update. ``allow_negative=False`` refuses an increment
    that would leave the counter below zero (stock that is not there) with
    :class:`CounterUnderflowError`, leaving the value as it was.
    """

    async def get(self, counter_name: str, id: str) -> int:
        """The value; 0 for a counter never incremented."""
        return await self._get(*self._names(counter_name, id))

    async def increment(
        self, counter_name: str, id: str, by: int = 1, *, allow_negative: bool = True
    ) -> int:
        """Add ``by`` (which may be negative) atomically and return the new value."""
        if not isinstance(by, int) or isinstance(by, bool):
            raise TypeError(f"by must be an int, not {type(by).__name__}")
        floor = None if allow_negative else 0
        return await self._increment(*self._names(counter_name, id), by, floor)

    async def decrement(
        self, counter_name: str, id: str, by: int = 1, *, allow_negative: bool = True
    ) -> int:
        """Subtract ``by`` atomically and return the new value."""
        if not isinstance(by, int) or isinstance(by, bool):
            raise TypeError(f"by must be an int, not {type(by).__name__}")
        return await self.increment(counter_name, id, -by, allow_negative=allow_negative)

    def _names(self, counter_name: str, id: str) -> tuple[str, str]:
        return check_name("counter name", counter_name), check_name("id", id)

    @abstractmethod
    async def _get(self, counter_name: str, id: str) -> int: ...

    @abstractmethod
    async def _increment(self, counter_name: str, id: str, by: int, floor: int | None) -> int:
        """Add ``by``; raise ``CounterUnderflowError`` instead if the result is below ``floor``."""


class KeyValueStore(ABC):
    """Blobs of bytes by key, with a content type and metadata (BeeHive's ``IKeyValueStore``).

    Writes can be conditional: ``if_match=etag`` (only over that version) and
    ``if_none_match="*"`` (only if absent) or ``if_none_match=etag`` (only if not at that
    version); a failed condition raises :class:`~beehive.errors.ConcurrencyConflictError`.
    Metadata keys are identifiers (letters, digits, ``_``) and values printable ASCII, which
    every backend can store.
    """

    async def get(self, key: str) -> Blob:
        """The whole blob; ``NotFoundError`` if there is none (see ``stream`` for large ones)."""
        return await self._get(check_name("key", key))

    def stream(self, key: str, *, chunk_size: int = 64 * 1024) -> AsyncIterator[bytes]:
        """The body in chunks, without loading it whole; ``NotFoundError`` on the first read."""
        if chunk_size < 1:
            raise ValueError(f"chunk_size must be positive, got {chunk_size}")
        return self._stream(check_name("key", key), chunk_size)

    async def put(
        self,
        key: str,
        body: bytes | bytearray | memoryview | AsyncIterable[bytes],
        *,
        content_type: str = DEFAULT_CONTENT_TYPE,
        metadata: Mapping[str, str] | None = None,
        if_match: str | None = None,
        if_none_match: str | None = None,
    ) -> str:
        """Write a blob (bytes, or chunks from an async iterable); returns its new etag."""
        if isinstance(body, bytearray | memoryview):
            body = bytes(body)  # a copy: the caller may go on changing theirs
        elif not isinstance(body, bytes | AsyncIterable):
            raise TypeError(f"body must be bytes or an async iterable of bytes, not {body!r:.40}")
        if not isinstance(content_type, str) or not content_type:
            raise ValueError("content_type must be a non-empty str")
        return await self._put(
            check_name("key", key),
            body,
            content_type,
            _checked_metadata(metadata),
            if_match,
            if_none_match,
        )

    async def delete(self, key: str, *, if_match: str | None = None) -> None:
        """Delete a blob (only at version ``if_match``, when given); missing is a no-op."""
        await self._delete(check_name("key", key), if_match)

    async def exists(self, key: str) -> bool:
        """Whether a blob is stored under this key."""
        return await self._exists(check_name("key", key))

    def list(self, prefix: str = "") -> AsyncIterator[str]:
        """The keys that start with ``prefix``, lazily, in no particular order."""
        return self._keys(check_prefix(prefix))

    @abstractmethod
    async def _get(self, key: str) -> Blob: ...

    @abstractmethod
    def _stream(self, key: str, chunk_size: int) -> AsyncIterator[bytes]: ...

    @abstractmethod
    async def _put(
        self,
        key: str,
        body: bytes | AsyncIterable[bytes],
        content_type: str,
        metadata: dict[str, str],
        if_match: str | None,
        if_none_match: str | None,
    ) -> str: ...

    @abstractmethod
    async def _delete(self, key: str, if_match: str | None) -> None: ...

    @abstractmethod
    async def _exists(self, key: str) -> bool: ...

    @abstractmethod
    def _keys(self, prefix: str) -> AsyncIterator[str]: ...


async def collect_chunks(chunks: AsyncIterable[bytes]) -> bytes:
    """A body given as chunks, in one piece, for backends that write it whole."""
    parts: builtins.list[bytes] = []
    async for chunk in chunks:
        if not isinstance(chunk, bytes | bytearray | memoryview):
            raise TypeError(f"a body chunk must be bytes, not {type(chunk).__name__}")
        parts.append(bytes(chunk))
    return b"".join(parts)


def _checked_metadata(metadata: Mapping[str, str] | None) -> dict[str, str]:
    checked = dict(metadata or {})
    for name, value in checked.items():
        if not isinstance(name, str) or not _METADATA_KEY.fullmatch(name):
            raise ValueError(f"metadata key {name!r}: use letters, digits and '_', not first digit")
        if not isinstance(value, str) or not _METADATA_VALUE.fullmatch(value):
            raise ValueError(f"metadata value {value!r} of {name!r}: use printable ASCII")
    return checked


class LockStore(ABC):
    """Named leases that expire (BeeHive's ``ILockStore``).

    ``async with locks.lock("order-42", ttl=15):`` holds the lock for the block, renewing it
    while held and always releasing it. A holder that dies stops renewing, so its lock
    expires after ``ttl`` seconds. Every release and renewal carries the holder's token, so a
    holder whose lock expired and went to someone else cannot release or extend theirs.

    ``clock`` (seconds, monotonic) and ``sleep`` time waits and renewals; tests pass fakes to
    move time on without sleeping.
    """

    def __init__(
        self,
        *,
        clock: Callable[[], float] = monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        poll_interval: float = 0.25,
    ) -> None:
        self._clock = clock
        self._sleep = sleep
        self.poll_interval = poll_interval

    async def acquire(
        self, resource: str, *, ttl: float | timedelta, wait: float | timedelta = 0
    ) -> Lock:
        """Take the lock, retrying for up to ``wait`` seconds; else ``LockNotAcquiredError``."""
        resource = check_name("resource", resource)
        ttl_seconds, wait_seconds = seconds(ttl), seconds(wait)
        if ttl_seconds <= 0:
            raise ValueError(f"ttl must be positive, got {ttl_seconds:g} s")
        if wait_seconds < 0:
            raise ValueError(f"wait must not be negative, got {wait_seconds:g} s")
        deadline = self._clock() + wait_seconds
        while True:
            lock = await self._try_acquire(resource, ttl_seconds)
            if lock is not None:
                return lock
            remaining = deadline - self._clock()
            if remaining <= 0:
                raise LockNotAcquiredError(
                    f"lock on {resource!r} is held by another holder "
                    f"(gave up after waiting {wait_seconds:g} s)"
                )
            await self._wait_for_release(resource, remaining)

    async def release(self, lock: Lock) -> bool:
        """Release a held lock; False (and nothing changed) if this holder no longer has it."""
        return await self._release(lock)

    async def renew(self, lock: Lock) -> None:
        """Extend a held lock by its ttl; ``LockLostError`` if this holder lost it."""
        await self._renew(lock)

    @asynccontextmanager
    async def lock(
        self,
        resource: str,
        *,
        ttl: float | timedelta,
        wait: float | timedelta = 0,
        renew_every: float | timedelta | None = None,
    ) -> AsyncIterator[Lock]:
        """Hold the lock for a block, renewing it every ``renew_every`` (default ``ttl / 3``).

        If the lock was lost while held (a renewal came too late), leaving the block raises
        ``LockLostError``: the work it protected may have overlapped another holder's.
        """
        held = await self.acquire(resource, ttl=ttl, wait=wait)
        interval = held.ttl / 3 if renew_every is None else seconds(renew_every)
        lost: builtins.list[LockLostError] = []
        renewer = asyncio.create_task(self._keep(held, interval, lost))
        try:
            yield held
        finally:
            renewer.cancel()
            try:
                await asyncio.wait([renewer])
            finally:
                released = await self.release(held)
        if lost or not released:
            raise LockLostError(
                f"lock on {held.resource!r} was lost while held; another holder may have "
                "taken it before the block ended"
            ) from (lost[0] if lost else None)

    async def _keep(self, lock: Lock, interval: float, lost: builtins.list[LockLostError]) -> None:
        while True:
            await self._sleep(interval)
            try:
                await self.renew(lock)
            except LockLostError as error:
                lost.append(error)
                return
            except Exception:
                # A transient failure: the next renewal may still come before the lock expires.
                logger.warning("could not renew lock on %r", lock.resource, exc_info=True)

    async def _wait_for_release(self, resource: str, timeout: float) -> None:
        """Wait until the lock might be free, at most ``timeout``; backends may wake earlier."""
        await self._sleep(min(timeout, self.poll_interval))

    @abstractmethod
    async def _try_acquire(self, resource: str, ttl: float) -> Lock | None:
        """Take the lock if free (or expired), else None."""

    @abstractmethod
    async def _release(self, lock: Lock) -> bool: ...

    @abstractmethod
    async def _renew(self, lock: Lock) -> None: ...
