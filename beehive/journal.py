"""The event journal: every message the host handled, per correlation, for ``beehive trace``.

``ActorHost(..., journal=Journal(store))`` records (through the
:class:`~beehive.middleware.Journaling` middleware), after each message, a
:class:`JournalEntry` (event id, type, correlation and causation ids, actor, outcome,
delivery count, when it started and how long it took) under the message's correlation id
(the event's own id when it has none, which is the correlation its outgoing events get).
:meth:`Journal.journey` reads one correlation back in time order: one partition query on Azure
Tables, where each key of a keyed list is a partition.

Writes never wait in the message pipeline: :meth:`Journal.record` appends to a buffer that a
background task flushes every ``flush_every`` (sooner when ``flush_size`` entries wait). The
buffer holds at most ``max_pending`` entries; past that, new entries are dropped and counted
(``dropped``), and a failed write puts its entries back while there is room. What is lost on a
crash: the entries not flushed yet, at most ``flush_every`` seconds' worth (or ``max_pending``
entries). A graceful stop flushes everything.

Retention: next to the entries, the journal keeps an index of which correlations had entries
on which UTC day (``JournalByDay``, one item per correlation and day) and of the days
(``JournalDays``). :meth:`Journal.purge_expired` (run by the host every ``purge_every``, safe
from several hosts) walks the days wholly older than ``retention``, deletes those
correlations' entries older than ``retention``, then the day's index. So an entry lives
between ``retention`` and ``retention`` + one day + ``purge_every``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from pydantic import AwareDatetime, BaseModel, ConfigDict

from beehive._clock import utcnow
from beehive.errors import KeyAlreadyExistsError
from beehive.stores.base import KeyedListStore

__all__ = ["Journal", "JournalEntry"]

logger = logging.getLogger("beehive.journal")

ENTRIES: Final = "Journal"
BY_DAY: Final = "JournalByDay"
DAYS: Final = "JournalDays"
_DAYS_KEY: Final = "days"

DEFAULT_RETENTION = timedelta(days=7)
DEFAULT_PURGE_EVERY = timedelta(hours=1)
_WRITERS = 16  # concurrent writes per flush


class JournalEntry(BaseModel):
    """One message handled by one actor: what it was, who handled it, how it ended."""

    model_config = ConfigDict(frozen=True)

    id: str
    timestamp: AwareDatetime
    """When the actor started on the message."""
    event_id: str
    event_type: str
    correlation_id: str
    causation_id: str | None = None
    actor: str
    outcome: str
    delivery_count: int
    seconds: float


def _day(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d")


class Journal:
    """Journal entries in a keyed list store: ``Journal(AzureKeyedListStore(url, JournalEntry))``.

    ``Journal.in_memory()`` for one process (the dashboard of ``beehive run --journal`` on the
    memory backend); share a durable store between replicas so one journey shows every hop.
    ``clock`` (the time entries are stamped with) is for tests.
    """

    def __init__(
        self,
        store: KeyedListStore[JournalEntry],
        *,
        retention: timedelta = DEFAULT_RETENTION,
        purge_every: timedelta | None = DEFAULT_PURGE_EVERY,
        flush_every: float = 1.0,
        flush_size: int = 500,
        max_pending: int = 50_000,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        if store.item_type is not JournalEntry:
            raise TypeError(
                f"a journal needs a KeyedListStore of JournalEntry, not of "
                f"{store.item_type.__name__}"
            )
        if retention <= timedelta(0):
            raise ValueError(f"retention must be positive, got {retention}")
        if purge_every is not None and purge_every <= timedelta(0):
            raise ValueError(f"purge_every must be positive or None, got {purge_every}")
        if flush_every <= 0 or not 0 < flush_size <= max_pending:
            raise ValueError(
                "flush_every must be positive and 0 < flush_size <= max_pending, got "
                f"{flush_every}, {flush_size}, {max_pending}"
            )
        self.store = store
        self.retention = retention
        self.purge_every = purge_every
        self.flush_every = flush_every
        self.flush_size = flush_size
        self.max_pending = max_pending
        self.dropped = 0
        self.clock = clock
        self._pending: list[JournalEntry] = []
        self._indexed: set[tuple[str, str]] = set()  # (day, correlation) this process wrote
        self._days: set[str] = set()
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._flushing = asyncio.Lock()

    @classmethod
    def in_memory(cls, **options: Any) -> Journal:
        """A journal in an in-memory store: for one process (and tests), lost when it exits."""
        from beehive.stores.memory import InMemoryKeyedListStore

        return cls(InMemoryKeyedListStore(JournalEntry), **options)

    # -- the host's side ------------------------------------------------------------------------

    def record(self, entry: JournalEntry) -> None:
        """Buffer ``entry`` for the next flush (dropped and counted when the buffer is full)."""
        if len(self._pending) >= self.max_pending:
            self.dropped += 1
            if self.dropped == 1 or self.dropped % 10_000 == 0:
                logger.warning("journal: buffer full, %d entries dropped so far", self.dropped)
            return
        self._pending.append(entry)
        if len(self._pending) >= self.flush_size:
            self._wake.set()

    def start(self) -> None:
        """Start flushing in the background (and purging, unless ``purge_every`` is None)."""
        if self._tasks:
            return
        self._tasks.append(asyncio.create_task(self._flush_forever(), name="journal#flush"))
        if self.purge_every is not None:
            self._tasks.append(
                asyncio.create_task(
                    self._purge_forever(self.purge_every.total_seconds()), name="journal#purge"
                )
            )

    async def stop(self) -> None:
        """Stop the background tasks, then flush what is left."""
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await self.flush()

    async def _flush_forever(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.flush_every)
            self._wake.clear()
            await self.flush()

    async def _purge_forever(self, interval: float) -> None:
        while True:
            try:
                await self.purge_expired()
            except Exception:
                logger.exception("journal: purging failed")
            await asyncio.sleep(interval)

    async def flush(self) -> int:
        """Write every buffered entry now; returns how many were written."""
        async with self._flushing:
            batch, self._pending = self._pending, []
            if not batch:
                return 0
            gate = asyncio.Semaphore(_WRITERS)
            results = await asyncio.gather(*(self._write(entry, gate) for entry in batch))
            failed = [entry for entry, ok in zip(batch, results, strict=True) if not ok]
            if failed:
                room = max(0, self.max_pending - len(self._pending))
                self._pending[:0] = failed[:room]
                self.dropped += len(failed) - len(failed[:room])
            return len(batch) - len(failed)

    async def _write(self, entry: JournalEntry, gate: asyncio.Semaphore) -> bool:
        async with gate:
            try:
                await self._index(entry)
                await self.store.add(ENTRIES, entry.correlation_id, entry)
            except KeyAlreadyExistsError:
                pass
            except Exception as error:
                logger.warning("journal: writing an entry failed: %s", error)
                return False
            return True

    async def _index(self, entry: JournalEntry) -> None:
        """Index the entry's (day, correlation) and its day, once per process each."""
        day = _day(entry.timestamp)
        if day not in self._days:
            await self._add_once(DAYS, _DAYS_KEY, entry.model_copy(update={"id": day}))
            if len(self._days) > 64:
                self._days.clear()
            self._days.add(day)
        if (day, entry.correlation_id) not in self._indexed:
            await self._add_once(BY_DAY, day, entry.model_copy(update={"id": entry.correlation_id}))
            if len(self._indexed) > 100_000:  # bounded: re-adding only meets KeyAlreadyExists
                self._indexed.clear()
            self._indexed.add((day, entry.correlation_id))

    async def _add_once(self, list_name: str, key: str, entry: JournalEntry) -> None:
        with contextlib.suppress(KeyAlreadyExistsError):
            await self.store.add(list_name, key, entry)

    # -- the readers' side ----------------------------------------------------------------------

    async def journey(self, correlation_id: str) -> Sequence[JournalEntry]:
        """Every entry of one correlation, in time order (including those not flushed yet)."""
        stored = {entry.id: entry async for entry in self.store.get(ENTRIES, correlation_id)}
        for entry in self._pending:
            if entry.correlation_id == correlation_id:
                stored.setdefault(entry.id, entry)
        return sorted(stored.values(), key=lambda entry: (entry.timestamp, entry.seconds))

    async def purge_expired(self) -> int:
        """Delete the entries older than ``retention`` on the days wholly past it; returns how
        many. Safe to run from several hosts at once."""
        cutoff = self.clock() - self.retention
        last_day = _day(cutoff - timedelta(days=1))  # days up to this one are wholly expired
        purged = 0
        # Collected before deleting: a store need not page steadily under deletes.
        days = [item.id async for item in self.store.get(DAYS, _DAYS_KEY)]
        for day in sorted(d for d in days if d <= last_day):
            for correlation in [item.id async for item in self.store.get(BY_DAY, day)]:
                expired = [
                    entry.id
                    async for entry in self.store.get(ENTRIES, correlation)
                    if entry.timestamp < cutoff
                ]
                for entry_id in expired:
                    await self.store.remove_item(ENTRIES, correlation, entry_id)
                purged += len(expired)
            await self.store.remove(BY_DAY, day)
            await self.store.remove_item(DAYS, _DAYS_KEY, day)
        if purged:
            logger.info("journal: purged %d entries older than %s", purged, self.retention)
        return purged

    def __repr__(self) -> str:
        return f"Journal({type(self.store).__name__}, retention={self.retention})"
