"""What each broker refuses: entity names and queue settings, checked before anything is sent.

One place for the rules, so ``beehive check`` and the operators refuse the same things with
the same words. Each rule set returns its problems as sentences naming the broker's rule;
the caller decides whether they are errors (an operator raising) or lines of a report.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Final

from beehive.names import QueueName
from beehive.queues.base import QueueSettings


class BrokerRules(ABC):
    """The limits of one broker."""

    broker: str

    @abstractmethod
    def name_problems(self, name: QueueName) -> list[str]:
        """What the broker would refuse about one topic, subscription or queue name."""

    def settings_problems(self, settings: QueueSettings) -> list[str]:
        """What the broker would refuse about a subscription's or queue's settings."""
        return []

    def same_entity(self, a: str, b: str) -> bool:
        """Whether the broker takes two different names for one entity."""
        return False


class ServiceBusRules(BrokerRules):
    """Azure Service Bus: names up to 260 characters (subscriptions 50) that start and end with
    a letter or digit, compared case-insensitively; at most 2000 deliveries; locks of 5 seconds
    to 5 minutes (longer work is covered by lease renewal)."""

    broker = "Service Bus"
    MAX_ENTITY: Final = 260
    MAX_SUBSCRIPTION: Final = 50
    MAX_DELIVERIES: Final = 2000
    MIN_LOCK_SECONDS: Final = 5
    MAX_LOCK_SECONDS: Final = 300

    def name_problems(self, name: QueueName) -> list[str]:
        kind = "topic" if name.is_subscription or name.is_topic else "queue"
        problems = self._part(name.topic, kind, self.MAX_ENTITY)
        if name.subscription is not None:
            problems += self._part(name.subscription, "subscription", self.MAX_SUBSCRIPTION)
        return problems

    def _part(self, part: str, kind: str, limit: int) -> list[str]:
        problems = []
        if len(part) > limit:
            problems.append(
                f"{kind} name {part!r} has {len(part)} characters; "
                f"{self.broker} allows at most {limit}"
            )
        if not (
            part[0].isascii() and part[0].isalnum() and part[-1].isascii() and part[-1].isalnum()
        ):
            problems.append(
                f"{kind} name {part!r} must start and end with a letter or digit on {self.broker}"
            )
        return problems

    def settings_problems(self, settings: QueueSettings) -> list[str]:
        problems = []
        if settings.max_deliveries > self.MAX_DELIVERIES:
            problems.append(
                f"max_deliveries {settings.max_deliveries} is more than {self.broker} allows "
                f"({self.MAX_DELIVERIES})"
            )
        if not self.MIN_LOCK_SECONDS <= settings.lease_seconds <= self.MAX_LOCK_SECONDS:
            problems.append(
                f"lease_seconds {settings.lease_seconds:g} is outside the lock durations "
                f"{self.broker} allows ({self.MIN_LOCK_SECONDS} to {self.MAX_LOCK_SECONDS} s); "
                "longer work is covered by lease renewal (max_lease_seconds)"
            )
        return problems

    def same_entity(self, a: str, b: str) -> bool:
        return a != b and a.casefold() == b.casefold()


class RabbitMQRules(BrokerRules):
    """RabbitMQ: queue and exchange names up to 255 bytes, none starting with ``amq.``."""

    broker = "RabbitMQ"
    MAX_NAME_BYTES: Final = 255

    def name_problems(self, name: QueueName) -> list[str]:
        problems = []
        text = str(name)
        if len(text.encode()) > self.MAX_NAME_BYTES:
            problems.append(
                f"name {text!r} is {len(text.encode())} bytes long; "
                f"{self.broker} allows at most {self.MAX_NAME_BYTES}"
            )
        if text.startswith("amq."):
            problems.append(f"name {text!r} starts with 'amq.', which {self.broker} reserves")
        return problems


class MemoryRules(BrokerRules):
    """The in-memory broker takes every valid queue name."""

    broker = "the in-memory broker"

    def name_problems(self, name: QueueName) -> list[str]:
        return []


RULES: Final[dict[str, BrokerRules]] = {
    "servicebus": ServiceBusRules(),
    "rabbitmq": RabbitMQRules(),
    "memory": MemoryRules(),
}
"""The rules of each broker, by the name ``--backend`` and ``--broker`` options use."""
