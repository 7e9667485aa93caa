"""The queue-operator backends the contract suite runs against.

A backend is an async context manager factory yielding a fresh, empty operator. Add a
backend by appending to BACKENDS; every contract test then runs against it unchanged.
UNREACHABLE holds, per backend that has a server, an operator pointed at one that does not
answer or refuses the login.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from uuid import uuid4

import pytest

from beehive.faults import FaultyQueueOperator
from beehive.queues import InMemoryQueueOperator, QueueOperator
from tests.queues.rabbitmq_support import RABBITMQ_URL, rabbitmq_backend, require_broker
from tests.queues.servicebus_fake import servicebus_fake_backend, servicebus_fake_unreachable
from tests.queues.test_servicebus_live import servicebus_live_backend

Backend = Callable[[], AbstractAsyncContextManager[QueueOperator]]


@asynccontextmanager
async def memory_backend() -> AsyncIterator[QueueOperator]:
    async with InMemoryQueueOperator() as operator:
        yield operator


@asynccontextmanager
async def faulty_memory_backend() -> AsyncIterator[QueueOperator]:
    """The fault injector with no fault planned: it must pass the whole contract through."""
    async with FaultyQueueOperator(InMemoryQueueOperator()) as operator:
        yield operator


BACKENDS: dict[str, Backend] = {
    "memory": memory_backend,
    "memory-faulty": faulty_memory_backend,
    "rabbitmq": rabbitmq_backend,
    "servicebus-fake": servicebus_fake_backend,
    "servicebus-live": servicebus_live_backend,
}


def _rabbitmq_at(url: str) -> Backend:
    @asynccontextmanager
    async def backend() -> AsyncIterator[QueueOperator]:
        require_broker()
        from beehive.queues.rabbitmq import RabbitMQQueueOperator

        async with RabbitMQQueueOperator(url) as operator:
            yield operator

    return backend


UNREACHABLE: dict[str, Backend] = {
    "rabbitmq-closed-port": _rabbitmq_at("amqp://guest:wrong-secret@127.0.0.1:1/"),
    "rabbitmq-wrong-password": _rabbitmq_at(
        RABBITMQ_URL.replace("guest:guest@", "guest:wrong-secret@")
    ),
    "servicebus-fake": servicebus_fake_unreachable,
}


@pytest.fixture(params=list(BACKENDS))
async def operator(request: pytest.FixtureRequest) -> AsyncIterator[QueueOperator]:
    async with BACKENDS[request.param]() as operator:
        yield operator


@pytest.fixture(params=list(UNREACHABLE))
async def unreachable(request: pytest.FixtureRequest) -> AsyncIterator[QueueOperator]:
    async with UNREACHABLE[request.param]() as operator:
        yield operator


@pytest.fixture
def unique() -> Callable[[str], str]:
    """Makes entity names unique per test, so backends on a shared broker do not collide."""
    suffix = uuid4().hex[:8]
    return lambda name: f"{name}_{suffix}"
