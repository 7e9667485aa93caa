"""Exclusive idempotent actors: copies of one event in two hosts at once run the actor once.

Two hosts share one broker and one inbox (records and claims) in every store backend. Each
event is published twice with the same id, so the hosts take copies at the same time; the
actor's side effect (a tally per event id) takes a moment, so copies overlap. Without
``exclusive`` both copies run (the control); with it, every side effect happens exactly once.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator

import pytest

from beehive import ActorDescriptor, ActorHost, Event
from beehive.claims import Claims
from beehive.errors import ActorConfigurationError
from beehive.inbox import Inbox, InboxRecord
from beehive.queues import InMemoryQueueOperator
from tests.reliability.support import FAST
from tests.stores.conftest import Backend

EVENTS = 40


class SideEffect:
    tallies: Counter[str] = Counter()

    async def process(self, event: Event) -> list[Event]:
        await asyncio.sleep(0.01)  # long enough for the other host's copy to start meanwhile
        type(self).tallies[event.id] += 1
        return []


@pytest.fixture
async def inbox(backend: Backend) -> AsyncIterator[Inbox]:
    clock = backend.clock()
    async with backend.collection(InboxRecord) as records, backend.lock(clock) as locks:
        yield Inbox(records, claims=Claims(locks, wait=10))


async def run_two_hosts(inbox: Inbox, *, exclusive: bool) -> tuple[Counter[str], int]:
    """Each event published twice with one id; the tallies, and the copies found done."""
    SideEffect.tallies = Counter()
    operator = InMemoryQueueOperator()
    descriptor = ActorDescriptor(
        SideEffect, "Job-Work", parallelism=4, idempotent=True, exclusive=exclusive
    )
    hosts = [
        ActorHost(operator, [descriptor], inbox=inbox, poll_wait=0.2, backoff=FAST)
        for _ in range(2)
    ]
    events = [Event(event_type="Job", body=str(n)) for n in range(EVENTS)]
    async with hosts[0], hosts[1]:
        await operator.push_batch([copy for event in events for copy in (event, event)])
        await operator.wait_idle(60)
    duplicates = sum(stats.duplicates for host in hosts for stats in host.stats().values())
    return SideEffect.tallies, duplicates


async def test_without_exclusive_two_hosts_both_run_some_copies(inbox: Inbox) -> None:
    tallies, _ = await run_two_hosts(inbox, exclusive=False)

    assert len(tallies) == EVENTS
    assert any(count > 1 for count in tallies.values()), "the copies never overlapped"


async def test_an_exclusive_actor_runs_once_per_event_across_hosts(inbox: Inbox) -> None:
    tallies, duplicates = await run_two_hosts(inbox, exclusive=True)

    assert dict(tallies) == {id: 1 for id in tallies}
    assert len(tallies) == EVENTS
    assert duplicates == EVENTS  # every second copy found the first one's record


async def test_a_crashed_claimant_s_event_is_processed_again_after_its_claim_expires() -> None:
    claims = Claims.in_memory(lease=0.2, wait=5)
    inbox = Inbox.in_memory(claims=claims)
    event = Event(event_type="Job", body="crashed")
    # A copy that claimed the event and died: its claim is never released, nor renewed.
    await claims.locks.acquire(Claims.resource("SideEffect@Job-Work", event.id), ttl=0.2)
    SideEffect.tallies = Counter()
    operator = InMemoryQueueOperator()
    descriptor = ActorDescriptor(SideEffect, "Job-Work", idempotent=True, exclusive=True)

    async with ActorHost(operator, [descriptor], inbox=inbox, poll_wait=0.2, backoff=FAST):
        await operator.push(event)
        await operator.wait_idle(10)

    assert SideEffect.tallies == {event.id: 1}


def test_exclusive_needs_idempotent() -> None:
    with pytest.raises(ValueError, match="exclusive=True needs idempotent=True"):
        ActorDescriptor(SideEffect, "Job-Work", exclusive=True)


async def test_an_exclusive_actor_needs_an_inbox_with_claims() -> None:
    from beehive.stores import InMemoryCollectionStore

    descriptor = ActorDescriptor(SideEffect, "Job-Work", idempotent=True, exclusive=True)
    inbox = Inbox(InMemoryCollectionStore(InboxRecord))
    host = ActorHost(InMemoryQueueOperator(), [descriptor], inbox=inbox)

    with pytest.raises(ActorConfigurationError, match="claims=Claims"):
        await host.start()
