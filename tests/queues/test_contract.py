"""The queue-operator contract: what every backend does the same way."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from beehive import (
    ActorDescriptor,
    ActorHost,
    BrokerUnavailableError,
    Event,
    LeaseLostError,
    QueueConflictError,
    QueueName,
    QueueNotFoundError,
)
from beehive.metrics import metrics_response
from beehive.queues import DeadLetterInfo, QueueOperator, QueueSettings

Unique = Callable[[str], str]


async def lease_one(operator: QueueOperator, name: str, wait: float = 5.0) -> Event:
    events = await operator.next(name, wait=wait)
    assert len(events) == 1, f"expected one event from {name}, got {events}"
    return events[0]


async def assert_empty(operator: QueueOperator, name: str, wait: float = 0.2) -> None:
    assert await operator.next(name, wait=wait) == []


async def test_setup_creates_subscription_topic_and_queue(
    operator: QueueOperator, unique: Unique
) -> None:
    topic, queue = unique("Orders"), unique("Jobs")
    subscription = f"{topic}-Billing"

    await operator.setup_queue(subscription)
    await operator.setup_queue(queue)

    assert await operator.queue_exists(subscription)
    assert await operator.queue_exists(QueueName.topic_of(topic))
    assert await operator.queue_exists(queue)
    assert not await operator.queue_exists(f"{topic}-Other")


async def test_setup_is_idempotent_and_delete_removes(
    operator: QueueOperator, unique: Unique
) -> None:
    subscription = f"{unique('Orders')}-Billing"
    await operator.setup_queue(subscription)
    await operator.setup_queue(subscription)

    await operator.delete_queue(subscription)

    assert not await operator.queue_exists(subscription)


async def test_deleting_what_is_not_there_is_fine(operator: QueueOperator, unique: Unique) -> None:
    topic, queue = unique("Orders"), unique("Jobs")
    await operator.setup_queue(f"{topic}-Billing")

    await operator.delete_queue(f"{topic}-Audit")  # a topic without that subscription
    await operator.delete_queue(f"{unique('Refunds')}-Audit")  # no such topic at all
    await operator.delete_queue(queue)
    await operator.delete_queue(QueueName.topic_of(unique("Nothing")))

    assert await operator.queue_exists(f"{topic}-Billing")


async def test_every_field_round_trips(operator: QueueOperator, unique: Unique) -> None:
    queue = unique("Jobs")
    await operator.setup_queue(queue)
    sent = Event(
        event_type="OrderAccepted",
        queue_name=queue,
        body='{"order_id": "o-1", "note": "caf\\u00e9"}',
        content_type="application/json",
        url="https://example.invalid/blobs/1",
        properties={"tenant": "acme", "priority": 3, "ratio": 0.5, "urgent": True},
        session_id="customer-7",
        correlation_id="corr-1",
        causation_id="cause-1",
        timestamp=datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=UTC),
    )

    await operator.push(sent)
    received = await lease_one(operator, queue)
    await operator.complete(received)

    assert received.delivery_count == 1
    assert received.model_dump(exclude={"delivery_count"}) == sent.model_dump(
        exclude={"delivery_count"}
    )


async def test_topic_fans_out_a_copy_to_every_subscription(
    operator: QueueOperator, unique: Unique
) -> None:
    topic = unique("OrderAccepted")
    for subscription in ("Payment", "Audit"):
        await operator.setup_queue(f"{topic}-{subscription}")

    await operator.push(Event(event_type=topic, body='{"n": 1}'))

    for subscription in ("Payment", "Audit"):
        event = await lease_one(operator, f"{topic}-{subscription}")
        assert event.body == '{"n": 1}'
        await operator.complete(event)


async def test_publishing_to_a_topic_without_subscriptions_is_not_an_error(
    operator: QueueOperator, unique: Unique
) -> None:
    topic = unique("Lonely")
    await operator.setup_queue(QueueName.topic_of(topic))

    await operator.push(Event(event_type=topic))


async def test_publishing_to_an_unknown_destination_raises(
    operator: QueueOperator, unique: Unique
) -> None:
    with pytest.raises(QueueNotFoundError, match="Nowhere"):
        await operator.push(Event(event_type=unique("Nowhere")))


async def test_leasing_from_an_unknown_queue_raises(
    operator: QueueOperator, unique: Unique
) -> None:
    with pytest.raises(QueueNotFoundError):
        await operator.next(f"{unique('Nowhere')}-Sub")


async def test_complete_removes_the_message(operator: QueueOperator, unique: Unique) -> None:
    queue = unique("Jobs")
    await operator.setup_queue(queue)
    await operator.push(Event(event_type="Job", queue_name=queue))

    await operator.complete(await lease_one(operator, queue))

    await assert_empty(operator, queue)


async def test_a_leased_message_is_invisible_to_others(
    operator: QueueOperator, unique: Unique
) -> None:
    queue = unique("Jobs")
    await operator.setup_queue(queue)
    await operator.push(Event(event_type="Job", queue_name=queue))

    leased = await lease_one(operator, queue)

    await assert_empty(operator, queue)
    await operator.complete(leased)


async def test_abandon_redelivers_with_one_more_delivery(
    operator: QueueOperator, unique: Unique
) -> None:
    queue = unique("Jobs")
    await operator.setup_queue(queue)
    await operator.push(Event(event_type="Job", queue_name=queue))

    first = await lease_one(operator, queue)
    await operator.abandon(first)
    second = await lease_one(operator, queue)

    assert second.id == first.id
    assert second.delivery_count == 2
    await operator.complete(second)


async def test_abandon_with_delay_is_not_redelivered_early(
    operator: QueueOperator, unique: Unique
) -> None:
    queue = unique("Jobs")
    await operator.setup_queue(queue)
    await operator.push(Event(event_type="Job", queue_name=queue))

    await operator.abandon(await lease_one(operator, queue), delay=timedelta(seconds=1))
    abandoned_at = asyncio.get_running_loop().time()
    again = await lease_one(operator, queue, wait=10)

    assert asyncio.get_running_loop().time() - abandoned_at >= 0.9
    assert again.delivery_count == 2
    await operator.complete(again)


async def test_scheduled_event_is_not_delivered_early(
    operator: QueueOperator, unique: Unique
) -> None:
    queue = unique("Jobs")
    await operator.setup_queue(queue)
    due = datetime.now(UTC) + timedelta(seconds=1)

    await operator.push(Event(event_type="Reminder", queue_name=queue, enqueue_time=due))
    event = await lease_one(operator, queue, wait=10)

    assert datetime.now(UTC) >= due - timedelta(milliseconds=50)
    assert event.enqueue_time == due
    await operator.complete(event)


async def test_dead_letter_keeps_the_event_with_its_reason(
    operator: QueueOperator, unique: Unique
) -> None:
    queue = unique("Jobs")
    await operator.setup_queue(queue)
    sent = Event(event_type="Job", queue_name=queue, body='{"bad": true}')
    await operator.push(sent)

    await operator.dead_letter(await lease_one(operator, queue), "Broken", "it is broken")

    await assert_empty(operator, queue)
    dead = await operator.dead_letters(queue)
    assert [e.id for e in dead] == [sent.id]
    assert dead[0].body == sent.body
    assert dead[0].properties["dead_letter_reason"] == "Broken"
    assert dead[0].properties["dead_letter_description"] == "it is broken"
    assert len(await operator.dead_letters(queue)) == 1, "peeking must not remove"


async def test_broker_dead_letters_after_max_deliveries(
    operator: QueueOperator, unique: Unique
) -> None:
    queue = unique("Jobs")
    await operator.setup_queue(queue, QueueSettings(max_deliveries=3))
    await operator.push(Event(event_type="Job", queue_name=queue))

    for delivery in (1, 2, 3):
        event = await lease_one(operator, queue)
        assert event.delivery_count == delivery
        await operator.abandon(event)

    await assert_empty(operator, queue, wait=0.5)
    dead = await operator.dead_letters(queue)
    assert len(dead) == 1
    assert dead[0].properties["dead_letter_reason"] == "MaxDeliveryCountExceeded"
    assert dead[0].delivery_count == DeadLetterInfo.of(dead[0]).delivery_count == 3


async def test_waiting_consumer_wakes_when_a_message_arrives(
    operator: QueueOperator, unique: Unique
) -> None:
    queue = unique("Jobs")
    await operator.setup_queue(queue)
    waiting = asyncio.create_task(operator.next(queue, wait=30))
    await asyncio.sleep(0)  # let the consumer start waiting

    await operator.push(Event(event_type="Job", queue_name=queue))
    events = await asyncio.wait_for(waiting, timeout=10)

    assert len(events) == 1
    await operator.complete(events[0])


async def test_next_leases_up_to_max_count_in_order(
    operator: QueueOperator, unique: Unique
) -> None:
    queue = unique("Jobs")
    await operator.setup_queue(queue)
    sent = [Event(event_type="Job", queue_name=queue, body=str(i)) for i in range(5)]
    await operator.push_batch(sent)

    leased: list[Event] = []
    while len(leased) < 3:
        leased += await operator.next(queue, max_count=3 - len(leased), wait=5)

    assert [e.body for e in leased] == ["0", "1", "2"]
    for event in leased:
        await operator.complete(event)


async def test_sessions_deliver_one_message_per_session_in_order(
    operator: QueueOperator, unique: Unique
) -> None:
    subscription = f"{unique('Orders')}-Ship"
    await operator.setup_queue(subscription, QueueSettings(sessions=True))
    topic = QueueName(subscription).topic
    for session, body in [("a", "a1"), ("a", "a2"), ("b", "b1")]:
        await operator.push(Event(event_type=topic, session_id=session, body=body))

    first = await operator.next(subscription, max_count=10, wait=5)
    while len(first) < 2:
        first += await operator.next(subscription, max_count=10, wait=5)

    assert sorted(e.body for e in first) == ["a1", "b1"], "one in flight per session"
    for event in first:
        await operator.complete(event)
    after = await lease_one(operator, subscription)
    assert after.body == "a2"
    await operator.complete(after)


# -- dead-letter tooling: replay and purge ----------------------------------------------------


async def dead_letter_three(operator: QueueOperator, unique: Unique) -> tuple[str, list[Event]]:
    """A topic with subscriptions Payment and Audit; Payment dead-letters three events (reasons
    ``A raised X``, ``B raised Y``, ``A raised Z``) while Audit completes its copies."""
    topic = unique("Orders")
    payment, audit = f"{topic}-Payment", f"{topic}-Audit"
    for subscription in (payment, audit):
        await operator.setup_queue(subscription)
    sent = [
        Event(event_type=topic, body=str(n), properties={"n": n}, correlation_id=f"o-{n}")
        for n in range(3)
    ]
    await operator.push_batch(sent)
    for reason in ("A raised X", "B raised Y", "A raised Z"):
        await operator.dead_letter(await lease_one(operator, payment), reason, "why")
    for _ in sent:
        await operator.complete(await lease_one(operator, audit))
    return topic, sent


async def test_replay_by_id_returns_the_event_to_its_subscription_only(
    operator: QueueOperator, unique: Unique
) -> None:
    topic, sent = await dead_letter_three(operator, unique)
    payment, audit = f"{topic}-Payment", f"{topic}-Audit"

    replayed = await operator.replay_dead_letters(payment, ids=[sent[1].id])

    assert replayed == 1
    again = await lease_one(operator, payment)
    assert again.id == sent[1].id
    assert again.body == "1"
    assert again.delivery_count == 1, "a replay starts its deliveries afresh"
    assert again.properties["n"] == 1
    assert again.properties["replay_count"] == 1
    assert datetime.fromisoformat(str(again.properties["replayed_at"])).tzinfo is not None
    assert "dead_letter_reason" not in again.properties
    assert "dead_letter_description" not in again.properties
    await operator.complete(again)
    await assert_empty(operator, audit, wait=0.5)
    assert [e.id for e in await operator.dead_letters(payment)] == [sent[0].id, sent[2].id]
    assert await operator.dead_letters(audit) == []


async def test_replay_by_reason_keeps_the_others_in_order(
    operator: QueueOperator, unique: Unique
) -> None:
    topic, sent = await dead_letter_three(operator, unique)
    payment = f"{topic}-Payment"

    assert await operator.replay_dead_letters(payment, reason="A raised") == 2

    leased = []
    for _ in range(2):  # one at a time: a backend may prefetch no more than one is asked for
        leased.append(await lease_one(operator, payment))
        await operator.complete(leased[-1])
    assert sorted(e.id for e in leased) == sorted([sent[0].id, sent[2].id])
    assert [e.id for e in await operator.dead_letters(payment)] == [sent[1].id]
    assert await operator.replay_dead_letters(payment, reason="nothing like it") == 0


async def test_replay_all_and_again_counts_the_replays(
    operator: QueueOperator, unique: Unique
) -> None:
    topic, sent = await dead_letter_three(operator, unique)
    payment, audit = f"{topic}-Payment", f"{topic}-Audit"

    assert await operator.replay_dead_letters(payment) == 3
    first = await lease_one(operator, payment)
    await operator.dead_letter(first, "C raised W")
    for _ in sent[1:]:
        await operator.complete(await lease_one(operator, payment))
    assert await operator.replay_dead_letters(payment, ids=[first.id]) == 1
    second = await lease_one(operator, payment)

    assert second.id == first.id
    assert second.properties["replay_count"] == 2
    await operator.complete(second)
    assert await operator.dead_letters(payment) == []
    await assert_empty(operator, audit, wait=0.5)


async def test_replay_into_a_plain_queue(operator: QueueOperator, unique: Unique) -> None:
    queue = unique("Jobs")
    await operator.setup_queue(queue)
    sent = Event(event_type="Job", queue_name=queue, body="{}", session_id=None)
    await operator.push(sent)
    await operator.dead_letter(await lease_one(operator, queue), "Broken")

    assert await operator.replay_dead_letters(queue, ids=[sent.id, "no-such-id"]) == 1

    again = await lease_one(operator, queue)
    assert (again.id, again.delivery_count, again.properties["replay_count"]) == (sent.id, 1, 1)
    await operator.complete(again)


async def test_purge_by_id_by_reason_and_all(operator: QueueOperator, unique: Unique) -> None:
    topic, sent = await dead_letter_three(operator, unique)
    payment, audit = f"{topic}-Payment", f"{topic}-Audit"

    assert await operator.purge_dead_letters(payment, ids=[sent[0].id]) == 1
    assert [e.id for e in await operator.dead_letters(payment)] == [sent[1].id, sent[2].id]
    assert await operator.purge_dead_letters(payment, reason="B raised") == 1
    assert [e.id for e in await operator.dead_letters(payment)] == [sent[2].id]
    assert await operator.purge_dead_letters(payment) == 1

    assert await operator.dead_letters(payment) == []
    await assert_empty(operator, payment)
    await assert_empty(operator, audit)


async def test_replay_or_purge_of_an_unknown_queue_raises(
    operator: QueueOperator, unique: Unique
) -> None:
    with pytest.raises(QueueNotFoundError):
        await operator.replay_dead_letters(f"{unique('Nowhere')}-Sub")
    with pytest.raises(QueueNotFoundError):
        await operator.purge_dead_letters(unique("Nowhere"))


# -- the lease handle ---------------------------------------------------------------------------


async def test_a_leased_event_is_a_plain_value_settled_by_identity(
    operator: QueueOperator, unique: Unique
) -> None:
    queue = unique("Jobs")
    await operator.setup_queue(queue)
    await operator.push(Event(event_type="Job", queue_name=queue))
    event = await lease_one(operator, queue)

    assert event.__pydantic_private__ is None, "no broker state rides on the event"
    with pytest.raises(LeaseLostError, match="not leased here"):
        await operator.complete(event.model_copy())  # an equal copy is not the leased object
    await operator.complete(event)
    with pytest.raises(LeaseLostError, match="settled already"):
        await operator.complete(event)


async def test_equal_copies_from_two_subscriptions_settle_independently(
    operator: QueueOperator, unique: Unique
) -> None:
    topic = unique("Orders")
    payment, audit = f"{topic}-Payment", f"{topic}-Audit"
    for subscription in (payment, audit):
        await operator.setup_queue(subscription)
    await operator.push(Event(event_type=topic))
    first, second = await lease_one(operator, payment), await lease_one(operator, audit)
    assert first.id == second.id

    await operator.complete(first)
    await operator.abandon(second)

    again = await lease_one(operator, audit)
    assert (again.id, again.delivery_count) == (second.id, 2)
    await operator.complete(again)
    await assert_empty(operator, payment)


async def test_bad_arguments_are_refused_with_what_is_allowed(
    operator: QueueOperator, unique: Unique
) -> None:
    queue = unique("Jobs")
    await operator.setup_queue(queue)

    with pytest.raises(ValueError, match="max_count must be an int of at least 1"):
        await operator.next(queue, max_count=0)
    with pytest.raises(ValueError, match="wait cannot be negative"):
        await operator.next(queue, wait=-1)
    with pytest.raises(QueueNotFoundError, match="is a topic"):
        await operator.next(QueueName.topic_of(unique("Orders")))
    with pytest.raises(TypeError, match=r"^ids is a collection of event ids, not one str$"):
        await operator.purge_dead_letters(queue, ids="abc")
    with pytest.raises(TypeError, match=r"^push takes an Event, not dict$"):
        await operator.push({"event_type": "Job"})  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"^push_batch takes Events, not str$"):
        await operator.push_batch([Event(event_type="Job", queue_name=queue), "Job"])  # type: ignore[list-item]
    job = Event(event_type="Job", queue_name=queue)
    with pytest.raises(ValueError, match=r"^delay cannot be negative, got -1$"):
        await operator.abandon(job, delay=-1)
    with pytest.raises(ValueError, match=r"^dead_letter needs a reason$"):
        await operator.dead_letter(job, "")
    assert await operator.next(queue, wait=0.2) == [], "nothing was sent"


# -- topology conflicts -------------------------------------------------------------------------


async def test_a_queue_and_a_topic_cannot_share_a_name(
    operator: QueueOperator, unique: Unique
) -> None:
    queue, topic = unique("Jobs"), unique("Orders")
    await operator.setup_queue(queue)
    await operator.setup_queue(QueueName.topic_of(topic))

    with pytest.raises(QueueConflictError, match=queue):
        await operator.setup_queue(f"{queue}-Sub")
    with pytest.raises(QueueConflictError, match=topic):
        await operator.setup_queue(topic)


# -- inspection ---------------------------------------------------------------------------------


async def test_depth_counts_ready_and_dead_lettered_messages(
    operator: QueueOperator, unique: Unique
) -> None:
    ready, dead = unique("Ready"), unique("Dead")
    for queue in (ready, dead):
        await operator.setup_queue(queue)
    await operator.push_batch([Event(event_type="Job", queue_name=ready) for _ in range(2)])
    await operator.push(Event(event_type="Job", queue_name=dead))
    await operator.dead_letter(await lease_one(operator, dead), "Broken")

    waiting, buried = await operator.depth(ready), await operator.depth(dead)

    assert (waiting.active, waiting.dead_lettered) == (2, 0)
    assert (buried.active, buried.dead_lettered) == (0, 1)


async def test_depth_counts_leased_and_scheduled_messages_where_the_broker_knows(
    operator: QueueOperator, unique: Unique
) -> None:
    leasing, later = unique("Leasing"), unique("Later")
    for queue in (leasing, later):
        await operator.setup_queue(queue)
    await operator.push(Event(event_type="Job", queue_name=leasing))
    due = datetime.now(UTC) + timedelta(minutes=5)
    await operator.push(Event(event_type="Job", queue_name=later, enqueue_time=due))
    leased = await lease_one(operator, leasing)

    in_flight, scheduled = await operator.depth(leasing), await operator.depth(later)

    assert in_flight.leased in (1, None)
    assert scheduled.scheduled in (1, None)
    if scheduled.scheduled == 1:
        assert scheduled.active == 0
    await operator.complete(leased)


async def test_depth_of_an_unknown_queue_raises(operator: QueueOperator, unique: Unique) -> None:
    with pytest.raises(QueueNotFoundError):
        await operator.depth(f"{unique('Nowhere')}-Sub")


async def test_metrics_show_the_queue_depths_of_every_backend(
    operator: QueueOperator, unique: Unique
) -> None:
    queue = unique("Jobs")
    await operator.setup_queue(queue)
    await operator.push(Event(event_type="Job", queue_name=queue))
    host = ActorHost(operator, [ActorDescriptor(Idle, queue)])

    text = bytes((await metrics_response(host, None)).body).decode()

    assert f'beehive_queue_messages{{queue="{queue}",state="active"}} 1.0' in text
    assert f'beehive_queue_messages{{queue="{queue}",state="dead_lettered"}} 0.0' in text


class Idle:
    async def process(self, event: Event) -> list[Event]:
        return []


# -- dead-letter metadata -----------------------------------------------------------------------


async def test_dead_letter_metadata_is_structured(operator: QueueOperator, unique: Unique) -> None:
    queue = unique("Jobs")
    await operator.setup_queue(queue)
    await operator.push(Event(event_type="Job", queue_name=queue))
    event = await lease_one(operator, queue)
    before = datetime.now(UTC)

    await operator.dead_letter(
        event,
        "Charge@Orders-Payment raised ValueError: declined",
        "card expired",
        actor="Charge@Orders-Payment",
        error_type="ValueError",
    )

    (dead,) = await operator.dead_letters(queue)
    info = DeadLetterInfo.of(dead)
    assert info.reason == "Charge@Orders-Payment raised ValueError: declined"
    assert info.description == "card expired"
    assert (info.actor, info.error_type, info.delivery_count) == (
        "Charge@Orders-Payment",
        "ValueError",
        1,
    )
    assert info.dead_lettered_at is not None
    assert before - timedelta(seconds=5) <= info.dead_lettered_at <= datetime.now(UTC)


async def test_a_broker_dead_letter_names_no_actor(operator: QueueOperator, unique: Unique) -> None:
    queue = unique("Jobs")
    await operator.setup_queue(queue, QueueSettings(max_deliveries=1))
    await operator.push(Event(event_type="Job", queue_name=queue))
    await operator.abandon(await lease_one(operator, queue))
    await assert_empty(operator, queue, wait=0.5)

    (dead,) = await operator.dead_letters(queue)
    info = DeadLetterInfo.of(dead)
    assert info.reason == "MaxDeliveryCountExceeded"
    assert (info.actor, info.error_type) == (None, None)
    assert info.delivery_count >= 1


async def test_a_replay_drops_every_piece_of_dead_letter_metadata(
    operator: QueueOperator, unique: Unique
) -> None:
    queue = unique("Jobs")
    await operator.setup_queue(queue)
    await operator.push(Event(event_type="Job", queue_name=queue, properties={"tenant": "acme"}))
    await operator.dead_letter(
        await lease_one(operator, queue), "Broken", "why", actor="A@Jobs", error_type="KeyError"
    )

    await operator.replay_dead_letters(queue)

    again = await lease_one(operator, queue)
    assert set(again.properties) == {"tenant", "replay_count", "replayed_at"}
    await operator.complete(again)


# -- errors -------------------------------------------------------------------------------------


async def test_an_unreachable_broker_raises_broker_unavailable(
    unreachable: QueueOperator, unique: Unique
) -> None:
    with pytest.raises(BrokerUnavailableError) as raised:
        await unreachable.setup_queue(unique("Jobs"))

    assert isinstance(raised.value, ConnectionError)
    assert "wrong-secret" not in str(raised.value)
