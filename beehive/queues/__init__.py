"""Queue operators: the broker contract and its backends.

``QueueOperator`` (in ``base``) holds the logic every backend shares and the hooks each one
implements. ``InMemoryQueueOperator`` is imported eagerly; the RabbitMQ and Service Bus
operators live in the ``beehive.queues.rabbitmq`` and ``beehive.queues.servicebus``
subpackages and need their extras. ``operator_for`` builds any of them from settings.
"""

from beehive.queues._factory import BACKENDS, operator_for
from beehive.queues.base import (
    DeadLetterInfo,
    IdleAware,
    QueueDepth,
    QueueOperator,
    QueueSettings,
)
from beehive.queues.memory import InMemoryQueueOperator

__all__ = [
    "BACKENDS",
    "DeadLetterInfo",
    "IdleAware",
    "InMemoryQueueOperator",
    "QueueDepth",
    "QueueOperator",
    "QueueSettings",
    "operator_for",
]
