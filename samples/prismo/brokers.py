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

from beehive.errors import QueueNotFoundError
from beehive.queues import IdleAware, QueueOperator, operator_for

RABBITMQ_URL = "BEEHIVE_RABBITMQ_URL"
LOCAL_RABBITMQ = "amqp://guest:guest@127.0.0.1:5672/"


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


def _operator(backend: str, environ: Mapping[str, str]) -> QueueOperator:
    try:
        return operator_for(backend, environ)
    except (ValueError, ImportError) as error:
        raise BackendUnavailable(f"the {backend} broker: {error}") from None


def memory(environ: Mapping[str, str]) -> Broker:
    operator = _operator("memory", environ)
    wait_idle = operator.wait_idle if isinstance(operator, IdleAware) else None
    return Broker("memory", operator, wait_idle=wait_idle)


def rabbitmq(environ: Mapping[str, str]) -> Broker:
    operator = _operator(
        "rabbitmq", {**environ, RABBITMQ_URL: environ.get(RABBITMQ_URL) or LOCAL_RABBITMQ}
    )

    async def ready(queues: Sequence[str]) -> int:
        # RabbitMQ counts only the messages ready for delivery: a delivery leased by a consumer
        # or waiting in a delay queue is not in the count, which is why the run's idle test
        # does not rest on it alone (see :mod:`samples.prismo.idle`).
        count = 0
        for queue in queues:
            try:
                count += (await operator.depth(queue)).active
            except QueueNotFoundError:
                continue  # not set up yet: nothing in it
        return count

    async def clear(queues: Sequence[str]) -> None:
        # Durable queues outlive a run: what an aborted run left refers to stores now gone.
        # Deleting a subscription takes its dead letters and delayed messages with it; the
        # host declares it again when it starts.
        for queue in queues:
            await operator.delete_queue(queue)

    return Broker("rabbitmq", operator, ready=ready, clear=clear)


def servicebus(environ: Mapping[str, str]) -> Broker:
    return Broker("servicebus", _operator("servicebus", environ))


BROKERS: dict[str, Callable[[Mapping[str, str]], Broker]] = {
    "memory": memory,
    "rabbitmq": rabbitmq,
    "servicebus": servicebus,
}
