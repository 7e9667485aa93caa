"""The queue-operator backends the contract suite runs against.

A backend is an async context manager factory yielding a fresh, empty operator. Add a
backend by appending to BACKENDS; every contract test then runs against it unchanged.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from uuid import uuid4

import pytest

from beehive.queues import InMemoryQueueOperator, QueueOperator
from tests.queues.rabbitmq_support import rabbitmq_backend
from tests.queues.servicebus_fake import servicebus_fake_backend
from tests.queues.test_servicebus_live import servicebus_live_backend

Backend = Callable[[], AbstractAsyncContextManager[QueueOperator]]


@asynccontextmanager
async def memory_backend() -> AsyncIterator[QueueOperator]:
    async with InMemoryQueueOperator() as operator:
        yield operator


BACKENDS: dict[str, Backend] = {
    "memory": memory_backend,
    "rabbitmq": rabbitmq_backend,
    "servicebus-fake": servicebus_fake_backend,
    "servicebus-live": servicebus_live_backend,
}


@pytest.fixture(params=list(BACKENDS))
async def operator(request: pytest.FixtureRequest) -> AsyncIterator[QueueOperator]:
    async with BACKENDS[request.param]() as operator:
        yield operator


@pytest.fixture
def unique() -> Callable[[str], str]:
    """Makes entity names unique per test, so backends on a shared broker do not collide."""
    suffix = uuid4().hex[:8]
    return lambda name: f"{name}_{suffix}"
