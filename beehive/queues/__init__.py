"""Queue operators: the broker contract and its backends.

``InMemoryQueueOperator`` is imported eagerly; the Service Bus and RabbitMQ operators live in
``beehive.queues.servicebus`` and ``beehive.queues.rabbitmq`` and need their extras.
"""

from beehive.queues.base import QueueDepth, QueueOperator, QueueSettings
from beehive.queues.memory import InMemoryQueueOperator

__all__ = ["InMemoryQueueOperator", "QueueDepth", "QueueOperator", "QueueSettings"]
