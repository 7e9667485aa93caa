"""The idempotent inbox: what an actor already did with an event, so a redelivery is not redone.

Brokers deliver at least once: a lost lock, or a crash between publishing and completing,
delivers an event again. For an actor marked ``@actor(..., idempotent=True)`` the host keeps,
per (actor, event id), an :class:`InboxRecord` of the events that actor published in
response, stamped as they were sent. A redelivered event whose record exists is not processed
again: the recorded events are published again (same ids, so the next idempotent actor
filters them in turn) and the message is completed. The host does this in its pipeline
(:class:`beehive.middleware.Idempotency`); :func:`republish` is the rule it follows, for
actors that keep their own record of what they did.

Per message this costs one read (before processing) and one write (after processing, before
publishing). Records live in any :class:`~beehive.stores.CollectionStore`, so the inbox works
on every store backend; share one store between every replica of a host, or a replica will
not see what another recorded. Records older than ``retention`` count as absent: a
redelivery later than that is processed again. They are deleted by :meth:`Inbox.purge_expired`,
which the host runs every ``purge_every`` while it runs (pass ``purge_every=None`` to run it
yourself); a record found expired is also overwritten in place when the event is processed
again.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict

from beehive._clock import utcnow
from beehive.claims import Claims
from beehive.errors import ConcurrencyConflictError, KeyAlreadyExistsError, NotFoundError
from beehive.events import Event
from beehive.stores._names import check_name
from beehive.stores.base import CollectionStore

logger = logging.getLogger("beehive.inbox")

DEFAULT_RETENTION = timedelta(days=7)
"""Longer than any broker keeps redelivering (lock duration x max deliveries, plus delays)."""

DEFAULT_PURGE_EVERY = timedelta(hours=1)


def republish(event: Event, events: Sequence[Event]) -> list[Event]:
    """What to publish when the work ``event`` asks for was found done: ``events`` (what it
    published then) if ``event`` is a redelivery, else nothing.

    The host publishes an actor's events before completing its message, so a message that
    comes back (``delivery_count > 1``) may follow an attempt that did the work but failed to
    publish: publishing the same events again (same ids) keeps the process moving, and the
    next idempotent actor filters them. A *copy* of the event (a first delivery that finds the
    work done: a duplicate publication) publishes nothing, so duplicates do not multiply
    downstream; the delivery that did the work publishes, or is delivered again until it has.
    """
    return list(events) if event.delivery_count > 1 else []


class InboxRecord(BaseModel):
    """What one actor published in response to one event, and when it was recorded."""

    model_config = ConfigDict(frozen=True)

    id: str
    actor: str
    event_id: str
    events: list[Event]
    recorded_at: AwareDatetime
    etag: str | None = None
    last_modified: AwareDatetime | None = None


class Inbox:
    """Records of what idempotent actors did, per (actor name, event id), in a collection store.

    ``Inbox(InMemoryCollectionStore(InboxRecord))`` or ``Inbox.in_memory()`` for one process;
    a durable store (Azure Tables, PostgreSQL) shared by every replica for effectively-once
    processing across processes and crashes. ``claims`` (:class:`~beehive.claims.Claims`, in a
    lock store every replica shares) serves the actors marked ``exclusive``. ``clock`` is for
    tests.
    """

    def __init__(
        self,
        store: CollectionStore[InboxRecord],
        *,
        retention: timedelta = DEFAULT_RETENTION,
        purge_every: timedelta | None = DEFAULT_PURGE_EVERY,
        claims: Claims | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        if retention <= timedelta(0):
            raise ValueError(f"retention must be positive, got {retention}")
        if purge_every is not None and purge_every <= timedelta(0):
            raise ValueError(f"purge_every must be positive or None, got {purge_every}")
        if store.entity_type is not InboxRecord:
            raise TypeError(
                f"an inbox needs a CollectionStore of InboxRecord, not of "
                f"{store.entity_type.__name__}"
            )
        self.store = store
        self.retention = retention
        self.purge_every = purge_every
        self.claims = claims
        self._clock = clock

    @classmethod
    def in_memory(cls, **options: Any) -> Inbox:
        """An inbox in an in-memory store, with in-memory claims: for one process (and tests),
        lost when it exits."""
        from beehive.stores.memory import InMemoryCollectionStore

        options.setdefault("claims", Claims.in_memory())
        return cls(InMemoryCollectionStore(InboxRecord, name="Inbox"), **options)

    @staticmethod
    def key(actor: str, event_id: str) -> str:
        """The record id for (actor, event id): readable when the store's names allow it."""
        key = f"{actor}|{event_id}"
        try:
            return check_name("inbox key", key)
        except (TypeError, ValueError):
            # Too long, or a lone surrogate: a digest still tells every pair apart.
            digest = hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()
            return f"{actor[:150]}|sha256:{digest}"

    def expired(self, record: InboxRecord) -> bool:
        return self._clock() - record.recorded_at >= self.retention

    async def recall(self, actor: str, event_id: str) -> InboxRecord | None:
        """The live record of what ``actor`` did with ``event_id``, or None (one read)."""
        try:
            record = await self.store.get(self.key(actor, event_id))
        except NotFoundError:
            return None
        return None if self.expired(record) else record

    async def record(
        self, actor: str, event_id: str, events: Sequence[Event]
    ) -> InboxRecord | None:
        """Record what ``actor`` published for ``event_id`` (one write).

        Returns None when this record was stored, or the live record another delivery of the
        same event stored first (a lock that expired mid-processing lets two consumers run
        it at once): the caller must publish that one's events instead of its own, so every
        consumer downstream sees one set of event ids.
        """
        # Trusted values (the events are built and stamped already): skip re-validating them.
        record = InboxRecord.model_construct(
            id=self.key(actor, event_id),
            actor=actor,
            # Informational (the id is the key): lone surrogates cannot be stored, so escape.
            event_id=event_id.encode("utf-8", "backslashreplace").decode(),
            events=list(events),
            recorded_at=self._clock(),
            etag=None,
            last_modified=None,
        )
        try:
            await self.store.insert(record)
            return None
        except KeyAlreadyExistsError:
            pass
        for _ in range(3):
            try:
                existing = await self.store.get(record.id)
            except NotFoundError:  # purged meanwhile
                try:
                    await self.store.insert(record)
                    return None
                except KeyAlreadyExistsError:
                    continue
            if not self.expired(existing):
                return existing
            try:  # an expired record: overwrite it, unless someone else does first
                await self.store.update(record.model_copy(update={"etag": existing.etag}))
                return None
            except (ConcurrencyConflictError, NotFoundError):
                continue
        raise ConcurrencyConflictError(
            f"inbox record {record.id!r} kept changing while {actor} tried to record it"
        )

    async def purge_expired(self) -> int:
        """Delete every expired record; returns how many. Safe to run from several hosts."""
        purged = 0
        async for record in self.store.list():
            if self.expired(record):
                try:
                    await self.store.delete(record)  # conditional: a fresh rewrite survives
                except ConcurrencyConflictError:
                    continue
                purged += 1
        if purged:
            logger.info("inbox: purged %d expired records", purged)
        return purged

    def __repr__(self) -> str:
        return f"Inbox({type(self.store).__name__} {self.store.name!r}, retention={self.retention})"
