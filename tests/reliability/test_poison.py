"""Poison and malformed input sent to a running host: processed or dead-lettered, never dropped.

In memory, hypothesis builds hostile events (bodies from random bytes, invalid UTF-8 kept as
lone surrogates, JSON of the wrong shape, missing fields, huge bodies, unknown event types,
hostile ids and property values). On RabbitMQ, raw AMQP messages that no beehive publisher
would send (bodies that are not UTF-8, headers of the wrong types) go straight into a
subscription's queue. Either way the host keeps consuming, and every message ends up done or
dead-lettered with a reason.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from uuid import uuid4

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from beehive import ActorDescriptor, ActorHost, Event
from beehive.cli.dlq import age
from beehive.inbox import Inbox
from beehive.queues import InMemoryQueueOperator, QueueOperator
from beehive.queues._dead_letters import summary
from beehive.queues.base import DEAD_LETTER_REASON
from tests.queues.rabbitmq_support import RABBITMQ_URL, rabbitmq_backend, require_broker
from tests.reliability.support import FAST, until

MAX_DELIVERIES = 3


class Job(BaseModel):
    n: int


class Strict:
    """Reads its body as a Job, as real actors do; a body that is not one is dead-lettered."""

    async def process(self, event: Event) -> list[Event]:
        job = event.body_as(Job)
        return [Event(event_type="Done", body=json.dumps({"n": job.n}))]


class Echo:
    """Publishes what it got, hostile content included (through an inbox: it is idempotent)."""

    async def process(self, event: Event) -> list[Event]:
        return [Event(event_type="Done", body=event.body, properties=event.properties)]


def descriptors(topic: str) -> list[ActorDescriptor]:
    return [
        ActorDescriptor(Strict, f"{topic}-Strict", max_deliveries=MAX_DELIVERIES, emits=("Done",)),
        ActorDescriptor(
            Echo, f"{topic}-Echo", max_deliveries=MAX_DELIVERIES, emits=("Done",), idempotent=True
        ),
    ]


# -- hostile events, in memory --------------------------------------------------------------------

any_text = st.text(max_size=40)
bad_text = st.text(st.characters(exclude_categories=()), max_size=40)  # lone surrogates too
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner),
    max_leaves=10,
)
bodies = st.one_of(
    st.binary(max_size=64).map(lambda raw: raw.decode("utf-8", "surrogateescape")),
    any_text,
    json_values.map(json.dumps),
    st.just("{}"),  # a missing field
    st.just('{"n": "seven"}'),  # a wrong type
    st.just("[" * 5000 + "]" * 5000),  # nested deeper than parsers like
    st.integers(1, 3).map(lambda mb: json.dumps({"n": 1, "pad": "x" * (mb << 20)})),  # huge
    st.integers().map(lambda n: json.dumps({"n": n})),  # valid: sometimes they are fine
)
property_values = (
    any_text
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats()
    | st.booleans()
    | st.just("x" * 100_000)
)
properties = st.dictionaries(
    any_text.filter(bool) | st.just(DEAD_LETTER_REASON), property_values, max_size=4
)


@st.composite
def hostile_events(draw: st.DrawFn, topic: str) -> Event:
    return Event(
        # The longest id brokers take (longer is refused at publish: BrokerLimitError).
        id=draw(any_text.filter(bool) | st.just("i" * 128) | st.uuids().map(str)),
        event_type=draw(any_text.filter(bool)),  # unknown types, delivered to the topic anyway
        queue_name=topic,
        body=draw(bodies | bad_text),
        content_type=draw(any_text),
        properties=draw(properties),
        correlation_id=draw(st.none() | any_text),
        session_id=draw(st.none() | any_text),
    )


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(st.lists(hostile_events("Job"), min_size=1, max_size=8))
async def test_hostile_events_are_processed_or_dead_lettered_and_the_host_goes_on(
    events: list[Event],
) -> None:
    operator = InMemoryQueueOperator()
    host = ActorHost(
        operator, descriptors("Job"), inbox=Inbox.in_memory(), backoff=FAST, poll_wait=1
    )
    async with host:
        await operator.push_batch(events)
        await until(lambda: settled(host, len(events)), timeout=20, what="every event settled")
        valid = Event(event_type="Job", body='{"n": 7}')
        await operator.push(valid)  # the host still consumes
        await until(lambda: settled(host, len(events) + 1), timeout=5, what="a valid event")

    for source in ("Job-Strict", "Job-Echo"):
        stats = host.stats()[f"{source.split('-')[1]}@{source}"]
        dead = await operator.dead_letters(source)
        assert stats.dead_lettered == len(dead)
        assert all(
            str(d.properties[DEAD_LETTER_REASON]).startswith(source.split("-")[1]) for d in dead
        ), "the host's reason, not one the sender planted"
    await operator.close()


def settled(host: ActorHost, count: int) -> bool:
    """Every actor settled ``count`` messages for good: completed or dead-lettered."""
    return all(
        s.succeeded + s.duplicates + s.dead_lettered == count and s.in_flight == 0
        for s in host.stats().values()
    )


# -- raw AMQP messages no beehive publisher would send --------------------------------------------


@pytest.fixture
async def rabbit() -> AsyncIterator[QueueOperator]:
    async with rabbitmq_backend() as operator:
        yield operator


RAW = [
    (b"\xff\xfe\xfd not utf-8", {}),
    (b"", {"beehive": "not a table"}),
    (b'{"n": 1}', {"beehive": {"timestamp": "yesterday"}}),
    (b'{"n": 1}', {"beehive": {"deliveries": "many"}}),
    (b'{"n": 1}', {"beehive": {"enqueue_time": 42}}),
    (b'{"n": 1}', {"dead_letter_reason": "planted", "x-death": "spoofed", "nested": {"a": [1]}}),
    (b'{"n": "seven"}', {}),
    (b"x" * (2 << 20), {"huge": "x" * 10_000}),
    (b'{"n": 2}', {}),  # a good one among them
]


async def test_raw_amqp_garbage_is_dead_lettered_and_the_host_goes_on(
    rabbit: QueueOperator,
) -> None:
    """Counted in the dead-letter queues themselves, and shown by ``dead_letters()`` too (a body
    that is not UTF-8 with replacement characters; the queue keeps the original bytes)."""
    require_broker()
    import aio_pika

    topic = f"Job_{uuid4().hex[:8]}"
    sources = [f"{topic}-Strict", f"{topic}-Echo"]
    host = ActorHost(
        rabbit, descriptors(topic), inbox=Inbox.in_memory(), backoff=FAST, poll_wait=0.5
    )
    connection = await aio_pika.connect(RABBITMQ_URL)
    async with connection, host:
        channel = await connection.channel()
        for body, headers in RAW:
            for source in sources:
                message = aio_pika.Message(body, headers=headers)  # type: ignore[arg-type]
                await channel.default_exchange.publish(message, routing_key=source)

        async def dead(source: str) -> int:
            queue = await channel.declare_queue(f"{source}:dead-letter", passive=True)
            return queue.declaration_result.message_count or 0

        async def all_accounted() -> bool:
            for source in sources:
                done = host.stats()[f"{source.split('-')[1]}@{source}"]
                if done.succeeded + await dead(source) != len(RAW) or done.in_flight:
                    return False
            return True

        await until(all_accounted, timeout=30, what="every raw message done or dead-lettered")
        shown = await rabbit.dead_letters(sources[0])
        assert len(shown) == await dead(sources[0])

    assert any(letter.body.endswith(" not utf-8") for letter in shown)  # replacement characters
    (unreadable,) = [letter for letter in shown if letter.body.endswith(" not utf-8")]
    row = summary(unreadable)
    assert (row["timestamp"], row["age_seconds"]) == (None, None), "no time: unknown, not 0 s"
    assert age(row["age_seconds"]) == "unknown"
    assert host.stats()[f"Strict@{sources[0]}"].succeeded == 2  # the good ones went through
    for source in sources:
        for letter in await rabbit.dead_letters(source):
            assert letter.properties[DEAD_LETTER_REASON] != "planted"
