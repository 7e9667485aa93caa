"""What the RabbitMQ operator does beyond the contract suite, on the local broker.

The contract suite (test_contract.py) runs against RabbitMQ through the shared backend list;
these tests cover the mapping onto AMQP, delivery counting across crashes, prefetch, lost
connections, a worker process killed mid-run and a broker restart.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import subprocess
from collections import Counter
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta

import pytest

from beehive import BrokerUnavailableError, Event, LeaseLostError, QueueNotFoundError
from beehive.names import QueueName
from beehive.queues import QueueOperator, QueueSettings
from tests.queues.rabbitmq_chain import collect, jobs, worker_host
from tests.queues.rabbitmq_support import (
    RABBITMQ_URL,
    broker_problem,
    rabbitmq_backend,
    rabbitmqctl,
    require_broker,
    start_worker,
)

aio_pika = pytest.importorskip("aio_pika")
from beehive.queues.rabbitmq import RabbitMQQueueOperator  # noqa: E402

Unique = Callable[[str], str]


@pytest.fixture
async def rabbit() -> AsyncIterator[QueueOperator]:
    async with rabbitmq_backend() as operator:
        yield operator


@pytest.fixture
async def raw() -> AsyncIterator[aio_pika.abc.AbstractChannel]:
    """A plain aio-pika channel, to look at what the operator put on the wire."""
    require_broker()
    connection = await aio_pika.connect(RABBITMQ_URL)
    async with connection:
        yield await connection.channel()


async def lease_one(operator: QueueOperator, name: str, wait: float = 5.0) -> Event:
    events = await operator.next(name, wait=wait)
    assert len(events) == 1, f"expected one event from {name}, got {events}"
    return events[0]


# -- connection -----------------------------------------------------------------------------------


async def test_the_password_never_shows() -> None:
    operator = RabbitMQQueueOperator("amqp://user:s3cret@127.0.0.1:1/")

    with pytest.raises(ConnectionError) as raised:
        await operator.connect()

    assert "s3cret" not in repr(operator)
    assert "s3cret" not in str(raised.value)
    assert "****" in repr(operator)
    await operator.close()


async def test_a_server_that_never_answers_the_handshake_is_unavailable_in_time() -> None:
    """A port that accepts TCP but speaks no AMQP (a wrong port, a stuck broker) must not
    hang ``beehive run`` or ``beehive dlq`` forever."""
    accepted: list[asyncio.StreamWriter] = []
    server = await asyncio.start_server(lambda _, writer: accepted.append(writer), "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    operator = RabbitMQQueueOperator(f"amqp://u:s3cret@127.0.0.1:{port}/", connect_timeout=0.5)

    async with server:
        with pytest.raises(BrokerUnavailableError, match=r"handshake within 0\.5 s") as raised:
            async with asyncio.timeout(10):
                await operator.connect()
        for writer in accepted:
            writer.close()

    assert accepted, "the operator never connected"
    assert "s3cret" not in str(raised.value)
    await operator.close()


def test_settings_are_checked() -> None:
    with pytest.raises(ValueError, match="connect_timeout"):
        RabbitMQQueueOperator(connect_timeout=0)
    with pytest.raises(ValueError, match="prefetch"):
        RabbitMQQueueOperator(prefetch=0)
    with pytest.raises(ValueError, match="queue_type"):
        RabbitMQQueueOperator(queue_type="stream")  # type: ignore[arg-type]


# -- mapping ------------------------------------------------------------------------------------


async def test_an_event_is_an_amqp_message_with_its_fields_in_properties_and_headers(
    rabbit: QueueOperator, raw: aio_pika.abc.AbstractChannel, unique: Unique
) -> None:
    queue = unique("Jobs")
    await rabbit.setup_queue(queue)
    sent = Event(
        event_type="OrderAccepted",
        queue_name=queue,
        body='{"order_id": "o-1"}',
        url="https://example.invalid/1",
        properties={"tenant": "acme", "priority": 3},
        correlation_id="corr-1",
        causation_id="cause-1",
        timestamp=datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=UTC),
    )

    await rabbit.push(sent)
    message = await (await raw.get_queue(queue)).get(timeout=5)
    await message.ack()

    assert message.message_id == sent.id
    assert message.type == "OrderAccepted"
    assert message.correlation_id == "corr-1"
    assert message.content_type == "application/json"
    assert message.delivery_mode == aio_pika.DeliveryMode.PERSISTENT
    assert message.body == sent.body.encode()
    headers = message.headers
    assert headers["tenant"] == "acme"
    assert headers["priority"] == 3
    assert headers["beehive"] == {
        "timestamp": "2026-01-02T03:04:05.678000+00:00",
        "queue_name": queue,
        "url": "https://example.invalid/1",
        "causation_id": "cause-1",
    }


async def test_a_message_from_another_publisher_is_read_as_an_event(
    rabbit: QueueOperator, raw: aio_pika.abc.AbstractChannel, unique: Unique
) -> None:
    queue = unique("Jobs")
    await rabbit.setup_queue(queue)

    await raw.default_exchange.publish(
        aio_pika.Message(b"hello", headers={"source": "legacy", "n": 7}), routing_key=queue
    )
    event = await lease_one(rabbit, queue)
    await rabbit.complete(event)

    assert event.body == "hello"
    assert event.event_type == queue, "no AMQP type: named after the queue's topic"
    assert event.properties == {"source": "legacy", "n": 7}
    assert event.delivery_count == 1


async def test_enqueue_time_on_a_topic_reaches_every_subscription_when_due(
    rabbit: QueueOperator, unique: Unique
) -> None:
    topic = unique("Reminder")
    for subscription in ("Mail", "Sms"):
        await rabbit.setup_queue(f"{topic}-{subscription}")
    due = datetime.now(UTC) + timedelta(milliseconds=700)

    await rabbit.push(Event(event_type=topic, enqueue_time=due))

    for subscription in ("Mail", "Sms"):
        event = await lease_one(rabbit, f"{topic}-{subscription}", wait=10)
        assert datetime.now(UTC) >= due
        assert event.enqueue_time == due
        assert event.delivery_count == 1
        await rabbit.complete(event)


async def test_delivery_count_and_delay_survive_a_second_abandon(
    rabbit: QueueOperator, unique: Unique
) -> None:
    queue = unique("Jobs")
    await rabbit.setup_queue(queue)
    await rabbit.push(Event(event_type="Job", queue_name=queue))

    await rabbit.abandon(await lease_one(rabbit, queue), delay=0.3)
    await rabbit.abandon(await lease_one(rabbit, queue), delay=0.05)
    third = await lease_one(rabbit, queue)

    assert third.delivery_count == 3
    await rabbit.complete(third)


# -- delivery counting across crashes ------------------------------------------------------------


async def test_delivery_count_counts_a_consumer_that_died(unique: Unique) -> None:
    queue = unique("Jobs")
    async with rabbitmq_backend() as first, rabbitmq_backend() as second:
        await first.setup_queue(queue)
        await first.push(Event(event_type="Job", queue_name=queue))
        assert (await lease_one(first, queue)).delivery_count == 1

        await first.close()  # dies holding the lease: the broker takes it back
        again = await lease_one(second, queue)
        assert again.delivery_count == 2
        await second.abandon(again)
        third = await lease_one(second, queue)

        assert third.delivery_count == 3
        await second.complete(third)


async def test_crashing_more_than_max_deliveries_times_dead_letters(unique: Unique) -> None:
    queue = unique("Jobs")
    async with rabbitmq_backend() as setup:
        await setup.setup_queue(queue, QueueSettings(max_deliveries=2))
        await setup.push(Event(event_type="Poison", queue_name=queue))
        for delivery in (1, 2):
            async with rabbitmq_backend() as doomed:
                assert (await lease_one(doomed, queue)).delivery_count == delivery
            # closing without settling is what a crash looks like to the broker

        assert await setup.next(queue, wait=0.5) == []
        dead = await setup.dead_letters(queue)

    assert [e.event_type for e in dead] == ["Poison"]
    assert dead[0].properties["dead_letter_reason"] == "MaxDeliveryCountExceeded"
    assert dead[0].delivery_count == 2  # its deliveries, as on every broker


# -- prefetch -----------------------------------------------------------------------------------


async def test_a_consumer_fetches_no_more_than_its_callers_ask_for(unique: Unique) -> None:
    queue = unique("Jobs")
    async with rabbitmq_backend() as busy, rabbitmq_backend() as idle:
        await busy.setup_queue(queue)
        await busy.push_batch([Event(event_type="Job", queue_name=queue) for _ in range(4)])

        held = await lease_one(busy, queue)  # one caller: a prefetch of one
        others = await idle.next(queue, max_count=10, wait=5)
        while len(others) < 3:
            others += await idle.next(queue, max_count=10, wait=5)

        assert len(others) == 3
        for event in [held, *others]:
            await (busy if event is held else idle).complete(event)


async def test_an_explicit_prefetch_is_the_cap(unique: Unique) -> None:
    queue = unique("Jobs")
    async with rabbitmq_backend(prefetch=2) as greedy, rabbitmq_backend() as other:
        await greedy.setup_queue(queue)
        await greedy.push_batch([Event(event_type="Job", queue_name=queue) for _ in range(4)])

        first = await lease_one(greedy, queue)
        buffered = await greedy.next(queue, max_count=10, wait=5)
        rest = await other.next(queue, max_count=10, wait=5)
        while len(rest) < 2:
            rest += await other.next(queue, max_count=10, wait=5)

        assert (len(buffered), len(rest)) == (1, 2)
        for event in [first, *buffered]:
            await greedy.complete(event)
        for event in rest:
            await other.complete(event)


# -- sessions -----------------------------------------------------------------------------------


async def test_a_session_queue_dead_letters_a_message_without_session(
    rabbit: QueueOperator, unique: Unique
) -> None:
    queue = unique("Orders")
    await rabbit.setup_queue(queue, QueueSettings(sessions=True))
    await rabbit.push(Event(event_type="Order", queue_name=queue))

    assert await rabbit.next(queue, wait=0.5) == []
    dead = await rabbit.dead_letters(queue)
    assert dead[0].properties["dead_letter_reason"] == "SessionIdRequired"


async def test_an_abandoned_session_message_comes_back_before_the_next(
    rabbit: QueueOperator, unique: Unique
) -> None:
    queue = unique("Orders")
    await rabbit.setup_queue(queue, QueueSettings(sessions=True))
    for body in ("1", "2"):
        await rabbit.push(Event(event_type="Order", queue_name=queue, session_id="s", body=body))

    first = await lease_one(rabbit, queue)
    await rabbit.abandon(first, delay=0.2)
    again = await lease_one(rabbit, queue)
    await rabbit.complete(again)
    second = await lease_one(rabbit, queue)
    await rabbit.complete(second)

    assert (first.body, again.body, again.delivery_count, second.body) == ("1", "1", 2, "2")


# -- connection loss ------------------------------------------------------------------------------


@pytest.mark.slow
async def test_a_lost_connection_loses_the_lease_and_the_broker_redelivers(
    rabbit: QueueOperator, unique: Unique, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    queue = unique("Jobs")
    await rabbit.setup_queue(queue)
    await rabbit.push(Event(event_type="Job", queue_name=queue))
    held = await lease_one(rabbit, queue)

    await asyncio.to_thread(rabbitmqctl, "close_all_connections", "test")

    with pytest.raises(LeaseLostError):
        await rabbit.complete(held)
    again = await lease_one(rabbit, queue, wait=30)
    assert (again.id, again.delivery_count) == (held.id, 2)
    await rabbit.complete(again)
    await rabbit.push(Event(event_type="Job", queue_name=queue))
    await rabbit.complete(await lease_one(rabbit, queue))

    # Told once: one warning when it went, one line when it was back, none of the clients'
    # own records (a reader traceback, an error per channel, one per reconnect attempt).
    async with asyncio.timeout(10):
        while "reconnected to RabbitMQ" not in caplog.text:  # noqa: ASYNC110 - the log says
            await asyncio.sleep(0.05)
    told = [(r.name, r.levelname, r.getMessage()) for r in caplog.records]
    assert [t for t in told if not t[0].startswith("beehive")] == []
    assert [t[1] for t in told if "connection to RabbitMQ" in t[2]] == ["WARNING"]
    assert [t[1] for t in told if "reconnected to RabbitMQ" in t[2]] == ["INFO"]


@pytest.mark.slow
async def test_a_memory_alarm_blocks_publishing_but_consumers_still_drain(
    rabbit: QueueOperator, unique: Unique
) -> None:
    """RabbitMQ's flow control blocks a connection that publishes: the consumers, on their
    own connection, still take and acknowledge messages while the alarm lasts."""
    queue = unique("Jobs")
    await rabbit.setup_queue(queue)
    await rabbit.push_batch([Event(event_type="Job", queue_name=queue) for _ in range(3)])
    leased = await lease_one(rabbit, queue)  # the consumer takes one at a time (prefetch 1)

    async def publish_late() -> None:  # the connection is blocked at the latest by the second
        for _ in range(3):
            await rabbit.push(Event(event_type="Late", queue_name=queue))

    await asyncio.to_thread(rabbitmqctl, "set_vm_memory_high_watermark", "0")
    try:
        await asyncio.to_thread(until_alarmed)
        publishing = asyncio.create_task(publish_late())
        for left in (2, 1, 0):  # the next delivery comes only once the broker read the ack
            await rabbit.complete(leased)
            if left:
                leased = await lease_one(rabbit, queue, wait=10)
        assert not publishing.done(), "the alarm did not block the publisher"
    finally:
        await asyncio.to_thread(rabbitmqctl, "set_vm_memory_high_watermark", "0.4")
    await asyncio.wait_for(publishing, 30)
    for _ in range(3):
        late = await lease_one(rabbit, queue, wait=10)
        assert late.event_type == "Late"
        await rabbit.complete(late)


def until_alarmed() -> None:
    """Wait until the node reports its memory alarm (rabbitmqctl returns before it is set)."""
    for _ in range(30):
        alarms = subprocess.run(
            ["rabbitmqctl", "eval", "rabbit_alarm:get_alarms()."],
            capture_output=True,
            text=True,
            timeout=60,
        ).stdout
        if "memory" in alarms:
            return
    raise AssertionError(f"no memory alarm after 30 checks: {alarms}")


def _start_worker(source: str, parallelism: int) -> subprocess.Popen[str]:
    return start_worker("tests.queues.rabbitmq_chain", source, str(parallelism))


@pytest.mark.slow
async def test_a_worker_killed_mid_run_loses_nothing(rabbit: QueueOperator, unique: Unique) -> None:
    """Given a worker process mid-run, when it is SIGKILLed, then a new host finishes the job."""
    topic, done_topic, total, parallelism = unique("Job"), unique("Done"), 200, 4
    source, check = f"{topic}-Work", f"{done_topic}-Check"
    await rabbit.setup_queue(source)
    await rabbit.setup_queue(check)
    await rabbit.push_batch(jobs(topic, done_topic, total))
    done: Counter[str] = Counter()
    retried: set[str] = set()

    worker = await asyncio.to_thread(_start_worker, source, parallelism)
    try:
        await collect(rabbit, check, done, lambda d: len(d) >= 40, timeout=30)
        worker.send_signal(signal.SIGKILL)
    finally:
        worker.kill()
        await asyncio.to_thread(worker.communicate)
    assert len(done) < total, "the worker finished before it was killed"

    async with rabbitmq_backend() as operator, worker_host(operator, source, parallelism):
        await collect(rabbit, check, done, lambda d: len(d) == total, timeout=60, retried=retried)

    duplicates = sum(done.values()) - total
    assert set(done) == {str(i) for i in range(total)}, "no job lost"
    # The broker gave back what the dead worker held (at most its prefetch), counted as a
    # second delivery; only those can have been done twice.
    assert 1 <= len(retried) <= parallelism
    assert duplicates <= len(retried)
    print(f"killed worker: {len(retried)} jobs redelivered, {duplicates} done twice")


@pytest.mark.slow
async def test_a_broker_restart_mid_run_loses_nothing_and_the_host_recovers(
    rabbit: QueueOperator, unique: Unique
) -> None:
    topic, done_topic, total, parallelism = unique("Job"), unique("Done"), 300, 4
    source, check = f"{topic}-Work", f"{done_topic}-Check"
    await rabbit.setup_queue(source)
    await rabbit.setup_queue(check)
    await rabbit.push_batch(jobs(topic, done_topic, total))
    done: Counter[str] = Counter()
    retried: set[str] = set()

    async with rabbitmq_backend() as operator, worker_host(operator, source, parallelism) as host:
        await collect(rabbit, check, done, lambda d: len(d) >= 30, timeout=30)
        try:
            await asyncio.to_thread(rabbitmqctl, "stop_app")
        finally:
            await asyncio.to_thread(rabbitmqctl, "start_app")
        await asyncio.to_thread(rabbitmqctl, "await_startup")
        await collect(rabbit, check, done, lambda d: len(d) == total, timeout=90, retried=retried)
        (stats,) = host.stats().values()

    duplicates = sum(done.values()) - total
    assert set(done) == {str(i) for i in range(total)}, "no job lost"
    # The host came back by itself: it completed every job (the last few may be settling).
    assert stats.succeeded >= total - parallelism
    assert duplicates <= len(retried) + stats.lease_lost
    print(f"broker restart: {stats.lease_lost} leases lost, {duplicates} jobs done twice")


def test_broker_problem_is_explained_when_there_is_no_broker(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import tests.queues.rabbitmq_support as support

    monkeypatch.setattr(support, "RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:1/")
    problem = broker_problem()
    assert problem is not None
    assert "127.0.0.1:1" in problem
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception):
        require_broker()
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception):
        require_broker()


# -- no silent loss, no burned deliveries ----------------------------------------------------------


async def test_a_push_to_a_queue_deleted_meanwhile_raises(
    rabbit: QueueOperator, raw: aio_pika.abc.AbstractChannel, unique: Unique
) -> None:
    queue = unique("Jobs")
    await rabbit.setup_queue(queue)
    await rabbit.push(Event(event_type="Job", queue_name=queue))  # the operator knows it now
    await raw.queue_delete(queue)

    with pytest.raises(QueueNotFoundError, match="no longer exists"):
        await rabbit.push(Event(event_type="Job", queue_name=queue))


async def test_a_topic_without_subscription_counts_and_logs_what_it_drops(
    rabbit: QueueOperator, unique: Unique, caplog: pytest.LogCaptureFixture
) -> None:
    topic = unique("Nobody")
    await rabbit.setup_queue(QueueName.topic_of(topic))

    await rabbit.push(Event(event_type=topic))

    assert rabbit.dropped == 1
    assert f"topic {topic} has no subscription" in caplog.text


async def test_a_replay_that_cannot_deliver_leaves_the_dead_letter(
    rabbit: QueueOperator, raw: aio_pika.abc.AbstractChannel, unique: Unique
) -> None:
    queue = unique("Jobs")
    await rabbit.setup_queue(queue)
    await rabbit.push(Event(event_type="Job", queue_name=queue))
    await rabbit.dead_letter(await lease_one(rabbit, queue), "Broken")
    await raw.queue_delete(queue)  # its dead-letter queue stays

    with pytest.raises(QueueNotFoundError):
        await rabbit.replay_dead_letters(queue)

    assert [e.event_type for e in await rabbit.dead_letters(queue)] == ["Job"]


async def test_a_stop_after_an_abandon_burns_no_delivery(unique: Unique) -> None:
    """A rolling deploy: the stopping host abandons what it was working on, while its
    consumer still fetches; the next host must see one delivery, not a burned one."""
    queue = unique("Jobs")
    async with rabbitmq_backend() as setup:
        await setup.setup_queue(queue, QueueSettings(max_deliveries=2))
        await setup.push(Event(event_type="Job", queue_name=queue))
        async with rabbitmq_backend() as stopping:
            await stopping.abandon(await lease_one(stopping, queue))
            await _fetched_by(stopping, queue)

        async with rabbitmq_backend() as next_host:
            again = await lease_one(next_host, queue)
            assert again.delivery_count == 2
            await next_host.complete(again)
        assert await setup.dead_letters(queue) == []


async def _fetched_by(operator: QueueOperator, queue: str) -> None:
    """Wait until ``operator`` has fetched a message of ``queue`` into its buffer."""
    assert isinstance(operator, RabbitMQQueueOperator)
    receiver = operator._receivers[queue]
    deadline = asyncio.get_running_loop().time() + 10
    while not len(receiver.lineup):
        assert await receiver.wait(deadline), f"nothing was fetched from {queue}"


@pytest.mark.parametrize("forged", [-1000, "3", 10**9, True])
async def test_a_forged_delivery_count_is_unreadable_not_retried(
    rabbit: QueueOperator, raw: aio_pika.abc.AbstractChannel, unique: Unique, forged: object
) -> None:
    queue = unique("Jobs")
    await rabbit.setup_queue(queue, QueueSettings(max_deliveries=3))

    await raw.default_exchange.publish(
        aio_pika.Message(b"{}", type="Job", headers={"beehive": {"deliveries": forged}}),
        routing_key=queue,
    )

    assert await rabbit.next(queue, wait=0.5) == []
    dead = await rabbit.dead_letters(queue)
    assert len(dead) == 1
    assert "deliveries must be" in str(dead[0].properties["dead_letter_description"])
