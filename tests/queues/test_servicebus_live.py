"""The contract suite against a real Service Bus namespace, when ``BEEHIVE_TEST_SERVICEBUS`` is set.

One command, with a connection string whose policy has Manage, Send and Listen::

    BEEHIVE_TEST_SERVICEBUS='Endpoint=sb://...' .venv/bin/pytest tests/queues -k servicebus-live

Every test makes its own uniquely named entities and deletes them afterwards. Standard tier or
above (topics need it).
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest

from beehive.names import QueueKind, QueueName
from beehive.queues.base import QueueOperator, QueueSettings

VARIABLE = "BEEHIVE_TEST_SERVICEBUS"


@asynccontextmanager
async def servicebus_live_backend() -> AsyncIterator[QueueOperator]:
    """The operator on the namespace in ``BEEHIVE_TEST_SERVICEBUS``; it deletes what it made."""
    connection_string = os.environ.get(VARIABLE)
    if not connection_string:
        pytest.skip(f"set {VARIABLE} to a Service Bus connection string to run against Azure")
    from beehive.queues.servicebus import ServiceBusQueueOperator

    created: list[QueueName] = []
    async with ServiceBusQueueOperator.from_connection_string(connection_string) as operator:
        setup = operator.setup_queue

        async def recording_setup(
            name: str | QueueName, settings: QueueSettings | None = None
        ) -> None:
            created.append(QueueName(name))
            await setup(name, settings)

        operator.setup_queue = recording_setup  # type: ignore[method-assign]
        try:
            yield operator
        finally:
            # Deleting a topic deletes its subscriptions.
            doomed = {
                n if n.kind is QueueKind.QUEUE else QueueName.topic_of(n.topic) for n in created
            }
            for name in doomed:
                await operator.delete_queue(name)
