"""What the in-memory broker does beyond the shared contract (Service Bus semantics)."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

import pytest

from beehive import (
    BrokerLimitError,
    Event,
    LeaseLostError,
    QueueConflictError,
    QueueName,
    QueueNotFoundError,
)
from beehive._clock import utcnow
from beehive.queues import DeadLetterInfo, InMemoryQueueOperator, QueueDepth, QueueSettings
from beehive.testing import VirtualClock


@pytest.fixture
async def operator() -> InMemoryQueueOperator:
    return InMemoryQueueOperator()


async def test_an_expired_lease_makes_the_message_visible_again(
    operator: InMemoryQueueOperator,
) -> None:
    await operator.setup_queue("Jobs", QueueSettings(lease_seconds=0.1))
    await operator.push(Event(event_type="Job", queue_name="Jobs"))
    (first,) = await operator.next("Jobs")

    (second,) = await operator.next("Jobs", wait=5)  # arrives once the first lease expires

    assert second.id == first.id
    assert second.delivery_count == 2
    with pytest.raises(LeaseLostError, match="was lost \\(it expired"):
        await operator.complete(first)
    await operator.complete(second)
    assert operator.is_idle


async def test_renewing_keeps_the_lease(operator: InMemoryQueueOperator) -> None:
    await operator.setup_queue("Jobs", QueueSettings(lease_seconds=0.2))
    await operator.push(Event(event_type="Job", queue_name="Jobs"))
    (event,) = await operator.next("Jobs")

    for _ in range(4):
        assert await operator.next("Jobs", wait=0.1) == []
        await operator.renew_lease(event)

    await operator.complete(event)


async def test_settling_twice_is_a_lost_lease(operator: InMemoryQueueOperator) -> None:
    await operator.setup_queue("Jobs")
    await operator.push(Event(event_type="Job", queue_name="Jobs"))
    (event,) = await operator.next("Jobs")
    await operator.complete(event)

    with pytest.raises(LeaseLostError):
        await operator.abandon(event)
    with pytest.raises(LeaseLostError, match="not leased here"):
        await operator.complete(Event(event_type="Job"))


async def test_publishing_to_a_topic_without_subscriptions_is_counted_and_logged(
    operator: InMemoryQueueOperator, caplog: pytest.LogCaptureFixture
) -> None:
    await operator.setup_queue(QueueName.topic_of("Lonely"))

    lonely = Event(event_type="Lonely")
    await operator.push(lonely)

    assert operator.dropped == 1
    assert [(r.levelname, r.getMessage()) for r in caplog.records] == [
        ("WARNING", f"dropped event Lonely {lonely.id}: topic Lonely has no subscription")
    ]
    assert operator.is_idle


async def test_a_session_queue_dead_letters_messages_without_a_session_id(
    operator: InMemoryQueueOperator,
) -> None:
    await operator.setup_queue("Orders-Ship", QueueSettings(sessions=True))

    await operator.push(Event(event_type="Orders"))

    (dead,) = await operator.dead_letters("Orders-Ship")
    assert dead.properties["dead_letter_reason"] == "SessionIdRequired"
    assert "session_id" in str(dead.properties["dead_letter_description"])


async def test_a_delayed_retry_holds_its_session_so_order_is_kept(
    operator: InMemoryQueueOperator,
) -> None:
    await operator.setup_queue("Orders-Ship", QueueSettings(sessions=True))
    for body in ("1", "2"):
        await operator.push(Event(event_type="Orders", session_id="o-1", body=body))

    (first,) = await operator.next("Orders-Ship")
    await operator.abandon(first, delay=0.2)

    assert await operator.next("Orders-Ship", wait=0.1) == [], "2 must not overtake 1"
    (again,) = await operator.next("Orders-Ship", wait=5)
    assert (again.body, again.delivery_count) == ("1", 2)


async def test_depth_and_wait_idle_follow_every_message(
    operator: InMemoryQueueOperator,
) -> None:
    await operator.setup_queue("Jobs")
    await operator.push_batch([Event(event_type="Job", queue_name="Jobs") for _ in range(3)])
    (leased,) = await operator.next("Jobs")
    await operator.dead_letter(leased, "Broken")

    assert await operator.depth("Jobs") == QueueDepth(active=2, dead_lettered=1)
    with pytest.raises(TimeoutError):
        await operator.wait_idle(timeout=0.05)

    for event in await operator.next("Jobs", max_count=5):
        await operator.complete(event)
    await operator.wait_idle(timeout=1)


async def test_deleting_a_queue_wakes_its_waiting_consumers(
    operator: InMemoryQueueOperator,
) -> None:
    await operator.setup_queue("Jobs")
    waiting = asyncio.create_task(operator.next("Jobs", wait=30))
    await asyncio.sleep(0)

    await operator.delete_queue("Jobs")

    with pytest.raises(Exception, match="no subscription or queue named Jobs"):
        await asyncio.wait_for(waiting, timeout=5)


async def test_ids_over_128_characters_are_refused_as_service_bus_does(
    operator: InMemoryQueueOperator,
) -> None:
    await operator.setup_queue("Jobs")

    with pytest.raises(BrokerLimitError, match="session_id of 129 characters; the limit is 128"):
        await operator.push(Event(event_type="Job", queue_name="Jobs", session_id="s" * 129))


async def test_an_untouched_broker_is_idle_at_once() -> None:
    operator = InMemoryQueueOperator()

    assert (operator.is_idle, operator.pending) == (True, 0)
    await operator.wait_idle(timeout=0.01)


async def test_deleting_a_queue_takes_its_messages_out_of_the_idle_count(
    operator: InMemoryQueueOperator,
) -> None:
    await operator.setup_queue("Jobs")
    await operator.setup_queue("Other")
    await operator.push_batch([Event(event_type="Job", queue_name="Jobs") for _ in range(2)])
    later = utcnow() + timedelta(minutes=5)
    await operator.push(Event(event_type="Job", queue_name="Jobs", enqueue_time=later))
    await operator.push(Event(event_type="Job", queue_name="Other"))
    (leased,) = await operator.next("Jobs")
    assert operator.pending == 4

    await operator.delete_queue("Jobs")  # one ready, one scheduled, one leased: all gone

    assert operator.pending == 1
    with pytest.raises(LeaseLostError):
        await operator.complete(leased)  # its queue is gone, and its lease with it
    assert (operator.pending, operator.is_idle) == (1, False), "Other's message still counts"
    (other,) = await operator.next("Other")
    await operator.complete(other)
    await operator.wait_idle(timeout=1)


async def test_deleting_a_topic_or_a_subscription_takes_their_messages_out_of_the_count(
    operator: InMemoryQueueOperator,
) -> None:
    for subscription in ("Orders-Payment", "Orders-Audit", "Refunds-Audit"):
        await operator.setup_queue(subscription)
    await operator.push_batch([Event(event_type="Orders"), Event(event_type="Refunds")])
    assert operator.pending == 3

    await operator.delete_queue("Orders-Audit")
    assert operator.pending == 2
    await operator.delete_queue(QueueName.topic_of("Orders"))
    assert operator.pending == 1
    await operator.delete_queue("Refunds-Audit")

    await operator.wait_idle(timeout=1)
    assert not await operator.queue_exists("Orders-Payment")
    assert await operator.queue_exists(QueueName.topic_of("Refunds"))


async def test_depth_counts_scheduled_messages_until_they_are_due(
    operator: InMemoryQueueOperator,
) -> None:
    async with VirtualClock() as clock:
        await operator.setup_queue("Jobs")
        await operator.push(
            Event(event_type="Job", queue_name="Jobs", enqueue_time=utcnow() + timedelta(hours=1))
        )
        await operator.push(Event(event_type="Job", queue_name="Jobs"))
        (retried,) = await operator.next("Jobs")
        await operator.abandon(retried, delay=60)

        assert await operator.depth("Jobs") == QueueDepth(active=0, scheduled=2)
        await clock.advance(minutes=1)
        assert await operator.depth("Jobs") == QueueDepth(active=1, scheduled=1)
        await clock.advance(hours=1)
        assert await operator.depth("Jobs") == QueueDepth(active=2, scheduled=0)
        assert operator.pending == 2


async def test_a_message_whose_lease_expired_comes_back_before_the_later_ones(
    operator: InMemoryQueueOperator,
) -> None:
    async with VirtualClock() as clock:
        await operator.setup_queue("Jobs", QueueSettings(lease_seconds=1))
        await operator.push_batch(
            [Event(event_type="Job", queue_name="Jobs", body=body) for body in "AB"]
        )
        await operator.next("Jobs")  # A, never settled

        await clock.advance(1)

        (again,) = await operator.next("Jobs")
        assert (again.body, again.delivery_count) == ("A", 2)


async def test_a_lease_that_expires_gives_its_session_back(
    operator: InMemoryQueueOperator,
) -> None:
    async with VirtualClock() as clock:
        await operator.setup_queue("Orders-Ship", QueueSettings(sessions=True, lease_seconds=1))
        for body in ("1", "2"):
            await operator.push(Event(event_type="Orders", session_id="o-1", body=body))
        await operator.next("Orders-Ship")

        await clock.advance(1)

        (again,) = await operator.next("Orders-Ship", wait=5)
        assert (again.body, again.delivery_count) == ("1", 2)
        await operator.complete(again)
        (after,) = await operator.next("Orders-Ship", wait=5)
        assert (after.body, after.delivery_count) == ("2", 1)
        assert clock.elapsed == timedelta(seconds=1)


async def test_setting_up_an_existing_queue_keeps_its_settings(
    operator: InMemoryQueueOperator,
) -> None:
    async with VirtualClock() as clock:
        await operator.setup_queue("Jobs", QueueSettings(lease_seconds=1))
        await operator.setup_queue("Jobs", QueueSettings(lease_seconds=60))
        await operator.push(Event(event_type="Job", queue_name="Jobs"))
        await operator.next("Jobs")

        (again,) = await operator.next("Jobs", wait=120)

        assert (again.delivery_count, clock.elapsed) == (2, timedelta(seconds=1))


async def test_the_broker_says_why_it_refuses_or_buries(operator: InMemoryQueueOperator) -> None:
    await operator.setup_queue("Jobs", QueueSettings(max_deliveries=1))
    await operator.setup_queue(QueueName.topic_of("Orders"))
    await operator.setup_queue("Orders-Ship", QueueSettings(sessions=True))

    with pytest.raises(
        QueueConflictError, match=r"^cannot create topic Jobs: a queue has that name$"
    ):
        await operator.setup_queue("Jobs-Audit")
    with pytest.raises(
        QueueConflictError, match=r"^cannot create queue Orders: a topic has that name$"
    ):
        await operator.setup_queue("Orders")
    with pytest.raises(
        QueueNotFoundError,
        match=r"^no subscription or queue named Refunds-Audit; call setup_queue$",
    ):
        await operator.next("Refunds-Audit")
    await operator.push(Event(event_type="Job", queue_name="Jobs"))
    await operator.abandon((await operator.next("Jobs"))[0])
    assert await operator.next("Jobs") == []
    await operator.push(Event(event_type="Orders"))

    await operator.setup_queue("Convoy", QueueSettings(sessions=True))
    await operator.push(Event(event_type="Job", queue_name="Convoy"))
    with pytest.raises(QueueNotFoundError) as nowhere:
        await operator.push(Event(event_type="Nowhere", id="e-1"))

    (worn,) = await operator.dead_letters("Jobs")
    (unsessioned,) = await operator.dead_letters("Orders-Ship")
    (in_queue,) = await operator.dead_letters("Convoy")
    assert DeadLetterInfo.of(worn).description == "delivered 1 times without completion"
    assert DeadLetterInfo.of(unsessioned).description == (
        "Orders-Ship requires sessions: publish with a session_id"
    )
    assert DeadLetterInfo.of(in_queue).description == (
        "Convoy requires sessions: publish with a session_id"
    )
    assert (unsessioned.delivery_count, in_queue.delivery_count) == (0, 0), "never delivered"
    assert str(nowhere.value) == (
        "cannot publish event Nowhere e-1: no topic or queue named 'Nowhere'; "
        "call setup_queue first"
    )


async def test_a_session_message_delivered_too_often_is_buried_and_the_next_one_goes(
    operator: InMemoryQueueOperator,
) -> None:
    await operator.setup_queue("Orders-Ship", QueueSettings(sessions=True, max_deliveries=1))
    for body in ("1", "2"):
        await operator.push(Event(event_type="Orders", session_id="o-1", body=body))
    await operator.abandon((await operator.next("Orders-Ship"))[0])

    (after,) = await operator.next("Orders-Ship")  # "1" is dead-lettered on the way

    assert (after.body, after.delivery_count) == ("2", 1)
    assert [e.body for e in await operator.dead_letters("Orders-Ship")] == ["1"]


async def test_a_message_given_back_goes_first_and_a_scheduled_one_last(
    operator: InMemoryQueueOperator,
) -> None:
    async with VirtualClock() as clock:
        await operator.setup_queue("Jobs")
        soon = utcnow() + timedelta(seconds=1)
        await operator.push(Event(event_type="Job", queue_name="Jobs", body="C", enqueue_time=soon))
        await operator.push_batch(
            [Event(event_type="Job", queue_name="Jobs", body=body) for body in "AB"]
        )
        (first,) = await operator.next("Jobs")
        await operator.abandon(first)  # no delay: back at the head
        await clock.advance(2)  # C is due: behind what was waiting

        leased = await operator.next("Jobs", max_count=3)

        assert [(e.body, e.delivery_count) for e in leased] == [("A", 2), ("B", 1), ("C", 1)]
        assert not operator._timers, "a timer that fired is forgotten"


@pytest.mark.parametrize("settle", ["abandon", "dead_letter", "complete"])
async def test_settling_a_session_message_lets_the_next_one_of_its_session_go(
    operator: InMemoryQueueOperator, settle: str
) -> None:
    await operator.setup_queue("Orders-Ship", QueueSettings(sessions=True))
    for body in ("1", "2"):
        await operator.push(Event(event_type="Orders", session_id="o-1", body=body))
    (first,) = await operator.next("Orders-Ship")
    assert await operator.next("Orders-Ship") == [], "one at a time per session"

    if settle == "dead_letter":
        await operator.dead_letter(first, "Broken")
    else:
        await getattr(operator, settle)(first)

    (after,) = await operator.next("Orders-Ship")
    assert after.body == ("1" if settle == "abandon" else "2")


async def test_a_replayed_dead_letter_is_ready_at_once(operator: InMemoryQueueOperator) -> None:
    async with VirtualClock() as clock:
        await operator.setup_queue("Jobs")
        await operator.push(Event(event_type="Job", queue_name="Jobs"))
        await operator.dead_letter((await operator.next("Jobs"))[0], "Broken")

        await operator.replay_dead_letters("Jobs")

        assert len(await operator.next("Jobs")) == 1
        assert clock.elapsed == timedelta(0)


async def test_the_broker_logs_the_dead_letters_it_makes_and_leaves_the_hosts_to_the_host(
    operator: InMemoryQueueOperator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="beehive.queues.memory")
    await operator.setup_queue("Jobs", QueueSettings(max_deliveries=1))
    await operator.push_batch(
        [Event(event_type="Job", queue_name="Jobs", id=f"e-{n}") for n in (1, 2)]
    )
    first, second = await operator.next("Jobs", max_count=2)
    await operator.dead_letter(first, "Refused", actor="A@Jobs")  # the host logs this one
    await operator.abandon(second)
    await operator.next("Jobs")  # delivered too often: the broker buries it

    assert [(r.levelname, r.getMessage()) for r in caplog.records] == [
        ("DEBUG", "dead-lettered event Job e-1 in Jobs: Refused"),
        ("WARNING", "dead-lettered event Job e-2 in Jobs: MaxDeliveryCountExceeded"),
    ]
