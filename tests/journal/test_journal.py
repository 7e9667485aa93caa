"""The event journal: per-correlation entries in time order, buffered writes, retention."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from beehive import ActorDescriptor, ActorHost, DeadLetter, Event, Retry
from beehive.journal import Journal, JournalEntry
from beehive.queues import InMemoryQueueOperator
from tests.stores.conftest import Backend


class Start:
    async def process(self, event: Event) -> list[Event]:
        return [Event(event_type="Next", body="{}")]


class Flaky:
    async def process(self, event: Event) -> list[Event]:
        if event.delivery_count == 1:
            raise Retry("not yet", delay=0)
        return [Event(event_type="Last", body="{}")]


class Doomed:
    async def process(self, event: Event) -> list[Event]:
        raise DeadLetter("cannot ever")


DESCRIPTORS = [
    ActorDescriptor(Start, "Start-Work"),
    ActorDescriptor(Flaky, "Next-Flaky"),
    ActorDescriptor(Doomed, "Last-Doomed"),
]


async def test_a_journey_in_time_order_with_a_retry_and_a_dead_letter(backend: Backend) -> None:
    async with backend.keyed_list(JournalEntry) as store:
        journal = Journal(store)
        operator = InMemoryQueueOperator()
        async with ActorHost(operator, DESCRIPTORS, poll_wait=0.2, journal=journal):
            await operator.push(Event(event_type="Start", body="{}", correlation_id="order-1"))
            await operator.push(Event(event_type="Start", body="{}", correlation_id="order-2"))
            await operator.wait_idle(10)
        # stopping flushed the buffer: the store has it all
        assert journal.dropped == 0

        journey = await journal.journey("order-1")

        steps = [(e.event_type, e.actor, e.outcome, e.delivery_count) for e in journey]
        assert steps == [
            ("Start", "Start@Start-Work", "succeeded", 1),
            ("Next", "Flaky@Next-Flaky", "retried", 1),
            ("Next", "Flaky@Next-Flaky", "succeeded", 2),
            ("Last", "Doomed@Last-Doomed", "dead-lettered", 1),
        ]
        assert [e.timestamp for e in journey] == sorted(e.timestamp for e in journey)
        assert all(e.correlation_id == "order-1" and e.seconds >= 0 for e in journey)
        start, retried, succeeded, last = journey
        assert retried.causation_id == start.event_id == succeeded.causation_id
        assert last.causation_id == succeeded.event_id
        assert len(await journal.journey("order-2")) == 4
        assert await journal.journey("order-3") == []


def entry(correlation: str, at: datetime, n: int = 0) -> JournalEntry:
    return JournalEntry(
        id=f"{correlation}-{n}",
        timestamp=at,
        event_id=f"e-{n}",
        event_type="Ping",
        correlation_id=correlation,
        actor="Pong@Ping-Work",
        outcome="succeeded",
        delivery_count=1,
        seconds=0.001,
    )


async def test_retention_purges_old_entries_and_keeps_the_rest(backend: Backend) -> None:
    now = datetime(2025, 3, 20, 12, tzinfo=UTC)
    async with backend.keyed_list(JournalEntry) as store:
        journal = Journal(store, retention=timedelta(days=2), clock=lambda: now)
        journal.record(entry("old", now - timedelta(days=5)))
        journal.record(entry("mixed", now - timedelta(days=4), 1))
        journal.record(entry("mixed", now - timedelta(hours=1), 2))
        journal.record(entry("new", now - timedelta(days=1)))
        assert [e.id for e in await journal.journey("mixed")] == ["mixed-1", "mixed-2"]  # pending
        assert await journal.flush() == 4

        assert await journal.purge_expired() == 2

        assert await journal.journey("old") == []
        assert [e.id for e in await journal.journey("mixed")] == ["mixed-2"]
        assert [e.id for e in await journal.journey("new")] == ["new-0"]
        assert await journal.purge_expired() == 0  # the expired days' index is gone too


async def test_a_full_buffer_drops_and_counts_instead_of_growing() -> None:
    journal = Journal.in_memory(flush_size=2, max_pending=2)
    at = datetime.now(UTC)
    for n in range(5):
        journal.record(entry("c", at, n))
    assert journal.dropped == 3
    assert await journal.flush() == 2
    assert [e.id for e in await journal.journey("c")] == ["c-0", "c-1"]


async def test_a_journal_needs_journal_entries() -> None:
    from beehive.stores import InMemoryKeyedListStore

    class Other(JournalEntry):
        pass

    with pytest.raises(TypeError, match="KeyedListStore of JournalEntry"):
        Journal(InMemoryKeyedListStore(Other))  # type: ignore[arg-type]
