"""A crash at each step of the per-message sequence, on every backend: what it costs.

The host's sequence for one message is: lease, process, (record in the inbox,) publish,
complete. A consumer that dies at a step holds a lease the broker takes back when it runs
out, so the message is delivered again. The expected runs below are exactly what
RELIABILITY.md promises: nothing is lost at any step; without an inbox a crash after
publishing repeats the work and its events (the same events: their ids derive from the job);
with one, it re-publishes the recorded events and the next idempotent actor filters them.
"""

from __future__ import annotations

from typing import Literal

import pytest

from beehive import ActorHost, Event
from beehive.inbox import Inbox
from beehive.queues import InMemoryQueueOperator, QueueOperator
from beehive.testing import CrashInjection, SimulatedCrash
from tests.reliability.support import FAST, Ledger, chain, until

Step = Literal["after_lease", "during_process", "after_publish", "before_complete"]

# step: (Work runs, Done events published, distinct Done ids, Tally runs), without an inbox
WITHOUT_INBOX: dict[Step, tuple[int, int, int, int]] = {
    "after_lease": (1, 1, 1, 1),
    "during_process": (2, 1, 1, 1),
    "after_publish": (2, 2, 1, 2),
    "before_complete": (2, 2, 1, 2),
}
WITH_INBOX: dict[Step, tuple[int, int, int, int]] = {
    "after_lease": (1, 1, 1, 1),
    "during_process": (2, 1, 1, 1),
    "after_publish": (1, 2, 1, 1),
    "before_complete": (1, 2, 1, 1),
}


@pytest.mark.parametrize("idempotent", [False, True], ids=["no-inbox", "inbox"])
@pytest.mark.parametrize("step", list(WITHOUT_INBOX))
async def test_a_crash_at_each_step_loses_nothing_and_duplicates_only_as_documented(
    broker: QueueOperator, names: tuple[str, str], step: Step, idempotent: bool
) -> None:
    job, done = names
    ledger = Ledger()
    crashes = CrashInjection()
    descriptors = chain(ledger, job=job, done=done, idempotent=idempotent)
    work = descriptors[0].actor_type
    if step == "during_process":
        process = work.process

        async def crash_once(self: object, event: Event) -> list[Event]:
            if event.delivery_count == 1:
                ledger.runs["Work", event.id] += 1
                raise SimulatedCrash("injected: crashed while processing")
            return await process(self, event)  # type: ignore[no-any-return]

        work.process = crash_once  # type: ignore[attr-defined]
    else:
        crashes.crash_at(step, where=lambda event: event.event_type == job)
    inbox = Inbox.in_memory() if idempotent else None
    runs, published, ids, tallies = (WITH_INBOX if idempotent else WITHOUT_INBOX)[step]

    async with ActorHost(
        broker, descriptors, middleware=[crashes], inbox=inbox, backoff=FAST, poll_wait=0.5
    ) as host:
        await broker.push(Event(event_type=job, body="0"))
        await until(
            lambda: (
                sum(ledger.runs_of("Tally")) == tallies
                and sum(s.in_flight for s in host.stats().values()) == 0
                and host.stats()[f"Tally@{done}-Tally"].received == published
            ),
            timeout=20,
            what=f"{tallies} tallies of {published} Done events",
        )
        if isinstance(broker, InMemoryQueueOperator):
            await broker.wait_idle()

    assert sum(ledger.runs_of("Work")) == runs
    assert ledger.tallied == {"0": tallies}, "nothing lost; duplicates as documented"
    assert len(ledger.done_ids["0"]) == ids
    assert crashes.injected == ({} if step == "during_process" else {f"crash:{step}": 1})
    work_stats, tally_stats = host.stats().values()
    assert tally_stats.duplicates == (published - ids if idempotent else 0)
    assert work_stats.dead_lettered == tally_stats.dead_lettered == 0
