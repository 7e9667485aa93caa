"""The brokers a run can use, each configured from the environment.

=============  =============================================================================
broker         configuration
=============  =============================================================================
memory         none: the embedded broker, in this process
rabbitmq       ``BEEHIVE_RABBITMQ_URL`` (default ``amqp://guest:guest@127.0.0.1:5672/``)
servicebus     ``BEEHIVE_SERVICEBUS_CONNECTION_STRING``, or ``BEEHIVE_SERVICEBUS_NAMESPACE``
               (name or FQDN, reached with ``DefaultAzureCredential``: a managed identity,
               ``AZURE_CLIENT_ID`` naming a user-assigned one)
=============  =============================================================================
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from beehive.queues.base import QueueOperator
from beehive.queues.memory import InMemoryQueueOperator

RABBITMQ_URL = "BEEHIVE_RABBITMQ_URL"
LOCAL_RABBITMQ = "amqp://guest:guest@127.0.0.1:5672/"
SERVICEBUS_CONNECTION_STRING = "BEEHIVE_SERVICEBUS_CONNECTION_STRING"
SERVICEBUS_NAMESPACE = "BEEHIVE_SERVICEBUS_NAMESPACE"


class BackendUnavailable(Exception):
    """The broker or stores asked for cannot run here; the message says what to set."""


async def _unknown(queues: Sequence[str]) -> int | None:
    return None


async def _nothing() -> None:
    return None


@dataclass(frozen=True, slots=True)
class Broker:
    """A queue operator, and what the run needs to know about it to tell when it is done."""

    name: str
    operator: QueueOperator
    wait_idle: Callable[[float | None], Awaitable[None]] | None = None
    """Returns once nothing is ready, scheduled or in flight: only a broker that can tell."""
    ready: Callable[[Sequence[str]], Awaitable[int | None]] = _unknown
    """Messages ready for delivery in these queues; None when the broker cannot count them."""
    release: Callable[[], Awaitable[None]] = _nothing
    """Closes what ``ready`` opened (the operator is closed apart)."""
    clear: Callable[[Sequence[str]], Awaitable[None]] | None = None
    """Empties these queues before a run, when the broker keeps messages between runs."""

    async def close(self) -> None:
        await self.release()
        await self.operator.close()


def memory(environ: Mapping[str, str]) -> Broker:
    operator = InMemoryQueueOperator()
    return Broker("memory", operator, wait_idle=operator.wait_idle)


class RabbitMQCounts:
    """Ready messages in RabbitMQ queues, by passive declaration on a connection of its own.

    RabbitMQ counts only the messages ready for delivery: a delivery leased by a consumer or
    waiting in a delay queue is not in the count, which is why the run's idle test does not
    rest on it alone (see :mod:`samples.prismo.idle`).
    """

    def __init__(self, url: str) -> None:
        self._url = url
        self._connection: Any = None

    async def __call__(self, queues: Sequence[str]) -> int:
        import aio_pika
        from aiormq.exceptions import ChannelNotFoundEntity

        if self._connection is None:
            self._connection = await aio_pika.connect(self._url)
        ready = 0
        for queue in queues:
            async with self._connection.channel() as channel:
                try:
                    declared = await channel.declare_queue(queue, passive=True)
                except ChannelNotFoundEntity:
                    continue  # not set up yet: nothing in it
                ready += declared.declaration_result.message_count or 0
        return ready

    async def close(self) -> None:
        if self._connection is not None:
            await self._connection.close()


def rabbitmq(environ: Mapping[str, str]) -> Broker:
    try:
        from beehive.queues.rabbitmq import RabbitMQQueueOperator
    except ImportError:
        raise BackendUnavailable(
            "the rabbitmq broker needs aio-pika: pip install 'beehive-actors[rabbitmq]'"
        ) from None
    url = environ.get(RABBITMQ_URL) or LOCAL_RABBITMQ
    operator = RabbitMQQueueOperator(url)
    counts = RabbitMQCounts(url)

    async def clear(queues: Sequence[str]) -> None:
        # Durable queues outlive a run: what an aborted run left refers to stores now gone.
        # Deleting a subscription takes its dead letters and delayed messages with it; the
        # host declares it again when it starts.
        for queue in queues:
            await operator.delete_queue(queue)

    return Broker("rabbitmq", operator, ready=counts, release=counts.close, clear=clear)


def servicebus(environ: Mapping[str, str]) -> Broker:
    try:
        from beehive.queues.servicebus import ServiceBusQueueOperator
    except ImportError:
        raise BackendUnavailable(
            "the servicebus broker needs: pip install 'beehive-actors[azure]'"
        ) from None
    connection_string = environ.get(SERVICEBUS_CONNECTION_STRING)
    namespace = environ.get(SERVICEBUS_NAMESPACE)
    if connection_string:
        try:
            operator = ServiceBusQueueOperator.from_connection_string(connection_string)
        except ValueError as error:
            raise BackendUnavailable(f"{SERVICEBUS_CONNECTION_STRING}: {error}") from None
    elif namespace:
        namespace = namespace.removeprefix("sb://").rstrip("/")
        if "." not in namespace:
            namespace += ".servicebus.windows.net"
        operator = ServiceBusQueueOperator.from_namespace(namespace)
    else:
        raise BackendUnavailable(
            f"the servicebus broker needs {SERVICEBUS_CONNECTION_STRING} or "
            f"{SERVICEBUS_NAMESPACE} (with a managed identity or an az login)"
        )
    return Broker("servicebus", operator)


BROKERS: dict[str, Callable[[Mapping[str, str]], Broker]] = {
    "memory": memory,
    "rabbitmq": rabbitmq,
    "servicebus": servicebus,
}
