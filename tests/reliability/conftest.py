"""Backends for the reliability tests: queues in memory always, RabbitMQ when a broker answers;
stores in memory, on Azurite and on PostgreSQL (the ``backend`` fixture of the store contract
suites).

The queue backends are the queue contract suite's (``tests/queues/conftest.py``), so a backend
added there can be added here by name. Topic names are unique per test: brokers are shared.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from uuid import uuid4

import pytest

from beehive.queues import QueueOperator
from tests.queues.conftest import BACKENDS
from tests.stores.conftest import backend, pytest_generate_tests  # noqa: F401 - the store backends' fixture

HOST_BACKENDS = ["memory", "rabbitmq"]


@pytest.fixture(params=HOST_BACKENDS)
async def broker(request: pytest.FixtureRequest) -> AsyncIterator[QueueOperator]:
    async with BACKENDS[request.param]() as operator:
        yield operator


@pytest.fixture
def names() -> tuple[str, str]:
    """A unique (job topic, done topic) pair."""
    suffix = uuid4().hex[:8]
    return f"Job_{suffix}", f"Done_{suffix}"
