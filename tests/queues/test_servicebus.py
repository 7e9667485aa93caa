"""The Service Bus operator against the fake SDK clients: what the contract suite does not pin."""

from __future__ import annotations

import asyncio
import importlib
import logging
import sys
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from azure.servicebus import NEXT_AVAILABLE_SESSION, ServiceBusMessage, ServiceBusReceivedMessage
from azure.servicebus.exceptions import (
    MessageLockLostError,
    OperationTimeoutError,
    ServiceBusConnectionError,
    ServiceBusError,
    ServiceBusServerBusyError,
)

from beehive import Event, QueueName
from beehive.backoff import Backoff
from beehive.errors import (
    BrokerLimitError,
    BrokerUnavailableError,
    LeaseLostError,
    QueueConflictError,
    QueueNotFoundError,
    ReplayRefusedError,
)
from beehive.queues import QueueSettings
from beehive.queues.servicebus import EventTooLargeError, ServiceBusQueueOperator
from beehive.queues.servicebus._links import SDK_RETRIES, describe
from beehive.stores.memory import InMemoryKeyValueStore
from tests.queues.servicebus_fake import (
    FakeAdministrationClient,
    FakeNamespace,
    FakeServiceBusClient,
)

QUICK = Backoff(initial=0.01, factor=2, maximum=0.05, jitter=0)


def received_message(operator: ServiceBusQueueOperator, event: Event) -> ServiceBusReceivedMessage:
    """The SDK message behind a leased event (the operator's handle, by the event's identity)."""
    _, lease, _ = operator._leases[id(event)]
    message: ServiceBusReceivedMessage = lease.message
    return message


@pytest.fixture
def namespace() -> FakeNamespace:
    return FakeNamespace()


def make_operator(namespace: FakeNamespace, **options: object) -> ServiceBusQueueOperator:
    options = {"retry_budget": 2.0, "backoff": QUICK, **options}
    client = FakeServiceBusClient(namespace, retry_total=SDK_RETRIES)
    admin = FakeAdministrationClient(namespace)
    return ServiceBusQueueOperator(client, admin, **options)  # type: ignore[arg-type]


@pytest.fixture
async def operator(namespace: FakeNamespace) -> AsyncIterator[ServiceBusQueueOperator]:
    async with make_operator(namespace) as operator:
        yield operator


async def lease_one(operator: ServiceBusQueueOperator, name: str, wait: float = 5) -> Event:
    events = await operator.next(name, wait=wait)
    assert len(events) == 1, events
    return events[0]


# -- mapping ------------------------------------------------------------------------------------


async def test_the_message_carries_native_fields_and_prefixed_extras(
    operator: ServiceBusQueueOperator, namespace: FakeNamespace
) -> None:
    await operator.setup_queue("Jobs")
    event = Event(
        event_type="Job",
        queue_name="Jobs",
        body="{}",
        session_id=None,
        correlation_id="c-1",
        causation_id="k-1",
        properties={"tenant": "acme"},
    )

    await operator.push(event)

    received = await lease_one(operator, "Jobs")
    message = received_message(operator, received)
    assert message.message_id == event.id
    assert message.correlation_id == "c-1"
    assert message.subject == "Job"
    properties = message.application_properties
    assert properties[b"tenant"] == b"acme"
    assert properties[b"beehive.causation_id"] == b"k-1"
    assert properties[b"beehive.event_type"] == b"Job"
    assert message.delivery_count == 0, "AMQP counts earlier deliveries only"
    assert received.delivery_count == 1


async def test_properties_with_the_reserved_prefix_are_refused(
    operator: ServiceBusQueueOperator,
) -> None:
    await operator.setup_queue("Jobs")

    with pytest.raises(ValueError, match="reserved"):
        await operator.push(Event(event_type="Job", queue_name="Jobs", properties={"beehive.x": 1}))


async def test_a_message_from_another_producer_still_arrives_as_an_event(
    operator: ServiceBusQueueOperator, namespace: FakeNamespace
) -> None:
    await operator.setup_queue("Jobs")
    async with FakeServiceBusClient(namespace).get_queue_sender("Jobs") as sender:
        await sender.send_messages(ServiceBusMessage('{"a": 1}', subject="Foreign"))

    event = await lease_one(operator, "Jobs")

    assert (event.event_type, event.body) == ("Foreign", '{"a": 1}')
    await operator.complete(event)


async def test_integers_beyond_32_bits_travel_as_amqp_long(
    operator: ServiceBusQueueOperator,
) -> None:
    # Timestamps from other producers are int64 milliseconds (Azure/azure-sdk-for-python#34717).
    await operator.setup_queue("Jobs")
    properties = {"ms": 1709502629433, "low": -(2**63), "small": 7, "flag": True}

    await operator.push(Event(event_type="Job", queue_name="Jobs", properties=properties))

    received = await lease_one(operator, "Jobs")
    assert received.properties == properties
    await operator.complete(received)


async def test_an_integer_beyond_64_bits_is_refused_naming_the_property(
    operator: ServiceBusQueueOperator,
) -> None:
    await operator.setup_queue("Jobs")

    with pytest.raises(BrokerLimitError, match=r"'huge'.*64-bit"):
        await operator.push(Event(event_type="Job", queue_name="Jobs", properties={"huge": 2**64}))


@pytest.mark.parametrize("field", ["id", "session_id"])
async def test_ids_over_128_characters_are_refused_before_sending(
    operator: ServiceBusQueueOperator, namespace: FakeNamespace, field: str
) -> None:
    await operator.setup_queue("Jobs")
    calls = len(namespace.calls)
    event = Event(event_type="Job", queue_name="Jobs", **{field: "x" * 129})

    with pytest.raises(BrokerLimitError, match=f"{field} of 129 characters; the limit is 128"):
        await operator.push(event)
    with pytest.raises(BrokerLimitError, match="128"):
        await operator.push_batch([event])

    assert namespace.calls[calls:] == []
    await operator.push(Event(event_type="Job", queue_name="Jobs", correlation_id="c" * 500))


# -- publishing ---------------------------------------------------------------------------------


async def test_a_batch_is_split_at_the_size_limit(namespace: FakeNamespace) -> None:
    small = FakeNamespace(max_message_size=4096)
    async with make_operator(small) as operator:
        await operator.setup_queue("Jobs")
        sent = [Event(event_type="Job", queue_name="Jobs", body="x" * 1000) for _ in range(10)]

        await operator.push_batch(sent)

        assert 3 <= small.calls.count("send") < 10
        leased = await operator.next("Jobs", max_count=10, wait=1)
        assert [e.id for e in leased] == [e.id for e in sent]


async def test_a_batch_holds_one_session(
    operator: ServiceBusQueueOperator, namespace: FakeNamespace
) -> None:
    await operator.setup_queue("Jobs", QueueSettings(sessions=True))
    sessions = ["a", "a", "b", "a"]

    await operator.push_batch(
        [Event(event_type="J", queue_name="Jobs", session_id=s) for s in sessions]
    )

    assert namespace.calls.count("send") == 3


async def test_a_large_event_travels_by_claim_check(namespace: FakeNamespace) -> None:
    store = InMemoryKeyValueStore()
    small = FakeNamespace(max_message_size=2048)
    async with make_operator(small, claim_check=store) as operator:
        await operator.setup_queue("Jobs")
        big = Event(event_type="Job", queue_name="Jobs", body="y" * 10_000, url="https://x/1")

        await operator.push_batch([Event(event_type="Job", queue_name="Jobs"), big])

        events = await operator.next("Jobs", max_count=2, wait=1)
        assert events[1].model_dump(exclude={"delivery_count"}) == big.model_dump(
            exclude={"delivery_count"}
        )
        assert (await store.get(f"beehive/claim-check/{big.id}")).body == big.body.encode()
        # Where one message may be no larger than a batch (Standard), sending it alone first
        # would only be refused: two sends, the batch of each, and no refused one.
        assert small.calls.count("send") == 2


async def test_where_the_tier_refuses_a_large_message_it_is_asked_once_per_size() -> None:
    store = InMemoryKeyValueStore()
    premium = FakeNamespace(max_message_size=1024 * 1024)  # Premium's default entity limit
    async with make_operator(premium, claim_check=store) as operator:
        await operator.setup_queue("Jobs")
        bodies = ["y" * (2 * 1024 * 1024), "z" * (3 * 1024 * 1024)]

        for body in bodies:
            await operator.push(Event(event_type="Job", queue_name="Jobs", body=body))

        received = [(await lease_one(operator, "Jobs")).body for _ in bodies]
    assert received == bodies
    # The first large message was tried alone and refused; the larger one went by claim check
    # at once: the batch of each, and one refused send.
    assert premium.calls.count("send") == 3


async def test_a_large_event_without_claim_check_names_size_and_limit() -> None:
    small = FakeNamespace(max_message_size=2048)
    async with make_operator(small) as operator:
        await operator.setup_queue("Jobs")

        with pytest.raises(EventTooLargeError, match=r"is \d+ bytes .* limit of 2048 bytes"):
            await operator.push(Event(event_type="Job", queue_name="Jobs", body="y" * 10_000))


async def test_a_claim_checked_message_without_a_store_is_dead_lettered() -> None:
    small = FakeNamespace(max_message_size=2048)
    async with make_operator(small, claim_check=InMemoryKeyValueStore()) as sender:
        await sender.setup_queue("Jobs")
        await sender.push(Event(event_type="Job", queue_name="Jobs", body="y" * 10_000))
    async with make_operator(small) as receiver:
        assert await receiver.next("Jobs", wait=0.2) == []

        dead = await receiver.dead_letters("Jobs")

    assert dead[0].properties["dead_letter_reason"] == "ClaimCheckUnavailable"


# -- settling -----------------------------------------------------------------------------------


async def test_settling_twice_or_elsewhere_is_a_lost_lease(
    operator: ServiceBusQueueOperator,
) -> None:
    await operator.setup_queue("Jobs")
    await operator.push(Event(event_type="Job", queue_name="Jobs"))
    event = await lease_one(operator, "Jobs")
    await operator.complete(event)

    with pytest.raises(LeaseLostError, match="settled already"):
        await operator.complete(event)
    with pytest.raises(LeaseLostError, match="not leased here"):
        await operator.abandon(Event(event_type="Job"))


async def test_an_expired_lock_is_a_lost_lease_and_the_message_returns(
    operator: ServiceBusQueueOperator, namespace: FakeNamespace
) -> None:
    await operator.setup_queue("Jobs")
    await operator.push(Event(event_type="Job", queue_name="Jobs"))
    event = await lease_one(operator, "Jobs")
    namespace.expire_locks()

    with pytest.raises(LeaseLostError, match="lock was lost"):
        await operator.complete(event)

    again = await lease_one(operator, "Jobs")
    assert again.delivery_count == 2
    namespace.expire_locks()
    with pytest.raises(LeaseLostError):
        await operator.renew_lease(again)


async def test_renew_lease_extends_the_lock(
    operator: ServiceBusQueueOperator, namespace: FakeNamespace
) -> None:
    await operator.setup_queue("Jobs")
    await operator.push(Event(event_type="Job", queue_name="Jobs"))
    event = await lease_one(operator, "Jobs")
    before = received_message(operator, event).locked_until_utc

    await asyncio.sleep(0.01)
    await operator.renew_lease(event)

    assert received_message(operator, event).locked_until_utc > before
    await operator.complete(event)


async def test_abandon_with_delay_holds_the_lock_renewing_it(
    operator: ServiceBusQueueOperator, namespace: FakeNamespace
) -> None:
    await operator.setup_queue("Jobs", QueueSettings(lease_seconds=5))
    await operator.push(Event(event_type="Job", queue_name="Jobs"))

    await operator.abandon(await lease_one(operator, "Jobs"), delay=3)

    assert await operator.next("Jobs", wait=2) == []
    again = await lease_one(operator, "Jobs", wait=5)
    assert namespace.calls.count("renew") >= 1
    assert again.delivery_count == 2
    await operator.complete(again)


async def test_closing_gives_held_messages_back_at_once(namespace: FakeNamespace) -> None:
    async with make_operator(namespace) as first:
        await first.setup_queue("Jobs")
        await first.push(Event(event_type="Job", queue_name="Jobs"))
        await first.abandon(await lease_one(first, "Jobs"), delay=600)

    async with make_operator(namespace) as second:
        again = await lease_one(second, "Jobs", wait=1)

    assert again.delivery_count == 2


# -- sessions -----------------------------------------------------------------------------------


async def test_a_delayed_abandon_keeps_the_session_in_order(
    operator: ServiceBusQueueOperator,
) -> None:
    await operator.setup_queue("Orders-Ship", QueueSettings(sessions=True))
    for body in ("a1", "a2"):
        await operator.push(Event(event_type="Orders", session_id="a", body=body))

    await operator.abandon(await lease_one(operator, "Orders-Ship"), delay=1)

    assert await operator.next("Orders-Ship", wait=0.5) == []
    again = await lease_one(operator, "Orders-Ship", wait=5)
    assert (again.body, again.delivery_count) == ("a1", 2)
    await operator.complete(again)
    last = await lease_one(operator, "Orders-Ship")
    assert last.body == "a2"
    await operator.complete(last)


async def test_renewing_a_session_message_renews_the_session_lock(
    operator: ServiceBusQueueOperator, namespace: FakeNamespace
) -> None:
    await operator.setup_queue("Orders-Ship", QueueSettings(sessions=True))
    await operator.push(Event(event_type="Orders", session_id="a"))
    event = await lease_one(operator, "Orders-Ship")

    await operator.renew_lease(event)

    assert namespace.calls.count("renew_session") == 1
    await operator.complete(event)


async def test_a_lost_session_is_a_lost_lease_and_another_consumer_gets_it(
    operator: ServiceBusQueueOperator, namespace: FakeNamespace
) -> None:
    await operator.setup_queue("Orders-Ship", QueueSettings(sessions=True))
    await operator.push(Event(event_type="Orders", session_id="a"))
    event = await lease_one(operator, "Orders-Ship")
    namespace.expire_locks()

    with pytest.raises(LeaseLostError):
        await operator.complete(event)

    again = await lease_one(operator, "Orders-Ship")
    assert again.delivery_count == 2
    await operator.complete(again)


# -- faults -------------------------------------------------------------------------------------


async def test_transient_faults_are_retried(
    operator: ServiceBusQueueOperator, namespace: FakeNamespace, caplog: pytest.LogCaptureFixture
) -> None:
    await operator.setup_queue("Jobs")
    namespace.fail_next("send", ServiceBusServerBusyError(message="busy"))
    namespace.fail_next("receive", ServiceBusConnectionError(message="reset"))

    await operator.push(Event(event_type="Job", queue_name="Jobs"))
    event = await lease_one(operator, "Jobs")

    await operator.complete(event)
    assert namespace.calls.count("send") == 2
    assert "ServiceBusServerBusyError" in caplog.text


async def test_faults_that_outlast_the_budget_reach_the_caller_wrapped(
    namespace: FakeNamespace,
) -> None:
    async with make_operator(namespace, retry_budget=0) as operator:
        await operator.setup_queue("Jobs")
        namespace.fail_next("send", ServiceBusServerBusyError(message="busy"))

        with pytest.raises(BrokerUnavailableError, match="busy") as raised:
            await operator.push(Event(event_type="Job", queue_name="Jobs"))

    assert isinstance(raised.value.__cause__, ServiceBusServerBusyError)


async def test_a_lock_lost_during_settlement_is_reported_as_such(
    operator: ServiceBusQueueOperator, namespace: FakeNamespace
) -> None:
    await operator.setup_queue("Jobs")
    await operator.push(Event(event_type="Job", queue_name="Jobs"))
    event = await lease_one(operator, "Jobs")
    namespace.fail_next("dead_letter", MessageLockLostError(message="gone"))

    with pytest.raises(LeaseLostError, match="MessageLockLostError"):
        await operator.dead_letter(event, "Broken")


def test_the_sdk_client_is_built_without_retries_of_its_own() -> None:
    operator = ServiceBusQueueOperator.from_connection_string(
        "Endpoint=sb://example.servicebus.windows.net/;SharedAccessKeyName=k;SharedAccessKey=v"
    )

    assert operator._client._config.retry_total == 0  # the real SDK client's configuration


async def test_a_link_the_sdk_closed_is_replaced_and_its_lease_lost(
    operator: ServiceBusQueueOperator, namespace: FakeNamespace
) -> None:
    await operator.setup_queue("Jobs")
    await operator.push(Event(event_type="Job", queue_name="Jobs"))
    event = await lease_one(operator, "Jobs")
    namespace.fail_next("complete", ServiceBusConnectionError(message="reset"))

    with pytest.raises(LeaseLostError, match="went down"):
        await operator.complete(event)

    assert namespace.connections == 1, "the dead receiver is closed (the sender stays)"
    namespace.expire_locks()  # the service keeps the lock until it runs out
    again = await lease_one(operator, "Jobs")
    assert (again.id, again.delivery_count) == (event.id, 2)
    await operator.complete(again)
    assert namespace.connections == 2  # one new receiver, one sender


async def test_a_delayed_abandon_whose_link_dies_closes_the_link(
    operator: ServiceBusQueueOperator, namespace: FakeNamespace
) -> None:
    await operator.setup_queue("Jobs")
    await operator.push(Event(event_type="Job", queue_name="Jobs"))
    event = await lease_one(operator, "Jobs")
    namespace.fail_next("abandon", ServiceBusConnectionError(message="reset"))

    await operator.abandon(event, delay=0.01)
    await asyncio.gather(*operator._tasks)  # raised ValueError("...shutdown") before

    assert namespace.connections == 1, "only the sender is left"
    namespace.expire_locks()
    assert (await lease_one(operator, "Jobs")).delivery_count == 2


async def test_waiting_for_a_free_session_accepts_once(
    operator: ServiceBusQueueOperator, namespace: FakeNamespace
) -> None:
    await operator.setup_queue("Orders", QueueSettings(sessions=True))
    await operator.push(Event(event_type="Order", queue_name="Orders", session_id="a"))
    held = await lease_one(operator, "Orders")
    before = namespace.calls.count("open_receiver")

    assert await operator.next("Orders", wait=0.2) == []

    # With the SDK's retries: 4 accepts and 0.8 * (2 + 4 + 8) s of backoff (13.2 s for 0.5 s).
    assert namespace.calls.count("open_receiver") - before == 1
    await operator.complete(held)


async def test_connections_are_one_per_open_link_and_all_close(namespace: FakeNamespace) -> None:
    async with make_operator(namespace) as operator:
        for name in ("Jobs", "Orders-Ship"):
            await operator.setup_queue(name)
        await operator.push(Event(event_type="Job", queue_name="Jobs"))
        await operator.push(Event(event_type="Orders"))
        await operator.complete(await lease_one(operator, "Jobs"))
        await operator.complete(await lease_one(operator, "Orders-Ship"))

        assert namespace.connections == 4  # a sender per destination, a receiver per source

    assert namespace.connections == 0


async def test_retries_waiting_their_delay_open_no_more_than_twice_the_prefetch_in_links(
    namespace: FakeNamespace,
) -> None:
    """A burst of failures retried later holds a lock, so a link, per message until due: the
    links a queue may have are bounded, and callers wait for one to come back instead."""
    async with make_operator(namespace) as operator:
        await operator.setup_queue("Jobs", QueueSettings(prefetch=2))
        await operator.push_batch([Event(event_type="Job", queue_name="Jobs") for _ in range(8)])
        for _ in range(8):
            await operator.abandon(await lease_one(operator, "Jobs"), delay=timedelta(seconds=30))
            if namespace.connections == 1 + 4:  # the sender and the cap of receivers
                break

        assert await operator.next("Jobs", wait=0.1) == []  # no link for it: none is opened
        assert namespace.connections == 1 + 4


async def test_a_large_event_travels_whole_where_the_tier_allows(namespace: FakeNamespace) -> None:
    premium = FakeNamespace(max_message_size=100 * 1024 * 1024)  # batches still cap at 1 MB
    async with make_operator(premium) as operator:  # no claim-check store: it needs none
        await operator.setup_queue("Jobs")
        body = '"' + "x" * (2 * 1024 * 1024) + '"'

        await operator.push_batch(
            [Event(event_type="Job", queue_name="Jobs", body=b) for b in ("1", body, "2")]
        )

        received = [(await lease_one(operator, "Jobs")).body for _ in range(3)]
    assert received == ["1", body, "2"]


# -- the fake, against the SDK's documented behaviour -------------------------------------------


async def test_the_fake_retries_as_the_sdk_does_and_shuts_the_handler_down(
    namespace: FakeNamespace,
) -> None:
    await namespace_queue(namespace, "Jobs")
    client = FakeServiceBusClient(namespace, retry_backoff_factor=0.001)  # SDK defaults else
    namespace.fail_next("send", *(ServiceBusServerBusyError(message="busy") for _ in range(4)))
    async with client.get_queue_sender("Jobs") as sender:
        with pytest.raises(ServiceBusServerBusyError):
            await sender.send_messages(ServiceBusMessage("x"))
        assert namespace.calls.count("send") == 4  # the call and retry_total=3 retries

        with pytest.raises(ServiceBusError, match="Handler failed"):
            await sender.send_messages(ServiceBusMessage("x", application_properties={"ms": 2**40}))
        assert namespace.connections == 0, "an unexpected error shuts the handler down"
        await sender.send_messages(ServiceBusMessage("x"))  # on a new link
        await sender.send_messages(ServiceBusMessage("y"))
    receiver = client.get_queue_receiver("Jobs")
    async with receiver:
        first, second = await receiver.receive_messages(max_message_count=2, max_wait_time=1)
        namespace.fail_next("complete", ServiceBusConnectionError(message="reset"))
        await receiver.complete_message(first)  # its retry goes by lock token on a new link
        reset = [ServiceBusConnectionError(message="reset") for _ in range(4)]
        namespace.fail_next("complete", *reset)
        with pytest.raises(ServiceBusConnectionError):
            await receiver.complete_message(second)
        with pytest.raises(ValueError, match="handler has already been shutdown"):
            await receiver.complete_message(second)


async def test_the_fake_retries_a_session_accept_on_its_timeout(namespace: FakeNamespace) -> None:
    await namespace_queue(namespace, "Orders", requires_session=True)
    client = FakeServiceBusClient(namespace, retry_backoff_factor=0.001)
    receiver = client.get_queue_receiver(
        "Orders", session_id=NEXT_AVAILABLE_SESSION, max_wait_time=0.05
    )

    with pytest.raises(OperationTimeoutError):
        await receiver.__aenter__()

    assert namespace.calls.count("open_receiver") == 4


async def test_the_fake_closing_a_session_receiver_counts_no_delivery(
    namespace: FakeNamespace,
) -> None:
    await namespace_queue(namespace, "Orders", requires_session=True)
    client = FakeServiceBusClient(namespace)
    async with client.get_queue_sender("Orders") as sender:
        await sender.send_messages(ServiceBusMessage("x", session_id="a"))
    for _ in range(2):
        receiver = client.get_queue_receiver("Orders", session_id=NEXT_AVAILABLE_SESSION)
        async with receiver:
            (message,) = await receiver.receive_messages(max_wait_time=1)
            assert message.delivery_count == 0


async def namespace_queue(namespace: FakeNamespace, name: str, **settings: object) -> None:
    await FakeAdministrationClient(namespace).create_queue(name, **settings)


# -- topology -----------------------------------------------------------------------------------


async def test_setup_passes_the_settings_to_the_broker(
    operator: ServiceBusQueueOperator, namespace: FakeNamespace
) -> None:
    await operator.setup_queue("Orders-Ship", QueueSettings(3, lease_seconds=12.5, sessions=True))

    entity = namespace.topics["Orders"]["Ship"]
    assert entity.max_delivery_count == 3
    assert entity.lock_duration == timedelta(seconds=13)
    assert entity.requires_session


@pytest.mark.parametrize(
    ("existing", "asked", "setting"),
    [
        (QueueSettings(sessions=True), QueueSettings(), "requires_session is True"),
        (QueueSettings(), QueueSettings(sessions=True), "requires_session is False"),
        (QueueSettings(lease_seconds=30), QueueSettings(lease_seconds=60), "lock_duration is"),
    ],
)
async def test_an_existing_entity_that_breaks_a_guarantee_fails_setup(
    operator: ServiceBusQueueOperator,
    namespace: FakeNamespace,
    existing: QueueSettings,
    asked: QueueSettings,
    setting: str,
) -> None:
    async with make_operator(namespace) as other:
        await other.setup_queue("Orders-Ship", existing)

    with pytest.raises(QueueConflictError, match=f"Orders/Subscriptions/Ship.*{setting}"):
        await operator.setup_queue("Orders-Ship", asked)


async def test_an_existing_entity_with_a_longer_lock_or_other_deliveries_is_used(
    operator: ServiceBusQueueOperator, namespace: FakeNamespace, caplog: pytest.LogCaptureFixture
) -> None:
    async with make_operator(namespace) as other:
        await other.setup_queue("Jobs", QueueSettings(max_deliveries=5, lease_seconds=120))

    await operator.setup_queue("Jobs", QueueSettings(max_deliveries=10, lease_seconds=60))

    assert "max_delivery_count=5" in caplog.text


async def test_a_queue_prefetches_what_its_settings_say(
    operator: ServiceBusQueueOperator, namespace: FakeNamespace
) -> None:
    client = operator._client
    await operator.setup_queue("Jobs", QueueSettings(prefetch=8))
    await operator.push(Event(event_type="Job", queue_name="Jobs"))

    await operator.complete(await lease_one(operator, "Jobs"))

    assert isinstance(client, FakeServiceBusClient)
    assert [r.prefetch_count for r in client.receivers] == [8]


@pytest.mark.parametrize(
    ("name", "settings", "rule"),
    [
        ("Jobs", QueueSettings(lease_seconds=1), "5 to 300 s"),
        ("Jobs", QueueSettings(lease_seconds=301), "5 to 300 s"),
        ("Jobs", QueueSettings(max_deliveries=2001), "2000"),
        ("Orders-" + "S" * 51, QueueSettings(), "at most 50"),
        ("J" * 261, QueueSettings(), "at most 260"),
        ("Jobs_", QueueSettings(), "start and end with a letter or digit"),
        ("_Orders-Ship", QueueSettings(), "start and end with a letter or digit"),
    ],
)
async def test_what_service_bus_refuses_is_refused_before_any_request(
    operator: ServiceBusQueueOperator,
    namespace: FakeNamespace,
    name: str,
    settings: QueueSettings,
    rule: str,
) -> None:
    with pytest.raises(BrokerLimitError, match=rule):
        await operator.setup_queue(name, settings)

    assert namespace.calls == [], "nothing reached the service"


async def test_names_differing_only_in_case_are_one_entity(
    operator: ServiceBusQueueOperator,
) -> None:
    await operator.setup_queue("Orders-Ship")

    with pytest.raises(BrokerLimitError, match="case-insensitively"):
        await operator.setup_queue("orders-Bill")


async def test_without_manage_rights_setup_names_the_missing_entities(
    operator: ServiceBusQueueOperator, namespace: FakeNamespace
) -> None:
    namespace.can_manage = False

    with pytest.raises(QueueNotFoundError, match=r"Orders/Subscriptions/Ship and topic Orders"):
        await operator.setup_queue("Orders-Ship")


async def test_without_manage_rights_setup_accepts_existing_entities(
    namespace: FakeNamespace,
) -> None:
    async with make_operator(namespace) as admin:
        await admin.setup_queue("Orders-Ship")
    namespace.can_manage = False

    async with make_operator(namespace) as operator:
        await operator.setup_queue("Orders-Ship")
        await operator.push(Event(event_type="Orders"))
        await operator.complete(await lease_one(operator, "Orders-Ship"))


async def test_leasing_from_a_topic_says_to_use_a_subscription(
    operator: ServiceBusQueueOperator,
) -> None:
    await operator.setup_queue(QueueName.topic_of("Orders"))

    with pytest.raises(QueueNotFoundError, match="subscriptions"):
        await operator.next(QueueName.topic_of("Orders"))


# -- secrets and packaging ----------------------------------------------------------------------

SECRET = "c2VjcmV0LWtleS10aGF0LW11c3Qtbm90LWxlYWs="
CONNECTION = (
    "Endpoint=sb://beehive-test.servicebus.windows.net/;"
    f"SharedAccessKeyName=RootManageSharedAccessKey;SharedAccessKey={SECRET}"
)


async def test_the_key_never_shows(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    operator = ServiceBusQueueOperator.from_connection_string(CONNECTION)
    error = ServiceBusConnectionError(message=f"failed on {CONNECTION}")
    logging.getLogger("beehive.queues.servicebus").warning("%s", describe(error))
    try:
        assert "beehive-test.servicebus.windows.net" in repr(operator)
        with pytest.raises(ValueError, match="malformed") as malformed:
            ServiceBusQueueOperator.from_connection_string(f"nonsense;SharedAccessKey={SECRET}")
    finally:
        await operator.close()

    for text in (repr(operator), str(malformed.value), caplog.text, describe(error)):
        assert SECRET not in text


def test_a_missing_extra_names_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "azure.servicebus", None)
    monkeypatch.delitem(sys.modules, "beehive.queues.servicebus")

    with pytest.raises(ImportError, match=r"pip install 'beehive-actors\[azure\]'"):
        importlib.import_module("beehive.queues.servicebus")


async def test_a_namespace_and_the_default_credential_need_no_secret() -> None:
    operator = ServiceBusQueueOperator.from_namespace("beehive-test.servicebus.windows.net")

    assert repr(operator) == (
        "ServiceBusQueueOperator(namespace='beehive-test.servicebus.windows.net')"
    )
    await operator.close()


# -- dead-letter replay: the subscription rule ---------------------------------------------------


async def test_setup_gives_every_subscription_the_replay_filter(
    operator: ServiceBusQueueOperator, namespace: FakeNamespace
) -> None:
    await operator.setup_queue("Orders-Payment")
    await operator.setup_queue("Orders-Payment")  # idempotent: the rule is already there

    rules = namespace.topics["Orders"]["Payment"].rules or {}
    assert list(rules) == ["$Default"]
    assert rules["$Default"].filter.sql_expression == (  # type: ignore[union-attr]
        "NOT EXISTS([beehive.replay_to]) OR [beehive.replay_to] = 'Payment'"
    )
    assert namespace.calls.count("update_rule") == 1


async def test_a_message_addressed_to_one_subscription_reaches_only_it(
    operator: ServiceBusQueueOperator, namespace: FakeNamespace
) -> None:
    for subscription in ("Payment", "Audit"):
        await operator.setup_queue(f"Orders-{subscription}")
    sender = FakeServiceBusClient(namespace).get_topic_sender("Orders")
    await sender.send_messages(
        ServiceBusMessage("{}", application_properties={"beehive.replay_to": "Audit"})
    )
    await sender.send_messages(ServiceBusMessage("{}"))

    assert len(namespace.topics["Orders"]["Audit"].messages) == 2
    assert len(namespace.topics["Orders"]["Payment"].messages) == 1


async def test_replay_is_refused_while_a_subscription_lacks_the_filter(
    operator: ServiceBusQueueOperator, namespace: FakeNamespace
) -> None:
    await operator.setup_queue("Orders-Payment")
    # Made by other means (a template, the portal): the default rule admits everything.
    await FakeAdministrationClient(namespace).create_subscription("Orders", "Legacy")
    await operator.push(Event(event_type="Orders"))
    await operator.dead_letter(await lease_one(operator, "Orders-Payment"), "Broken")

    with pytest.raises(ReplayRefusedError, match="Legacy"):
        await operator.replay_dead_letters("Orders-Payment")

    assert len(await operator.dead_letters("Orders-Payment")) == 1, "nothing was taken"


async def test_replay_is_refused_without_the_manage_right(
    operator: ServiceBusQueueOperator, namespace: FakeNamespace
) -> None:
    await operator.setup_queue("Orders-Payment")
    namespace.can_manage = False

    with pytest.raises(ReplayRefusedError, match="Manage"):
        await operator.replay_dead_letters("Orders-Payment")


async def test_replay_trusting_the_deployed_filters_works_with_send_and_listen(
    namespace: FakeNamespace,
) -> None:
    async with make_operator(namespace) as deployer:  # Manage: creates the filters
        for name in ("Orders-Payment", "Orders-Ship"):
            await deployer.setup_queue(name)
    async with make_operator(namespace, replay_filters="trust") as operator:
        await operator.push(Event(event_type="Orders"))
        await operator.dead_letter(await lease_one(operator, "Orders-Payment"), "Broken")
        namespace.can_manage = False  # Data Sender + Data Receiver, as infra/bicep grants

        assert await operator.replay_dead_letters("Orders-Payment") == 1

        assert len(await operator.next("Orders-Payment", wait=1)) == 1
        assert len(await operator.next("Orders-Ship", max_count=2, wait=0.2)) == 1


async def test_replay_leaves_unselected_dead_letters_with_one_more_delivery(
    operator: ServiceBusQueueOperator,
) -> None:
    await operator.setup_queue("Jobs")
    kept, chosen = (Event(event_type="Job", queue_name="Jobs") for _ in range(2))
    await operator.push_batch([kept, chosen])
    for _ in range(2):
        await operator.dead_letter(await lease_one(operator, "Jobs"), "Broken")

    assert await operator.replay_dead_letters("Jobs", ids=[chosen.id]) == 1

    dead = await operator.dead_letters("Jobs")
    assert [e.id for e in dead] == [kept.id]
    assert dead[0].delivery_count == 1  # the sweep that gave it back did not deliver it


async def test_dead_letters_are_listed_past_a_short_page(
    operator: ServiceBusQueueOperator, namespace: FakeNamespace
) -> None:
    await operator.setup_queue("Jobs")
    await operator.push_batch([Event(event_type="Job", queue_name="Jobs") for _ in range(5)])
    for _ in range(5):
        await operator.dead_letter(await lease_one(operator, "Jobs"), "Broken")
    namespace.peek_page = 2  # the service returns at most the number asked for

    assert len(await operator.dead_letters("Jobs")) == 5


async def test_a_sweep_keeps_no_duplicate_when_a_kept_lock_runs_out(
    operator: ServiceBusQueueOperator, namespace: FakeNamespace
) -> None:
    await operator.setup_queue("Jobs", QueueSettings(lease_seconds=5))
    events = [Event(event_type="Job", queue_name="Jobs") for _ in range(3)]
    await operator.push_batch(events)
    for _ in events:
        await operator.dead_letter(await lease_one(operator, "Jobs"), "Broken")
    namespace.expire_locks_before("receive", nth=2)  # before the sweep's second page

    assert await operator.purge_dead_letters("Jobs", ids=[events[2].id]) == 1

    assert namespace.calls.count("renew") == 4, "both kept, before each later page (5 s locks)"
    assert namespace.calls.count("abandon") == 2, "each kept dead letter given back once"
    assert sorted(e.id for e in await operator.dead_letters("Jobs")) == sorted(
        e.id for e in events[:2]
    )


# -- C# BeeHive compatibility ---------------------------------------------------------------------


def csharp_message(body: str, event_type: str, **properties: object) -> ServiceBusMessage:
    """A message as C# BeeHive's ``Event.ToMessage`` builds it: the UTF-8 JSON body, its content
    type, the id as a GUID "N", the user properties as they are (a Guid goes as AMQP uuid, a
    DateTime as AMQP timestamp, a null as AMQP null), and no event type."""
    return ServiceBusMessage(
        body.encode(),
        content_type=f"application/{event_type}+json",
        message_id=uuid.uuid4().hex,
        application_properties=properties,  # type: ignore[arg-type]
    )


async def test_in_csharp_mode_an_event_from_csharp_beehive_is_read_as_csharp_reads_it(
    namespace: FakeNamespace,
) -> None:
    trace = uuid.uuid4()
    sent = csharp_message(
        '{"OrderId": "o-1"}',
        "OrderAccepted",
        TraceId=trace,
        PlacedAt=datetime(2024, 3, 3, 22, 30, 29, 433000, tzinfo=UTC),
        Coupon=None,
        Quantity=3,
    )
    async with make_operator(namespace, compatibility="csharp") as operator:
        await operator.setup_queue("OrderAccepted-Payment")
        async with FakeServiceBusClient(namespace).get_topic_sender("OrderAccepted") as sender:
            await sender.send_messages(sent)

        event = await lease_one(operator, "OrderAccepted-Payment")

        assert event.id == sent.message_id
        assert (event.event_type, event.queue_name) == ("OrderAccepted", "OrderAccepted")
        assert event.body == '{"OrderId": "o-1"}'
        assert event.content_type == "application/OrderAccepted+json"
        # A Guid as its text, a null left out, a DateTime as the SDK decodes AMQP's timestamp.
        assert event.properties == {"TraceId": str(trace), "PlacedAt": 1709505029433, "Quantity": 3}
        await operator.complete(event)


async def test_without_csharp_mode_such_an_event_is_dead_lettered_as_unreadable(
    operator: ServiceBusQueueOperator, namespace: FakeNamespace
) -> None:
    await operator.setup_queue("OrderAccepted-Payment")
    async with FakeServiceBusClient(namespace).get_topic_sender("OrderAccepted") as sender:
        await sender.send_messages(csharp_message("{}", "OrderAccepted", TraceId=uuid.uuid4()))

    assert await operator.next("OrderAccepted-Payment", wait=0.2) == []
    (dead,) = await operator.dead_letters("OrderAccepted-Payment")
    assert dead.properties["dead_letter_reason"] == "UnreadableMessage"


async def test_in_csharp_mode_what_is_sent_is_what_csharp_beehive_reads(
    namespace: FakeNamespace,
) -> None:
    async with make_operator(namespace, compatibility="csharp") as operator:
        await operator.setup_queue("OrderShipped-Email")
        await operator.push_batch(
            [
                Event(event_type="OrderShipped"),  # no body: C# cuts a body at its first "{"
                Event(event_type="OrderShipped", body='{"OrderId": "o-1"}'),
                Event(event_type="OrderShipped", body="<a/>", content_type="application/xml"),
            ]
        )
        receiver = FakeServiceBusClient(namespace).get_subscription_receiver(
            "OrderShipped", "Email"
        )
        async with receiver:
            messages = await receiver.receive_messages(max_message_count=3, max_wait_time=1)
        bodies = [b"".join(message.body).decode() for message in messages]
        assert bodies == ["{}", '{"OrderId": "o-1"}', "<a/>"]
        assert [message.content_type for message in messages] == [
            "application/OrderShipped+json",
            "application/OrderShipped+json",
            "application/xml",
        ]
        # And beehive reads its own events in this mode as in the other.
        await operator.push(Event(event_type="OrderShipped", body="{}", causation_id="k-1"))
        event = await lease_one(operator, "OrderShipped-Email")
        assert (event.event_type, event.causation_id) == ("OrderShipped", "k-1")


def test_the_compatibility_mode_is_checked(namespace: FakeNamespace) -> None:
    with pytest.raises(ValueError, match="'beehive' or 'csharp'"):
        make_operator(namespace, compatibility="dotnet")
