"""Duplicate deliveries, on every backend: with an inbox each actor runs once per event id.

``FaultyQueueOperator(duplicate_rate=1.0)`` loses the acknowledgement of every message's
first completion, so the broker delivers every message (jobs, and the events actors publish)
again after it was processed: each message is delivered at least twice.
"""

from __future__ import annotations

from beehive import ActorHost
from beehive.inbox import Inbox
from beehive.queues import InMemoryQueueOperator, QueueOperator
from beehive.testing import FaultyQueueOperator
from tests.reliability.support import FAST, Ledger, chain, jobs, until

JOBS = 30


async def run_duplicated(
    broker: QueueOperator,
    names: tuple[str, str],
    *,
    inbox: Inbox | None,
    tally_deliveries: int,
) -> tuple[Ledger, ActorHost]:
    """Run JOBS jobs until each actor had twice as many deliveries as it had messages.

    On the in-memory broker, then wait until nothing at all is left anywhere.
    """
    job, done = names
    ledger = Ledger()
    faults = FaultyQueueOperator(broker, seed=3, duplicate_rate=1.0)
    descriptors = chain(ledger, job=job, done=done, idempotent=inbox is not None)
    host = ActorHost(faults, descriptors, inbox=inbox, backoff=FAST, poll_wait=0.5)
    async with host:
        await faults.push_batch(jobs(JOBS, job))

        def every_message_came_twice() -> bool:
            work, tally = host.stats().values()
            return (
                work.received >= 2 * JOBS
                and tally.received >= tally_deliveries
                and work.in_flight == tally.in_flight == 0
            )

        await until(every_message_came_twice, timeout=30, what="every message twice")
        if isinstance(broker, InMemoryQueueOperator):
            await faults.wait_idle()
    return ledger, host


async def test_with_an_inbox_each_actor_runs_once_per_event_id(
    broker: QueueOperator, names: tuple[str, str]
) -> None:
    ledger, host = await run_duplicated(
        broker, names, inbox=Inbox.in_memory(), tally_deliveries=2 * JOBS
    )

    assert ledger.runs_of("Work") == [1] * JOBS
    assert ledger.runs_of("Tally") == [1] * JOBS
    assert ledger.tallied == {str(i): 1 for i in range(JOBS)}
    # Every duplicate was recognised and completed; the Done events it re-published carried
    # the recorded ids, which the next inbox recognised in turn.
    for stats in host.stats().values():
        assert stats.succeeded == JOBS
        assert stats.duplicates >= JOBS


async def test_without_an_inbox_duplicates_reach_the_actors(
    broker: QueueOperator, names: tuple[str, str]
) -> None:
    """The control: at-least-once delivery really delivers twice, and actors see it."""
    # Each job is handled twice and gives its Done event twice, each copy delivered twice; the
    # two handlings make the same event (one id, derived from the job), which only an inbox
    # can then recognise.
    ledger, _ = await run_duplicated(broker, names, inbox=None, tally_deliveries=4 * JOBS)

    assert ledger.runs_of("Work") == [2] * JOBS
    assert all(count >= 2 for count in ledger.tallied.values())
    assert all(len(ids) == 1 for ids in ledger.done_ids.values())
