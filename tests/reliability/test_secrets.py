"""Secrets never show: not in logs, exception messages or reprs, whatever fails.

A secret is planted in each kind of connection string (a RabbitMQ password, a Service Bus
shared access key, a Storage account key); hosts and inboxes are built on them, made to fail
(and, for RabbitMQ, to work and reconnect), and every log line captured at DEBUG, every error
and every repr is searched for it.
"""

from __future__ import annotations

import asyncio
import logging
import subprocess
from collections.abc import Callable, Iterator
from uuid import uuid4

import pytest

from beehive import ActorDescriptor, ActorHost, Event
from beehive.inbox import Inbox, InboxRecord
from beehive.testing import FaultyQueueOperator
from tests.queues.rabbitmq_support import rabbitmqctl, require_broker
from tests.reliability.support import FAST, until

SECRET = "pl4nted-" + uuid4().hex


class Quiet:
    async def process(self, event: Event) -> list[Event]:
        return []


def leaks(*texts: object, secret: str = SECRET) -> list[str]:
    return [str(text)[:200] for text in texts if secret in str(text)]


def raised(call: Callable[[], object]) -> BaseException:
    try:
        call()
    except Exception as error:
        return error
    raise AssertionError(f"{call} raised nothing")


async def failed(host: ActorHost) -> BaseException:
    try:
        async with asyncio.timeout(30):
            await host.start()
    except Exception as error:
        return error
    finally:
        await host.stop(grace=0)
    raise AssertionError("the host started without a reachable broker")


async def test_a_rabbitmq_password_never_shows_when_the_broker_is_unreachable(
    caplog: pytest.LogCaptureFixture,
) -> None:
    pytest.importorskip("aio_pika")
    from beehive.queues.rabbitmq import RabbitMQQueueOperator

    caplog.set_level(logging.DEBUG)
    operator = RabbitMQQueueOperator(f"amqp://user:{SECRET}@127.0.0.1:1/")
    faults = FaultyQueueOperator(operator)
    host = ActorHost(faults, [ActorDescriptor(Quiet, "Ping-Quiet")], backoff=FAST)

    error = await failed(host)
    await faults.close()

    assert not leaks(repr(operator), repr(faults), repr(host), str(error), repr(error))
    assert not leaks(error.__cause__, error.__context__, caplog.text)


@pytest.fixture
def secret_user() -> Iterator[str]:
    """A RabbitMQ user whose password is the secret, for the life of the test."""
    require_broker()
    user = f"beehive-secret-{uuid4().hex[:8]}"
    try:
        rabbitmqctl("add_user", user, SECRET)
        rabbitmqctl("set_permissions", user, ".*", ".*", ".*")
    except (OSError, subprocess.CalledProcessError) as error:
        pytest.skip(f"cannot add a RabbitMQ user here: {error}")
    try:
        yield user
    finally:
        rabbitmqctl("delete_user", user)


@pytest.mark.slow
async def test_a_rabbitmq_password_never_shows_while_a_host_works_and_reconnects(
    secret_user: str, caplog: pytest.LogCaptureFixture
) -> None:
    from beehive.queues.rabbitmq import RabbitMQQueueOperator

    caplog.set_level(logging.DEBUG)
    topic = f"Ping_{uuid4().hex[:8]}"
    operator = RabbitMQQueueOperator(
        f"amqp://{secret_user}:{SECRET}@127.0.0.1:5672/", reconnect_interval=0.2
    )
    host = ActorHost(operator, [ActorDescriptor(Quiet, f"{topic}-Quiet")], backoff=FAST)
    try:
        async with host:
            await operator.push(Event(event_type=topic))
            await until(
                lambda: host.stats()[f"Quiet@{topic}-Quiet"].succeeded == 1,
                timeout=10,
                what="the first event",
            )
            await asyncio.to_thread(rabbitmqctl, "close_all_connections", "planted secret test")
            for _ in range(50):  # publishing waits for the connection to come back
                try:
                    await operator.push(Event(event_type=topic))
                    break
                except ConnectionError:
                    await asyncio.sleep(0.1)
            await until(
                lambda: host.stats()[f"Quiet@{topic}-Quiet"].succeeded >= 2,
                timeout=20,
                what="an event after the reconnection",
            )
    finally:
        await operator.delete_queue(topic)
        await operator.close()

    assert not leaks(repr(operator), repr(host), caplog.text)
    loggers = {record.name.split(".")[0] for record in caplog.records}
    assert {"aiormq", "aio_pika"} & loggers, f"no client library logs to search, only {loggers}"
    print(f"searched {len(caplog.records)} log records from {sorted(loggers)}")


async def test_a_service_bus_key_never_shows(caplog: pytest.LogCaptureFixture) -> None:
    pytest.importorskip("azure.servicebus")
    from beehive.queues.servicebus import ServiceBusQueueOperator

    caplog.set_level(logging.DEBUG)
    connection = (
        "Endpoint=sb://127.0.0.1:1/;SharedAccessKeyName=RootManageSharedAccessKey;"
        f"SharedAccessKey={SECRET}"
    )
    operator = ServiceBusQueueOperator.from_connection_string(connection)
    host = ActorHost(operator, [ActorDescriptor(Quiet, "Ping-Quiet")], backoff=FAST)

    error = await failed(host)
    malformed = raised(
        lambda: ServiceBusQueueOperator.from_connection_string(f"nonsense;SharedAccessKey={SECRET}")
    )
    await operator.close()

    assert not leaks(repr(operator), repr(host), str(error), repr(error), malformed)
    assert not leaks(error.__cause__, caplog.text)


async def test_a_storage_key_never_shows_from_an_inbox(
    azurite: object, caplog: pytest.LogCaptureFixture
) -> None:
    from beehive.stores.azure import AzureCollectionStore

    caplog.set_level(logging.DEBUG)
    endpoint = azurite.table_url  # type: ignore[attr-defined]
    key = "c2VjcmV0" + SECRET.encode().hex()  # base64-ish, as account keys are
    connection = (
        f"DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey={key};"
        f"TableEndpoint={endpoint};"
    )
    inbox = Inbox(AzureCollectionStore.from_connection_string(connection, InboxRecord))
    try:
        await inbox.recall("Quiet@Ping-Quiet", "e-1")
    except Exception as error:  # a wrong key: the server refuses
        refused: BaseException = error
    else:
        raise AssertionError("Azurite accepted a wrong key")
    malformed = raised(
        lambda: AzureCollectionStore.from_connection_string(f"AccountKey={key};x", InboxRecord)
    )
    close = getattr(inbox.store, "close", None) or getattr(inbox.store, "aclose", None)
    if close is not None:
        await close()

    texts = (repr(inbox), repr(inbox.store), refused, repr(refused), malformed, caplog.text)
    assert not leaks(*texts, refused.__cause__, secret=key)
