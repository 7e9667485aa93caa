"""The fault injector itself, and the host under every random fault at once, on every backend."""

from __future__ import annotations

import contextlib
from collections import Counter

import pytest

from beehive import ActorHost, Event, LeaseLostError
from beehive.inbox import Inbox
from beehive.queues import InMemoryQueueOperator, QueueOperator
from beehive.testing import FaultyQueueOperator
from tests.reliability.support import FAST, Ledger, chain, jobs, until

JOBS = 60


async def lease(operator: QueueOperator, name: str) -> Event:
    (event,) = await operator.next(name, wait=5)
    return event


# -- each fault, as a broker would show it --------------------------------------------------------


async def test_a_lost_acknowledgement_delivers_the_message_again_once() -> None:
    faults = FaultyQueueOperator(InMemoryQueueOperator(), duplicate_rate=1.0)
    await faults.setup_queue("Jobs")
    await faults.push(Event(event_type="Job", queue_name="Jobs"))

    first = await lease(faults, "Jobs")
    await faults.complete(first)  # "succeeds", but the broker never hears of it
    again = await lease(faults, "Jobs")
    await faults.complete(again)

    assert (again.id, again.delivery_count) == (first.id, 2)
    assert await faults.next("Jobs") == []
    assert faults.injected == {"duplicate": 1}


async def test_a_lost_lease_fails_the_settle_and_the_message_comes_back() -> None:
    faults = FaultyQueueOperator(InMemoryQueueOperator(), lost_lease_rate=1.0)
    await faults.setup_queue("Jobs")
    await faults.push(Event(event_type="Job", queue_name="Jobs"))
    first = await lease(faults, "Jobs")

    with pytest.raises(LeaseLostError):
        await faults.complete(first)
    with pytest.raises(LeaseLostError):  # and it stays lost
        await faults.abandon(first)
    faults.calm()
    again = await lease(faults, "Jobs")
    await faults.complete(again)
    assert (again.id, again.delivery_count) == (first.id, 2)


async def test_a_lease_that_expires_mid_processing_lets_another_consumer_take_it() -> None:
    faults = FaultyQueueOperator(InMemoryQueueOperator(), lease_expiry_rate=1.0)
    await faults.setup_queue("Jobs")
    await faults.push(Event(event_type="Job", queue_name="Jobs"))

    first = await lease(faults, "Jobs")
    faults.calm()
    second = await lease(faults, "Jobs")  # while the first consumer still works on it

    assert second.id == first.id
    with pytest.raises(LeaseLostError):
        await faults.complete(first)
    await faults.complete(second)


async def test_publish_failures_and_transient_errors_are_connection_errors() -> None:
    faults = FaultyQueueOperator(InMemoryQueueOperator(), publish_failure_rate=1.0)
    await faults.setup_queue("Jobs")
    with pytest.raises(ConnectionError):
        await faults.push(Event(event_type="Job", queue_name="Jobs"))
    faults.calm()
    faults.transient_error_rate = 1.0
    with pytest.raises(ConnectionError):
        await faults.next("Jobs")
    faults.calm()
    assert await faults.next("Jobs") == []  # the failed push sent nothing
    assert faults.injected == {"publish_failure": 1, "transient_error": 1}


async def test_reordering_and_delays_change_order_but_lose_nothing() -> None:
    inner = InMemoryQueueOperator()
    faults = FaultyQueueOperator(inner, seed=5, reorder_rate=0.3, delay_rate=0.3, max_delay=0.02)
    await faults.setup_queue("Jobs")
    sent = [Event(event_type="Job", queue_name="Jobs", body=str(i)) for i in range(50)]
    for event in sent:
        await faults.push(event)
    await faults.flush()

    received: list[str] = []
    while len(received) < len(sent):
        for event in await faults.next("Jobs", max_count=50, wait=1):
            received.append(event.body)
            await faults.complete(event)

    assert sorted(received, key=int) == [e.body for e in sent]
    assert received != [e.body for e in sent]
    assert faults.injected["reorder"] > 0
    assert faults.injected["delay"] > 0


async def test_sessions_keep_their_order() -> None:
    faults = FaultyQueueOperator(InMemoryQueueOperator(), reorder_rate=1.0)
    await faults.setup_queue("Jobs")
    for i in range(5):
        await faults.push(Event(event_type="Job", queue_name="Jobs", body=str(i), session_id="s"))
    received = [e.body for e in await faults.next("Jobs", max_count=5)]
    assert received == ["0", "1", "2", "3", "4"]
    assert faults.injected["reorder"] == 0


async def test_a_seed_makes_random_faults_repeat() -> None:
    async def run(seed: int) -> Counter[str]:
        faults = FaultyQueueOperator(
            InMemoryQueueOperator(), seed=seed, publish_failure_rate=0.5, reorder_rate=0.5
        )
        await faults.setup_queue("Jobs")
        for _ in range(40):
            with contextlib.suppress(ConnectionError):
                await faults.push(Event(event_type="Job", queue_name="Jobs"))
        return faults.injected

    assert await run(1) == await run(1)
    assert await run(1) != await run(2)


async def test_planned_failures_and_crashes() -> None:
    inner = InMemoryQueueOperator()
    faults = FaultyQueueOperator(inner)
    await faults.setup_queue("Jobs")
    faults.fail_next("push", TimeoutError("slow broker"), times=2)
    for _ in range(2):
        with pytest.raises(TimeoutError, match="slow broker"):
            await faults.push(Event(event_type="Job", queue_name="Jobs"))
    faults.fail_next("push", after=True)  # sent, but the confirmation is lost
    with pytest.raises(ConnectionError):
        await faults.push(Event(event_type="Job", queue_name="Jobs", body="sent"))

    faults.fail_next("next", after=True)  # leased, but the reply is lost: given back
    with pytest.raises(ConnectionError):
        await faults.next("Jobs")
    event = await lease(faults, "Jobs")
    assert (event.body, event.delivery_count) == ("sent", 2)

    faults.fail_next("complete")
    with pytest.raises(ConnectionError):
        await faults.complete(event)
    await faults.complete(await lease(faults, "Jobs"))
    assert faults.injected == {"fail:push": 3, "fail:next": 1, "fail:complete": 1}


def test_rates_and_names_are_checked() -> None:
    with pytest.raises(ValueError, match="duplicate_rate is a probability"):
        FaultyQueueOperator(InMemoryQueueOperator(), duplicate_rate=1.5)
    faults = FaultyQueueOperator(InMemoryQueueOperator())
    with pytest.raises(ValueError, match="operation must be one of"):
        faults.fail_next("publish")  # type: ignore[arg-type]


# -- the host under every fault at once -----------------------------------------------------------


@pytest.mark.parametrize("idempotent", [False, True], ids=["no-inbox", "inbox"])
async def test_the_host_loses_nothing_under_random_faults(
    broker: QueueOperator, names: tuple[str, str], idempotent: bool
) -> None:
    """Given every fault at once and actors failing 5% of the time, then every job is done;
    with inboxes (one worker per actor), every job's side effect happens exactly once."""
    job, done = names
    ledger = Ledger()
    faults = FaultyQueueOperator(
        broker,
        seed=11,
        duplicate_rate=0.1,
        lost_lease_rate=0.05,
        lease_expiry_rate=0.05,
        publish_failure_rate=0.05,
        transient_error_rate=0.05,
        delay_rate=0.1,
        reorder_rate=0.1,
        max_delay=0.02,
    )
    descriptors = chain(
        ledger, job=job, done=done, idempotent=idempotent, failure_rate=0.05, max_deliveries=50
    )
    inbox = Inbox.in_memory() if idempotent else None
    async with ActorHost(faults, descriptors, inbox=inbox, backoff=FAST, poll_wait=0.2) as host:
        for event in jobs(JOBS, job):
            while True:  # a publisher retries what the broker refused
                try:
                    await faults.push(event)
                    break
                except ConnectionError:
                    continue
        await until(lambda: len(ledger.tallied) == JOBS, timeout=60, what=f"{JOBS} jobs tallied")
        faults.calm()
        await until(
            lambda: all(s.in_flight == 0 for s in host.stats().values()),
            timeout=10,
            what="nothing in flight",
        )
        if isinstance(broker, InMemoryQueueOperator):
            await faults.wait_idle()

    assert set(ledger.tallied) == {str(i) for i in range(JOBS)}, "nothing lost"
    assert all(s.dead_lettered == 0 for s in host.stats().values())
    if idempotent:
        assert ledger.tallied == {str(i): 1 for i in range(JOBS)}
        assert all(len(ids) == 1 for ids in ledger.done_ids.values())
    injected = faults.injected
    assert {"duplicate", "lost_lease", "lease_expiry", "publish_failure"} <= set(injected)
    assert {"transient_error", "delay", "reorder"} <= set(injected)
